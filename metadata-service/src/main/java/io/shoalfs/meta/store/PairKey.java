package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import java.nio.ByteBuffer;

/**
 * Key {@code u64 first ++ u64 second} (both big-endian): the opens and session_locks tables, keyed session ++
 * ino, so everything one session holds is one prefix scan.
 */
public record PairKey(long first, long second) {
  public static final Codec<PairKey> CODEC = new Codec<>() {
    @Override
    public byte[] encode(PairKey k) {
      return ByteBuffer.allocate(16).putLong(k.first).putLong(k.second).array();
    }

    @Override
    public PairKey decode(byte[] b) {
      if (b.length != 16) {
        throw new IllegalStateException("pair key of " + b.length + " bytes");
      }
      ByteBuffer bb = ByteBuffer.wrap(b);
      return new PairKey(bb.getLong(), bb.getLong());
    }
  };

  /** The prefix shared by every key whose first part is {@code first}. */
  public static byte[] prefix(long first) {
    return ByteBuffer.allocate(8).putLong(first).array();
  }
}
