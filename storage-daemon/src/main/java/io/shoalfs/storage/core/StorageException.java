package io.shoalfs.storage.core;

/**
 * Everything a storage operation can fail with, as far as a caller is concerned. The set is closed so the gRPC
 * layer maps every case to a status code by an exhaustive switch and nothing reaches a caller as UNKNOWN.
 */
public abstract sealed class StorageException extends Exception {
  private StorageException(String message, Throwable cause) {
    super(message, cause);
  }

  /** The request names bytes outside a chunk ({@code [0, Layout.CHUNK_SIZE)}). */
  public static final class InvalidRange extends StorageException {
    public InvalidRange(String message) {
      super(message, null);
    }
  }

  /** A stored block does not match its CRC32C: its bytes are lost on this daemon. */
  public static final class CorruptBlock extends StorageException {
    private final long chunkId;
    private final int block;

    public CorruptBlock(long chunkId, int block, String detail) {
      super("chunk " + Long.toUnsignedString(chunkId) + " block " + block + " is corrupt: " + detail, null);
      this.chunkId = chunkId;
      this.block = block;
    }

    public long chunkId() {
      return chunkId;
    }

    public int block() {
      return block;
    }
  }

  /** The write would take the daemon past its configured capacity, or the disk itself is full. */
  public static final class OutOfSpace extends StorageException {
    public OutOfSpace(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The daemon is shutting down or a chunk stayed locked too long: the caller may retry elsewhere or later. */
  public static final class Unavailable extends StorageException {
    public Unavailable(String message) {
      super(message, null);
    }
  }

  /**
   * Write fencing: the chunk was deleted (its tombstone refuses every request), or the writer's epoch is below
   * the chunk's fence (the chunk is frozen). The caller's chunk map is stale.
   */
  public static final class Stale extends StorageException {
    private final long chunkId;
    private final long fence;

    public Stale(long chunkId, long fence, String message) {
      super(message, null);
      this.chunkId = chunkId;
      this.fence = fence;
    }

    public long chunkId() {
      return chunkId;
    }

    /** The fence in force (2^64-1: deleted). */
    public long fence() {
      return fence;
    }
  }

  /** The request lacks the metadata service's authority (no valid chunk token). */
  public static final class Unauthorized extends StorageException {
    public Unauthorized(String message) {
      super(message, null);
    }
  }

  /** The local database failed (I/O error, RocksDB reported an internal problem). */
  public static final class StoreFailure extends StorageException {
    public StoreFailure(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
