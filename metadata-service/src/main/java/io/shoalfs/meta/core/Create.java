package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * create(parent, name, mode, uid, gid, exclusive): a new empty regular file. Without {@code exclusive} an
 * existing regular file is returned unchanged (open with O_CREAT); an existing directory is EISDIR.
 */
final class Create {
  private Create() {}

  static MetaReply apply(Tx tx, WriteContext ctx, CreateRequest r) throws FsError {
    Names.checkEntry(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    DentryKey key = new DentryKey(r.getParent(), r.getName());
    DentryRecord existing = tx.get(MetaTables.DENTRIES, key);
    if (existing != null) {
      if (r.getExclusive()) {
        throw FsError.of(Code.EEXIST, "'%s' exists", r.getName());
      }
      InodeRecord inode = Inodes.require(tx, existing.getIno());
      if (Inodes.isDir(inode)) {
        throw FsError.of(Code.EISDIR, "'%s' is a directory", r.getName());
      }
      if (inode.getType() != FileType.REGULAR_VALUE) {
        throw FsError.of(Code.EEXIST, "'%s' exists and is not a regular file", r.getName());
      }
      return Inodes.attrReply(existing.getIno(), inode);
    }
    long ino = ctx.id(0);
    InodeRecord file = Inodes.newInode(FileType.REGULAR, r.getMode(), r.getUid(), r.getGid(), r.getParent(),
        parent.getSubvolumeRoot(), ctx.nowNs());
    tx.put(MetaTables.INODES, ino, file);
    tx.put(MetaTables.DENTRIES, key, DentryRecord.newBuilder().setIno(ino).setType(FileType.REGULAR_VALUE).build());
    tx.put(MetaTables.INODES, r.getParent(), Inodes.dirChanged(parent, ctx.nowNs(), 0));
    Inodes.adjustUsage(tx, parent.getSubvolumeRoot(), 0, +1);
    return Inodes.attrReply(ino, file);
  }
}
