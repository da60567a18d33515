package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MkdirRequest;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/** mkdir(parent, name, mode, uid, gid): a new directory; the parent gains a subdirectory link. */
final class Mkdir {
  private Mkdir() {}

  static MetaReply apply(Tx tx, WriteContext ctx, MkdirRequest r) throws FsError {
    Names.checkEntry(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    DentryKey key = new DentryKey(r.getParent(), r.getName());
    if (tx.get(MetaTables.DENTRIES, key) != null) {
      throw FsError.of(Code.EEXIST, "'%s' exists", r.getName());
    }
    long ino = ctx.id(0);
    InodeRecord dir = Inodes.newInode(FileType.DIRECTORY, r.getMode(), r.getUid(), r.getGid(), r.getParent(),
        parent.getSubvolumeRoot(), ctx.nowNs());
    tx.put(MetaTables.INODES, ino, dir);
    tx.put(MetaTables.DENTRIES, key, DentryRecord.newBuilder().setIno(ino).setType(FileType.DIRECTORY_VALUE).build());
    tx.put(MetaTables.INODES, r.getParent(), Inodes.dirChanged(parent, ctx.nowNs(), +1));
    Inodes.adjustUsage(tx, parent.getSubvolumeRoot(), 0, +1);
    return Inodes.attrReply(ino, dir);
  }
}
