package io.shoalfs.meta.core;

import com.google.protobuf.ByteString;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.meta.store.Versions;
import io.shoalfs.proto.meta.AllocChunkRequest;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.ChunksReply;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * alloc_chunk(ino, index): the chunk at (ino, index), placing a new one in the group the leader chose (carried
 * in the log entry) if there is none yet, or if fallocate only reserved it (chunk id 0: its written extent
 * stays). A new chunk changes the data map, so the inode's version moves. The answer carries the chunk's write
 * token ({@link ChunkTokens}): the daemons take writes only with it.
 */
final class AllocChunk {
  private AllocChunk() {}

  static MetaReply apply(Tx tx, WriteContext ctx, AllocChunkRequest r) throws FsError {
    InodeRecord inode = Inodes.requireRegular(tx, r.getIno());
    ChunkKey key = new ChunkKey(r.getIno(), r.getIndex());
    ChunkRecord chunk = tx.get(MetaTables.CHUNKS, key);
    if (chunk == null || chunk.getChunkId() == 0) {
      if (ctx.groupId().isEmpty()) {
        throw FsError.of(Code.ENOSPC, "no storage daemons registered");
      }
      ChunkRecord.Builder placed = chunk == null ? ChunkRecord.newBuilder() : chunk.toBuilder();
      chunk = placed.setChunkId(ctx.id(0)).setGroupId(ctx.groupId()).build();
      tx.put(MetaTables.CHUNKS, key, chunk);
      tx.put(MetaTables.INODES, r.getIno(), inode.toBuilder().setVersion(inode.getVersion() + 1).build());
    } else if (Versions.chunkShared(tx, key, chunk)) {
      // Copy-on-write: a snapshot or a clone holds this chunk, so it is never written again. The writer gets a
      // new chunk and copies the old one's bytes into it first (copy_from); the old record stays for the holder.
      if (ctx.groupId().isEmpty()) {
        throw FsError.of(Code.ENOSPC, "no storage daemons registered");
      }
      // The copy stays in the old chunk's group, so its daemons copy it without sending the bytes anywhere.
      ChunkRecord old = chunk;
      chunk = old.toBuilder().setChunkId(ctx.id(0)).setGroupId(old.getGroupId()).build();
      tx.put(MetaTables.CHUNKS, key, chunk);
      tx.put(MetaTables.INODES, r.getIno(), inode.toBuilder().setVersion(inode.getVersion() + 1).build());
      ChunkRef.Builder copy = ChunkRef.newBuilder()
          .setIndex(r.getIndex()).setChunkId(chunk.getChunkId()).setGroupId(chunk.getGroupId())
          .setCopyFromChunkId(old.getChunkId()).setCopyFromGroup(old.getGroupId())
          .setCopyLo(old.getLo()).setCopyHi(old.getHi());
      byte[] writeKey = RegisterDaemon.writeKey(tx);
      if (writeKey != null) {
        copy.setCopyFromToken(token(writeKey, ChunkTokens.Op.FENCE, old.getChunkId(), 0));
      }
      return MetaReply.newBuilder().setChunks(ChunksReply.newBuilder().addChunks(signed(writeKey, copy))).build();
    }
    return MetaReply.newBuilder().setChunks(ChunksReply.newBuilder().addChunks(signed(RegisterDaemon.writeKey(tx),
        ChunkRef.newBuilder().setIndex(r.getIndex()).setChunkId(chunk.getChunkId()).setGroupId(chunk.getGroupId())
            .setLo(chunk.getLo()).setHi(chunk.getHi()).setEpoch(chunk.getEpoch())))).build();
  }

  /**
   * {@code ref} with its write token (the writer's authority on the daemons). Without a write key (no daemon
   * ever registered through a leader that gives one) the token stays empty and daemons refuse the writes.
   */
  private static ChunkRef.Builder signed(byte[] key, ChunkRef.Builder ref) {
    return key == null ? ref : ref.setToken(token(key, ChunkTokens.Op.WRITE, ref.getChunkId(), ref.getEpoch()));
  }

  private static ByteString token(byte[] key, ChunkTokens.Op op, long chunkId, long epoch) {
    return ByteString.copyFrom(ChunkTokens.sign(key, op, chunkId, epoch));
  }
}
