package io.shoalfs.storage;

import com.google.protobuf.ByteString;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.proto.meta.ChunkRef;
import java.nio.file.Path;

/**
 * Tokens for tests that act as the metadata service would (fence a chunk, write at an epoch it raised), signed
 * with the key a registered daemon keeps in its data directory.
 */
public final class TestTokens {
  private TestTokens() {}

  /** The write key the daemon whose data directory is {@code dir} registered with. */
  public static byte[] key(Path dir) {
    byte[] key = StorageServer.storedWriteKey(dir);
    if (key == null) {
      throw new IllegalStateException("no write key in " + dir + ": the daemon has not registered");
    }
    return key;
  }

  /** {@code ref} carrying the token that lets a caller raise its fence. */
  public static ChunkRef fenceable(ChunkRef ref, byte[] key) {
    return ref.toBuilder().setToken(ByteString.copyFrom(
        ChunkTokens.sign(key, ChunkTokens.Op.FENCE, ref.getChunkId(), 0))).build();
  }

  /** {@code ref} at {@code epoch}, with that epoch's write token. */
  public static ChunkRef atEpoch(ChunkRef ref, long epoch, byte[] key) {
    return ref.toBuilder().setEpoch(epoch).setToken(ByteString.copyFrom(
        ChunkTokens.sign(key, ChunkTokens.Op.WRITE, ref.getChunkId(), epoch))).build();
  }
}
