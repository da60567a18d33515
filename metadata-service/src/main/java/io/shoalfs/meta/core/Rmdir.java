package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.RmdirRequest;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * rmdir(parent, name, caller_uid): removes an empty directory ("." EINVAL, ".." ENOTEMPTY, as rmdir(2)); the
 * parent loses a subdirectory link and gets mtime and ctime. Sticky parents as for unlink.
 */
final class Rmdir {
  private Rmdir() {}

  static MetaReply apply(Tx tx, WriteContext ctx, RmdirRequest r) throws FsError {
    Names.checkEntry(r.getName(), Code.EINVAL, Code.ENOTEMPTY);
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    DentryRecord d = Inodes.requireEntry(tx, r.getParent(), r.getName());
    InodeRecord dir = Inodes.require(tx, d.getIno());
    Inodes.checkSticky(parent, dir, r.getCallerUid(), r.getName());
    if (!Inodes.isDir(dir)) {
      throw FsError.of(Code.ENOTDIR, "'%s' is not a directory", r.getName());
    }
    if (!Inodes.isEmptyDir(tx, d.getIno())) {
      throw FsError.of(Code.ENOTEMPTY, "'%s' is not empty", r.getName());
    }
    tx.delete(MetaTables.DENTRIES, new DentryKey(r.getParent(), r.getName()));
    Inodes.dropDir(tx, d.getIno(), dir);
    tx.put(MetaTables.INODES, r.getParent(), Inodes.dirChanged(parent, ctx.nowNs(), -1));
    return Inodes.empty();
  }
}
