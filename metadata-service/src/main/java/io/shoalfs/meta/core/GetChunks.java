package io.shoalfs.meta.core;

import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.ChunksReply;
import io.shoalfs.proto.meta.GetChunksRequest;
import io.shoalfs.proto.meta.MetaReply;

/**
 * get_chunks(ino, first_index, count): the allocated chunks with index in [first, first + count), in index
 * order; holes (never written chunks, and chunks fallocate reserved but nobody wrote) are absent. count 0 means "up to the limit".
 */
final class GetChunks {
  /** At most this many refs per reply, whatever count asks: about 2 MB, under the gRPC message limit. */
  static final int MAX_COUNT = 65_536;

  private GetChunks() {}

  static MetaReply read(Tx tx, GetChunksRequest r) throws FsError {
    Inodes.requireFile(tx, r.getIno());
    long first = Integer.toUnsignedLong(r.getFirstIndex());
    long count = r.getCount() == 0 ? MAX_COUNT : Math.min(Integer.toUnsignedLong(r.getCount()), MAX_COUNT);
    long end = first + count;
    ChunksReply.Builder out = ChunksReply.newBuilder();
    tx.scan(MetaTables.CHUNKS, ChunkKey.prefix(r.getIno()), ChunkKey.CODEC.encode(new ChunkKey(r.getIno(), r.getFirstIndex())),
        (k, v) -> {
          if (k.unsignedIndex() >= end) {
            return false;
          }
          if (v.getChunkId() == 0) {
            return true; // reserved by fallocate, never written: reads as a hole
          }
          out.addChunks(ChunkRef.newBuilder().setIndex(k.index()).setChunkId(v.getChunkId()).setGroupId(v.getGroupId())
              .setLo(v.getLo()).setHi(v.getHi()).setEpoch(v.getEpoch()));
          return true;
        });
    return MetaReply.newBuilder().setChunks(out).build();
  }
}
