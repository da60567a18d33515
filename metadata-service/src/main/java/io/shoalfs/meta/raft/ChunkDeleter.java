package io.shoalfs.meta.raft;

import java.io.IOException;

/** Deletes one chunk from the storage daemon at an address (the GC's only remote call). */
public interface ChunkDeleter extends AutoCloseable {
  /**
   * Deletes chunk {@code chunkId} on the daemon at {@code address} (HOST:PORT), idempotently; returns once the
   * daemon made the delete durable. Bounded in time; an IOException when the daemon is down or refused.
   */
  void delete(String address, long chunkId) throws IOException;

  @Override
  void close();
}
