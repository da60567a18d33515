package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FallocateRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.InodeRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * fallocate(ino, mode, offset, length), the metadata part. Regular files only (EISDIR, EINVAL otherwise: the
 * kernel answers ESPIPE / ENODEV itself before a FUSE filesystem is asked); offset >= 0 and length > 0 (EINVAL);
 * offset + length at most the largest file size (EFBIG).
 *
 * <ul>
 *   <li>mode 0: the range counts as allocated (st_blocks) and the size grows to offset + length (never
 *       shrinks); mtime too when the size changed.</li>
 *   <li>FALLOC_FL_KEEP_SIZE (1): the same without a size change (allocation past the end is allowed).</li>
 *   <li>FALLOC_FL_PUNCH_HOLE | KEEP_SIZE (3): chunks wholly inside the range go to orphan_chunks (they read as
 *       holes); a chunk the range covers in part has its written extent cut where the range covers one end of
 *       it (a range inside the extent leaves the hull, so st_blocks errs high). mtime set. The client zeroes the
 *       partial chunks' bytes on the storage daemons before it sends this. PUNCH_HOLE without KEEP_SIZE and
 *       every other mode: EOPNOTSUPP, as Linux.</li>
 * </ul>
 * Allocation needs no new ids and no placement: a chunk without a record gets one with chunk id 0, "reserved"
 * (reads as zeros, as allocated-but-unwritten space must), which alloc_chunk places on a storage group when the
 * first write comes. One request allocates at most {@value #MAX_CHUNKS} chunks (16 GiB): beyond that EINVAL, and
 * the client splits the range. ctime is always set and the version bumped.
 */
final class Fallocate {
  static final int KEEP_SIZE = 1;
  static final int PUNCH_HOLE = 2;
  /** Bound on the chunk records one log entry writes for an allocation. */
  static final int MAX_CHUNKS = 4096;

  private Fallocate() {}

  static MetaReply apply(Tx tx, WriteContext ctx, FallocateRequest r) throws FsError {
    int mode = r.getMode();
    if (mode != 0 && mode != KEEP_SIZE && mode != (PUNCH_HOLE | KEEP_SIZE)) {
      throw FsError.of(Code.EOPNOTSUPP, "fallocate mode %d is not supported", mode);
    }
    InodeRecord inode = Inodes.requireRegular(tx, r.getIno());
    long offset = r.getOffset();
    long length = r.getLength();
    if (offset < 0 || length <= 0) {
      throw FsError.of(Code.EINVAL, "fallocate range offset %s length %s", Long.toUnsignedString(offset),
          Long.toUnsignedString(length));
    }
    long end = offset + length;
    if (end < 0 || end > Inodes.MAX_FILE_SIZE) {
      throw FsError.of(Code.EFBIG, "fallocate range ends past the largest file size");
    }
    long now = ctx.nowNs();
    long first = offset / Layout.CHUNK_SIZE;
    long last = (end - 1) / Layout.CHUNK_SIZE;
    InodeRecord.Builder b = Inodes.changed(inode, now);
    if ((mode & PUNCH_HOLE) != 0) {
      long allocated = Math.max(0, inode.getAllocatedBytes() + punch(tx, r.getIno(), offset, end, first, last));
      Quotas.allocationChanged(tx, ctx.sessionId(), r.getIno(), inode.getSubvolumeRoot(), inode.getAllocatedBytes(),
          allocated);
      b.setAllocatedBytes(allocated);
      b.setMtimeNs(now);
    } else {
      if (last - first + 1 > MAX_CHUNKS) {
        throw FsError.of(Code.EINVAL, "fallocate of %d chunks in one request, at most %d: split the range",
            last - first + 1, MAX_CHUNKS);
      }
      long grown = 0;
      for (long i = first; i <= last; i++) {
        long chunkStart = i * Layout.CHUNK_SIZE;
        int lo = (int) (Math.max(offset, chunkStart) - chunkStart);
        int hi = (int) (Math.min(end, chunkStart + Layout.CHUNK_SIZE) - chunkStart);
        ChunkKey key = new ChunkKey(r.getIno(), (int) i);
        if (tx.get(MetaTables.CHUNKS, key) == null) {
          tx.put(MetaTables.CHUNKS, key, ChunkRecord.newBuilder().setChunkId(0).build());
        }
        grown += CommitWrite.widen(tx, key, lo, hi);
      }
      // Allocated space is charged at once: past the quota fallocate fails with EDQUOT, as on Linux.
      Quotas.allocationChanged(tx, ctx.sessionId(), r.getIno(), inode.getSubvolumeRoot(), inode.getAllocatedBytes(),
          inode.getAllocatedBytes() + grown);
      b.setAllocatedBytes(inode.getAllocatedBytes() + grown);
      if (mode == 0 && end > inode.getSize()) {
        b.setSize(end).setMtimeNs(now);
      }
    }
    InodeRecord updated = b.build();
    tx.put(MetaTables.INODES, r.getIno(), updated);
    return Inodes.attrReply(r.getIno(), updated).toBuilder()
        .setReservedBytes(Quotas.held(tx, ctx.sessionId(), r.getIno())).build();
  }

  /** Drops the chunks wholly inside [offset, end) and cuts the extents at its ends; returns the allocation change. */
  private static long punch(Tx tx, long ino, long offset, long end, long first, long last) {
    List<ChunkKey> keys = new ArrayList<>();
    List<ChunkRecord> values = new ArrayList<>();
    tx.scan(MetaTables.CHUNKS, ChunkKey.prefix(ino), ChunkKey.CODEC.encode(new ChunkKey(ino, (int) first)),
        (k, v) -> {
          if (k.unsignedIndex() > last) {
            return false;
          }
          keys.add(k);
          values.add(v);
          return true;
        });
    long delta = 0;
    for (int i = 0; i < keys.size(); i++) {
      ChunkKey key = keys.get(i);
      ChunkRecord c = values.get(i);
      long chunkStart = key.unsignedIndex() * Layout.CHUNK_SIZE;
      long pLo = Math.max(offset, chunkStart) - chunkStart;
      long pHi = Math.min(end, chunkStart + Layout.CHUNK_SIZE) - chunkStart;
      if (pLo == 0 && pHi == Layout.CHUNK_SIZE) {
        delta -= Inodes.orphan(tx, key, c);
        continue;
      }
      long lo = Integer.toUnsignedLong(c.getLo());
      long hi = Integer.toUnsignedLong(c.getHi());
      if (lo == hi || pHi <= lo || pLo >= hi) {
        continue;
      }
      if (pLo <= lo && pHi >= hi) {
        lo = 0;
        hi = 0;
      } else if (pLo <= lo) {
        lo = pHi;
      } else if (pHi >= hi) {
        hi = pLo;
      } else {
        continue; // inside the extent: the hull cannot show a hole
      }
      ChunkRecord cut = c.toBuilder().setLo((int) lo).setHi((int) hi).build();
      delta += Inodes.extentBytes(cut) - Inodes.extentBytes(c);
      tx.put(MetaTables.CHUNKS, key, cut);
    }
    return delta;
  }
}
