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
 * create(parent, name, mode, uid, gid, exclusive): a new empty regular file (setgid parents give their group).
 * Without {@code exclusive} an existing non-directory is returned unchanged (open with O_CREAT of an existing
 * name opens it); an existing directory is EISDIR, as is "." or ".." (EEXIST with {@code exclusive}).
 */
final class Create {
  private Create() {}

  static MetaReply apply(Tx tx, WriteContext ctx, CreateRequest r) throws FsError {
    Code dots = r.getExclusive() ? Code.EEXIST : Code.EISDIR;
    Names.checkEntry(r.getName(), dots, dots);
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
      return Inodes.attrReply(existing.getIno(), inode);
    }
    long ino = ctx.id(0);
    InodeRecord file = Inodes.newChild(FileType.REGULAR, r.getMode(), r.getUid(), r.getGid(), r.getParent(),
        parent, ctx.nowNs()).build();
    Inodes.insertNew(tx, r.getParent(), parent, r.getName(), ino, file, ctx.nowNs());
    return Inodes.attrReply(ino, file);
  }
}
