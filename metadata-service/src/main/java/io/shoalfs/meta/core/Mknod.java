package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MknodRequest;
import io.shoalfs.proto.records.InodeRecord;

/**
 * mknod(parent, name, type, mode, uid, gid, rdev): a FIFO, socket, character or block device (rdev kept), or an
 * empty regular file. As Linux's may_mknod: a directory is EPERM (use mkdir), any other type EINVAL. Times and
 * setgid inheritance as for create.
 */
final class Mknod {
  private Mknod() {}

  static MetaReply apply(Tx tx, WriteContext ctx, MknodRequest r) throws FsError {
    FileType type = r.getType();
    switch (type) {
      case REGULAR, FIFO, SOCKET, CHAR_DEVICE, BLOCK_DEVICE -> { }
      case DIRECTORY -> throw FsError.of(Code.EPERM, "mknod cannot make a directory");
      default -> throw FsError.of(Code.EINVAL, "mknod cannot make a %s", type);
    }
    Names.checkNew(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    Inodes.requireFree(tx, r.getParent(), r.getName());
    long ino = ctx.id(0);
    InodeRecord.Builder b = Inodes.newChild(type, r.getMode(), r.getUid(), r.getGid(), r.getParent(), parent,
        ctx.nowNs());
    if (type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE) {
      b.setRdev(r.getRdev());
    }
    InodeRecord node = b.build();
    Inodes.insertNew(tx, r.getParent(), parent, r.getName(), ino, node, ctx.nowNs());
    return Inodes.attrReply(ino, node);
  }
}
