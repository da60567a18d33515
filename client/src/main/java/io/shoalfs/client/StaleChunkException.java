package io.shoalfs.client;

import java.io.IOException;

/**
 * A storage daemon refused a request because the caller's chunk map is stale (write fencing): the chunk was
 * deleted (its space was reclaimed after an unlink or truncate) or it is frozen at a higher epoch than the
 * caller's {@code ChunkRef} carries. Fetch the chunk from the metadata service again; never retry with the same
 * ref. A FUSE client maps it to ESTALE when it cannot recover.
 */
public final class StaleChunkException extends IOException {
  private final long chunkId;
  private final boolean deleted;

  public StaleChunkException(long chunkId, boolean deleted, String message, Throwable cause) {
    super(message, cause);
    this.chunkId = chunkId;
    this.deleted = deleted;
  }

  public long chunkId() {
    return chunkId;
  }

  /** True if the chunk was deleted; false if it is fenced above the caller's epoch. */
  public boolean deleted() {
    return deleted;
  }
}
