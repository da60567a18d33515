package io.shoalfs.storage.core;

import io.shoalfs.common.ChunkTokens;

/**
 * Which mutations this daemon takes: those whose chunk token ({@link ChunkTokens}) verifies under the cluster's
 * write key, which the daemon learns when it registers (and keeps in its data directory, so a restart while the
 * metadata service is away still verifies). Before it has a key it takes no mutation at all: the caller retries.
 */
public final class WriteAuthority {
  private volatile byte[] key;

  public WriteAuthority(byte[] key) {
    set(key);
  }

  /** The key (null: none yet). A key of the wrong length is a bug upstream. */
  public void set(byte[] key) {
    if (key != null && key.length != ChunkTokens.KEY_BYTES) {
      throw new IllegalArgumentException("a write key has " + ChunkTokens.KEY_BYTES + " bytes, got " + key.length);
    }
    this.key = key == null ? null : key.clone();
  }

  public boolean hasKey() {
    return key != null;
  }

  /**
   * Throws unless {@code token} allows {@code op} on {@code chunkId} at {@code epoch}.
   *
   * @param what the request, for the message ("write", "truncate", ...)
   */
  public void check(String what, ChunkTokens.Op op, long chunkId, long epoch, byte[] token)
      throws StorageException {
    byte[] k = key;
    if (k == null) {
      throw new StorageException.Unavailable("this daemon has no write key yet (it has not registered with the "
          + "metadata service): " + what + " of chunk " + Long.toUnsignedString(chunkId) + " refused for now");
    }
    if (!ChunkTokens.verify(k, op, chunkId, epoch, token)) {
      throw new StorageException.Unauthorized(what + " of chunk " + Long.toUnsignedString(chunkId) + " at epoch "
          + Long.toUnsignedString(epoch) + " refused: "
          + (token.length == 0 ? "no token" : "its token is not valid")
          + " (a chunk is written only with the token alloc_chunk hands out with it)");
    }
  }
}
