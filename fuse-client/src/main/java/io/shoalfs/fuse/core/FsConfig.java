package io.shoalfs.fuse.core;

import io.shoalfs.common.Layout;
import java.time.Duration;

/**
 * Tunables of the client core, each with a default.
 *
 * @param writeBufferBytes sequential writes to one open file are coalesced up to this many bytes (never across a
 *     chunk boundary) before they go to a storage daemon; must divide the chunk size
 * @param readAheadBytes a read fetches this much (within the chunk and the file size) and serves the following
 *     reads of the same open file from it
 * @param pathTtl how long a resolved path stays cached (like the kernel's entry timeout); this client's own
 *     namespace changes invalidate earlier
 * @param pathCacheEntries bound of the path cache
 * @param readDirPage entries asked from the metadata service per readdir call
 * @param chunkMapWindow chunk refs fetched at once when a read meets an unknown chunk
 * @param dirtyAge bounded dirty age: a background flusher sends and commits any open file's writes that are
 *     older than this (so a file kept open and growing, a log, shows its data to other clients within about this
 *     long), and syncs the storage groups of closed files whose writes were never fsynced once they are this old;
 *     {@link Duration#ZERO} turns the flusher off (writes then wait for flush, fsync or close)
 * @param unsyncedClosedMax bound on closed files whose writes are remembered as not yet durable (so that an
 *     fsync on a new descriptor, as `sync FILE` does, still syncs them); past it a close syncs its own writes
 */
public record FsConfig(int writeBufferBytes, int readAheadBytes, Duration pathTtl, int pathCacheEntries,
    int readDirPage, int chunkMapWindow, Duration dirtyAge, int unsyncedClosedMax) {
  public static final Duration DEFAULT_DIRTY_AGE = Duration.ofMillis(500);
  public static final int DEFAULT_UNSYNCED_CLOSED_MAX = 4096;
  /**
   * Write-backs and the largest read-ahead are one whole chunk (4 MiB): each write-back is one storage request
   * and, in a replicated group, one Raft entry with its fsyncs, so fewer and larger ones move more bytes per
   * second (measured: benchmarks/reports/2026-12-01-pipeline).
   */
  public static final FsConfig DEFAULTS = new FsConfig(Layout.CHUNK_SIZE, Layout.CHUNK_SIZE, Duration.ofSeconds(1),
      16_384, 512, 64);

  /**
   * The defaults for the flusher: half a second of dirty age (the flush, its commit and the other clients'
   * invalidation then fit in about 1 s), 4096 closed files remembered as unsynced.
   */
  public FsConfig(int writeBufferBytes, int readAheadBytes, Duration pathTtl, int pathCacheEntries,
      int readDirPage, int chunkMapWindow) {
    this(writeBufferBytes, readAheadBytes, pathTtl, pathCacheEntries, readDirPage, chunkMapWindow,
        DEFAULT_DIRTY_AGE, DEFAULT_UNSYNCED_CLOSED_MAX);
  }

  public FsConfig {
    if (writeBufferBytes <= 0 || Layout.CHUNK_SIZE % writeBufferBytes != 0) {
      throw new IllegalArgumentException("writeBufferBytes must divide the chunk size: " + writeBufferBytes);
    }
    if (readAheadBytes <= 0 || readAheadBytes > Layout.CHUNK_SIZE) {
      throw new IllegalArgumentException("readAheadBytes must be in (0, chunk size]: " + readAheadBytes);
    }
    if (pathCacheEntries <= 0 || readDirPage <= 0 || chunkMapWindow <= 0) {
      throw new IllegalArgumentException("cache sizes and pages must be positive");
    }
    if (dirtyAge == null || dirtyAge.isNegative() || unsyncedClosedMax <= 0) {
      throw new IllegalArgumentException("dirtyAge must be >= 0 and unsyncedClosedMax positive");
    }
  }

  /** This configuration with another dirty age. */
  public FsConfig withDirtyAge(Duration age) {
    return new FsConfig(writeBufferBytes, readAheadBytes, pathTtl, pathCacheEntries, readDirPage, chunkMapWindow,
        age, unsyncedClosedMax);
  }
}
