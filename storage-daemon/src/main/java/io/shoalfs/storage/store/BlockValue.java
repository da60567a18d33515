package io.shoalfs.storage.store;

import io.shoalfs.storage.core.ChunkGeometry;
import io.shoalfs.storage.core.StorageException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The stored form of a block: a big-endian u32 CRC32C of the payload, then the payload (0 to BLOCK_SIZE bytes).
 * Bytes between the payload's end and the block's end read as zeros, so a short write near a chunk's start
 * does not store 64 KiB.
 */
final class BlockValue {
  static final int HEADER = Integer.BYTES;

  private BlockValue() {}

  /** A value with room for {@code payloadLength} payload bytes at {@link #HEADER}; call {@link #seal} after filling. */
  static byte[] allocate(int payloadLength) {
    return new byte[HEADER + payloadLength];
  }

  /** Computes the CRC over the payload and writes it into the header. */
  static byte[] seal(byte[] value) {
    ByteBuffer.wrap(value).putInt(0, crc(value, HEADER, value.length - HEADER));
    return value;
  }

  /**
   * Checks a stored value and returns its payload length. Checked on every read and before every
   * read-modify-write, so a damaged block is never served nor silently folded into a new CRC.
   */
  static int verify(byte[] value, long chunkId, int block) throws StorageException.CorruptBlock {
    if (value.length < HEADER || value.length > HEADER + ChunkGeometry.BLOCK_SIZE) {
      throw new StorageException.CorruptBlock(chunkId, block, "stored value has " + value.length + " bytes");
    }
    int stored = ByteBuffer.wrap(value).getInt(0);
    int actual = crc(value, HEADER, value.length - HEADER);
    if (stored != actual) {
      throw new StorageException.CorruptBlock(chunkId, block, String.format(
          "CRC32C mismatch (stored %08x, computed %08x)", stored, actual));
    }
    return value.length - HEADER;
  }

  private static int crc(byte[] b, int off, int len) {
    CRC32C c = new CRC32C();
    c.update(b, off, len);
    return (int) c.getValue();
  }
}
