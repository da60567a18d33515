package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MkdirRequest;
import io.shoalfs.proto.records.InodeRecord;

/**
 * mkdir(parent, name, mode, uid, gid): a new directory (atime = mtime = ctime = now); the parent gains a
 * subdirectory link and its mtime/ctime. In a setgid parent it takes the parent's group and keeps S_ISGID.
 */
final class Mkdir {
  private Mkdir() {}

  static MetaReply apply(Tx tx, WriteContext ctx, MkdirRequest r) throws FsError {
    Names.checkNew(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    Inodes.requireFree(tx, r.getParent(), r.getName());
    long ino = ctx.id(0);
    InodeRecord dir = Inodes.newChild(FileType.DIRECTORY, r.getMode(), r.getUid(), r.getGid(), r.getParent(),
        parent, ctx.nowNs()).build();
    Inodes.insertNew(tx, r.getParent(), parent, r.getName(), ino, dir, ctx.nowNs());
    return Inodes.attrReply(ino, dir);
  }
}
