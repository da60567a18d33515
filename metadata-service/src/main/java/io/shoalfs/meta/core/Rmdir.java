package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.RmdirRequest;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/** rmdir(parent, name): removes an empty directory; the parent loses a subdirectory link. */
final class Rmdir {
  private Rmdir() {}

  static MetaReply apply(Tx tx, WriteContext ctx, RmdirRequest r) throws FsError {
    Names.checkEntry(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    DentryRecord d = Inodes.requireEntry(tx, r.getParent(), r.getName());
    InodeRecord dir = Inodes.require(tx, d.getIno());
    if (!Inodes.isDir(dir)) {
      throw FsError.of(Code.ENOTDIR, "'%s' is not a directory", r.getName());
    }
    if (!Inodes.isEmptyDir(tx, d.getIno())) {
      throw FsError.of(Code.ENOTEMPTY, "'%s' is not empty", r.getName());
    }
    tx.delete(MetaTables.DENTRIES, new DentryKey(r.getParent(), r.getName()));
    tx.delete(MetaTables.INODES, d.getIno());
    tx.put(MetaTables.INODES, r.getParent(), Inodes.dirChanged(parent, ctx.nowNs(), -1));
    Inodes.adjustUsage(tx, dir.getSubvolumeRoot(), 0, -1);
    return Inodes.empty();
  }
}
