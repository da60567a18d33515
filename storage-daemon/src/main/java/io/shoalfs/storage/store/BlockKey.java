package io.shoalfs.storage.store;

import io.shoalfs.common.store.Codec;
import java.nio.ByteBuffer;

/** Key of one block: the chunk it belongs to and its index inside the chunk. */
public record BlockKey(long chunkId, int block) {
  public static final int BYTES = 12;

  /**
   * u64 chunk id then u32 block index, both big-endian, so RocksDB's bytewise order is (chunk, block) order
   * and a chunk's blocks are one contiguous key range (prefix = the 8 chunk-id bytes).
   */
  public static final Codec<BlockKey> CODEC = new Codec<>() {
    @Override
    public byte[] encode(BlockKey k) {
      return ByteBuffer.allocate(BlockKey.BYTES).putLong(k.chunkId).putInt(k.block).array();
    }

    @Override
    public BlockKey decode(byte[] b) {
      if (b.length != BlockKey.BYTES) {
        throw new IllegalStateException("block key of " + b.length + " bytes");
      }
      ByteBuffer bb = ByteBuffer.wrap(b);
      return new BlockKey(bb.getLong(), bb.getInt());
    }
  };

  public byte[] encode() {
    return CODEC.encode(this);
  }

  /** The 8-byte prefix shared by every block of a chunk. */
  public static byte[] chunkPrefix(long chunkId) {
    return ByteBuffer.allocate(Long.BYTES).putLong(chunkId).array();
  }

  /** Block index of an encoded key, without allocating a record (read path). */
  static int blockOf(byte[] key) {
    return ByteBuffer.wrap(key, Long.BYTES, Integer.BYTES).getInt();
  }
}
