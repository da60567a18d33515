package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.SymlinkRequest;
import io.shoalfs.proto.records.InodeRecord;

/**
 * symlink(parent, name, target, uid, gid): a symbolic link with mode 0777 and size = the target's length. The
 * target is 1..4095 bytes (PATH_MAX less its NUL): empty is ENOENT (as symlink(2) says), longer ENAMETOOLONG,
 * a NUL inside EINVAL. The target is not interpreted: the kernel resolves it (and answers ELOOP).
 */
final class Symlink {
  static final int TARGET_MAX = 4095;
  static final int SYMLINK_MODE = 0777;

  private Symlink() {}

  static MetaReply apply(Tx tx, WriteContext ctx, SymlinkRequest r) throws FsError {
    int n = r.getTarget().size();
    if (n == 0) {
      throw FsError.of(Code.ENOENT, "empty symlink target");
    }
    if (n > TARGET_MAX) {
      throw FsError.of(Code.ENAMETOOLONG, "symlink target of %d bytes is over %d", n, TARGET_MAX);
    }
    for (int i = 0; i < n; i++) {
      if (r.getTarget().byteAt(i) == 0) {
        throw FsError.of(Code.EINVAL, "symlink target contains NUL");
      }
    }
    Names.checkNew(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    Inodes.requireFree(tx, r.getParent(), r.getName());
    long ino = ctx.id(0);
    InodeRecord link = Inodes.newChild(FileType.SYMLINK, SYMLINK_MODE, r.getUid(), r.getGid(), r.getParent(),
        parent, ctx.nowNs()).setSymlinkTarget(r.getTarget()).setSize(n).build();
    Inodes.insertNew(tx, r.getParent(), parent, r.getName(), ino, link, ctx.nowNs());
    return Inodes.attrReply(ino, link);
  }
}
