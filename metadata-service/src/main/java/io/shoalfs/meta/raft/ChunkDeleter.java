package io.shoalfs.meta.raft;

import java.io.IOException;

/** Deletes one chunk from the storage daemon at an address (the GC's only remote call). */
public interface ChunkDeleter extends AutoCloseable {
  /**
   * Deletes chunk {@code chunkId} in storage group {@code group} (its one daemon, or through a replicated
   * group's leader), idempotently; returns once the delete is durable. Bounded in time; an IOException when
   * the group cannot be reached or refused.
   */
  void delete(io.shoalfs.proto.meta.StorageGroup group, long chunkId) throws IOException;

  @Override
  void close();
}
