package io.shoalfs.storage.store;

import io.shoalfs.common.store.Codec;
import java.nio.ByteBuffer;

/**
 * The write fence of one chunk (table {@code fences}): writes and truncates must carry an epoch at or above
 * {@code epoch} (unsigned); {@link #DELETED} is the tombstone of a deleted chunk, which refuses everything.
 * {@code atMillis} is the daemon's clock when the row was written (tombstones expire by it).
 */
public record Fence(long epoch, long atMillis) {
  /** Tombstone epoch: above every epoch a writer can carry. */
  public static final long DELETED = -1L;

  public static final Codec<Fence> CODEC = new Codec<>() {
    @Override
    public byte[] encode(Fence f) {
      return ByteBuffer.allocate(16).putLong(f.epoch).putLong(f.atMillis).array();
    }

    @Override
    public Fence decode(byte[] b) {
      if (b.length != 16) {
        throw new IllegalStateException("fence value of " + b.length + " bytes");
      }
      ByteBuffer bb = ByteBuffer.wrap(b);
      return new Fence(bb.getLong(), bb.getLong());
    }
  };

  public boolean deleted() {
    return epoch == DELETED;
  }

  /** Whether a write carrying {@code writerEpoch} may change the chunk. */
  public boolean admits(long writerEpoch) {
    return !deleted() && Long.compareUnsigned(writerEpoch, epoch) >= 0;
  }
}
