package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import java.nio.ByteBuffer;

/**
 * Key of the chunks table: {@code u64 ino ++ u32 chunk index} (both big-endian), so a file's chunks are one
 * prefix scan in index order.
 */
public record ChunkKey(long ino, int index) {
  public static final Codec<ChunkKey> CODEC = new Codec<>() {
    @Override
    public byte[] encode(ChunkKey k) {
      return ByteBuffer.allocate(12).putLong(k.ino).putInt(k.index).array();
    }

    @Override
    public ChunkKey decode(byte[] b) {
      if (b.length != 12) {
        throw new IllegalStateException("chunk key of " + b.length + " bytes");
      }
      ByteBuffer bb = ByteBuffer.wrap(b);
      return new ChunkKey(bb.getLong(), bb.getInt());
    }
  };

  /** The prefix shared by every chunk of file {@code ino}. */
  public static byte[] prefix(long ino) {
    return ByteBuffer.allocate(8).putLong(ino).array();
  }

  /** Index as the unsigned number the wire API uses. */
  public long unsignedIndex() {
    return Integer.toUnsignedLong(index);
  }
}
