package io.shoalfs.storage.core;

import io.shoalfs.common.Layout;

/** Where bytes of a chunk fall in its blocks, and which byte ranges a request may name. */
public final class ChunkGeometry {
  public static final int CHUNK_SIZE = Layout.CHUNK_SIZE;
  public static final int BLOCK_SIZE = Layout.BLOCK_SIZE;
  public static final int BLOCKS_PER_CHUNK = CHUNK_SIZE / BLOCK_SIZE;

  static {
    if (CHUNK_SIZE % BLOCK_SIZE != 0) {
      throw new ExceptionInInitializerError("chunk size must be a multiple of the block size");
    }
  }

  private ChunkGeometry() {}

  /**
   * Accepts {@code [offset, offset + length)} only if it lies inside one chunk. Offsets arrive as unsigned
   * 32-bit wire values, so callers widen them to long first and a huge value is rejected here, not wrapped.
   */
  public static void checkRange(long offset, long length) throws StorageException.InvalidRange {
    if (offset < 0 || length < 0 || offset > CHUNK_SIZE || length > CHUNK_SIZE - offset) {
      throw new StorageException.InvalidRange("range [" + offset + ", " + offset + "+" + length
          + ") is outside the chunk (size " + CHUNK_SIZE + ")");
    }
  }

  /** A chunk length as given to truncate: 0 to CHUNK_SIZE inclusive. */
  public static void checkLength(long length) throws StorageException.InvalidRange {
    if (length < 0 || length > CHUNK_SIZE) {
      throw new StorageException.InvalidRange("length " + length + " is outside 0.." + CHUNK_SIZE);
    }
  }

  public static int blockOf(long offset) {
    return (int) (offset / BLOCK_SIZE);
  }

  public static long blockStart(int block) {
    return (long) block * BLOCK_SIZE;
  }

  /** Index of the first block that lies wholly at or after {@code length} (BLOCKS_PER_CHUNK if none). */
  public static int firstBlockAtOrAfter(long length) {
    return (int) ((length + BLOCK_SIZE - 1) / BLOCK_SIZE);
  }
}
