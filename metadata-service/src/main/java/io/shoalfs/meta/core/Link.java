package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.LinkRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * link(ino, new_parent, new_name): a hard link. Errors in the order linkat(2) finds them: ENOENT (no such inode,
 * or it has no link left), ENOTDIR (new_parent), EEXIST (the name), EXDEV (another volume), EPERM (a
 * directory), EMLINK (already {@value Inodes#LINK_MAX} links). The inode gets nlink + 1 and ctime; the new
 * parent mtime and ctime. Hard links of one inode share everything but their names.
 */
final class Link {
  private Link() {}

  static MetaReply apply(Tx tx, WriteContext ctx, LinkRequest r) throws FsError {
    Names.checkNew(r.getNewName());
    InodeRecord inode = Inodes.require(tx, r.getIno());
    if (inode.getNlink() == 0) {
      throw FsError.of(Code.ENOENT, "inode %d has no name left", r.getIno());
    }
    InodeRecord parent = Inodes.requireDir(tx, r.getNewParent());
    Inodes.requireFree(tx, r.getNewParent(), r.getNewName());
    if (parent.getSubvolumeRoot() != inode.getSubvolumeRoot()) {
      throw FsError.of(Code.EXDEV, "link across volumes");
    }
    if (Inodes.isDir(inode)) {
      throw FsError.of(Code.EPERM, "hard links to directories are not allowed");
    }
    if (inode.getNlink() >= Inodes.LINK_MAX) {
      throw FsError.of(Code.EMLINK, "inode %d has %d links already", r.getIno(), inode.getNlink());
    }
    long now = ctx.nowNs();
    InodeRecord linked = Inodes.changed(inode, now).setNlink(inode.getNlink() + 1).build();
    tx.put(MetaTables.INODES, r.getIno(), linked);
    tx.put(MetaTables.DENTRIES, new DentryKey(r.getNewParent(), r.getNewName()),
        DentryRecord.newBuilder().setIno(r.getIno()).setType(inode.getType()).build());
    tx.put(MetaTables.INODES, r.getNewParent(), Inodes.dirChanged(parent, now, 0));
    return Inodes.attrReply(r.getIno(), linked);
  }
}
