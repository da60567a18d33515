package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CommitWriteRequest;
import io.shoalfs.proto.meta.Extent;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * commit_write(ino, end, mtime, written): after data reached the storage daemons, size = max(size, end), mtime
 * set (the client's, or the leader's clock when 0), ctime now, version bumped so other clients drop their
 * caches. Each written extent widens its chunk record's [lo, hi) to the hull of the old and the new range, and
 * allocated_bytes (st_blocks) follows. An extent of a chunk that has no record (truncated away meanwhile) is
 * ignored; an extent outside the chunk, or more than {@value #MAX_EXTENTS} of them, is EINVAL.
 */
final class CommitWrite {
  /** One per chunk at most: 4096 chunks of 4 MiB cover 16 GiB of writes between two commits. */
  static final int MAX_EXTENTS = 4096;

  private CommitWrite() {}

  static MetaReply apply(Tx tx, WriteContext ctx, CommitWriteRequest r) throws FsError {
    InodeRecord inode = Inodes.requireRegular(tx, r.getIno());
    if (r.getEnd() < 0 || r.getEnd() > Inodes.MAX_FILE_SIZE) {
      throw FsError.of(Code.EFBIG, "end %s is too large", Long.toUnsignedString(r.getEnd()));
    }
    if (r.getWrittenCount() > MAX_EXTENTS) {
      throw FsError.of(Code.EINVAL, "%d extents in one commit, at most %d", r.getWrittenCount(), MAX_EXTENTS);
    }
    long allocated = inode.getAllocatedBytes();
    for (Extent e : r.getWrittenList()) {
      long lo = Integer.toUnsignedLong(e.getLo());
      long hi = Integer.toUnsignedLong(e.getHi());
      if (lo >= hi || hi > Layout.CHUNK_SIZE) {
        throw FsError.of(Code.EINVAL, "extent [%d, %d) of chunk %d is not within a chunk", lo, hi,
            Integer.toUnsignedLong(e.getIndex()));
      }
      allocated += widen(tx, new ChunkKey(r.getIno(), e.getIndex()), (int) lo, (int) hi);
    }
    long newSize = Math.max(inode.getSize(), r.getEnd());
    // The growth of the allocation consumes the session's reservation (core Quotas); beyond it: EDQUOT.
    Quotas.allocationChanged(tx, ctx.sessionId(), r.getIno(), inode.getSubvolumeRoot(), inode.getAllocatedBytes(),
        allocated);
    InodeRecord updated = inode.toBuilder()
        .setSize(newSize)
        .setAllocatedBytes(allocated)
        .setMtimeNs(r.getMtimeNs() != 0 ? r.getMtimeNs() : ctx.nowNs())
        .setCtimeNs(ctx.nowNs())
        .setVersion(inode.getVersion() + 1)
        .build();
    tx.put(MetaTables.INODES, r.getIno(), updated);
    return Inodes.attrReply(r.getIno(), updated).toBuilder()
        .setReservedBytes(Quotas.held(tx, ctx.sessionId(), r.getIno())).build();
  }

  /**
   * Widens the chunk's extent to the hull of itself and [lo, hi); returns the growth in bytes. The hull may
   * count a gap between two writes of one chunk as allocated: st_blocks errs high by less than a chunk.
   */
  static long widen(Tx tx, ChunkKey key, int lo, int hi) {
    ChunkRecord c = tx.get(MetaTables.CHUNKS, key);
    if (c == null) {
      return 0;
    }
    ChunkRecord.Builder b = c.toBuilder();
    if (c.getLo() == c.getHi()) {
      b.setLo(lo).setHi(hi);
    } else {
      b.setLo(Math.min(c.getLo(), lo)).setHi(Math.max(c.getHi(), hi));
    }
    ChunkRecord w = b.build();
    if (w.equals(c)) {
      return 0;
    }
    tx.put(MetaTables.CHUNKS, key, w);
    return Inodes.extentBytes(w) - Inodes.extentBytes(c);
  }
}
