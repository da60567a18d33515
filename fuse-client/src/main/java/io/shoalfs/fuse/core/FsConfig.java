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
 */
public record FsConfig(int writeBufferBytes, int readAheadBytes, Duration pathTtl, int pathCacheEntries,
    int readDirPage, int chunkMapWindow) {
  public static final FsConfig DEFAULTS = new FsConfig(1 << 20, 1 << 20, Duration.ofSeconds(1), 16_384, 512, 64);

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
  }
}
