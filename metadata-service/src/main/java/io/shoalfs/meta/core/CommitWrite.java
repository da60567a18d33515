package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CommitWriteRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.InodeRecord;

/**
 * commit_write(ino, end, mtime): after data reached the storage daemons, size = max(size, end), mtime set (the
 * client's, or the leader's clock when 0), version bumped so other clients drop their caches.
 */
final class CommitWrite {
  private CommitWrite() {}

  static MetaReply apply(Tx tx, WriteContext ctx, CommitWriteRequest r) throws FsError {
    InodeRecord inode = Inodes.requireFile(tx, r.getIno());
    if (r.getEnd() < 0) {
      throw FsError.of(Code.EFBIG, "end %s is too large", Long.toUnsignedString(r.getEnd()));
    }
    long newSize = Math.max(inode.getSize(), r.getEnd());
    Inodes.adjustUsage(tx, inode.getSubvolumeRoot(), newSize - inode.getSize(), 0);
    InodeRecord updated = inode.toBuilder()
        .setSize(newSize)
        .setMtimeNs(r.getMtimeNs() != 0 ? r.getMtimeNs() : ctx.nowNs())
        .setCtimeNs(ctx.nowNs())
        .setVersion(inode.getVersion() + 1)
        .build();
    tx.put(MetaTables.INODES, r.getIno(), updated);
    return Inodes.attrReply(r.getIno(), updated);
  }
}
