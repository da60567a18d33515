package io.shoalfs.storage.store;

import static io.shoalfs.storage.core.ChunkGeometry.BLOCK_SIZE;
import static io.shoalfs.storage.core.ChunkGeometry.CHUNK_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random writes, truncates, deletes and reads against the real store and a byte-array model, with the store
 * closed and reopened between batches. Prints its seed; replay a failure with {@code -Dshoal.seed=SEED}.
 */
class ChunkStoreRandomizedTest {
  private static final int BATCHES = 6;
  private static final int OPS_PER_BATCH = 150;
  /** Chunk ids at both ends of the unsigned range and in the middle, to catch key-encoding mistakes. */
  private static final long[] CHUNKS = {0L, 1L, 0x8000_0000_0000_0000L, -1L};

  @Test
  @Timeout(60)
  void storeMatchesByteArrayModel(@TempDir Path dir) throws Exception {
    long seed = Long.getLong("shoal.seed", System.nanoTime());
    System.out.println("ChunkStoreRandomizedTest seed " + seed + " (replay: -Dshoal.seed=" + seed + ")");
    try {
      run(dir, seed);
    } catch (Throwable t) {
      throw new AssertionError("failed with seed " + seed + " (replay: -Dshoal.seed=" + seed + "): " + t, t);
    }
  }

  private static void run(Path dir, long seed) throws Exception {
    Random rnd = new Random(seed);
    byte[][] model = new byte[CHUNKS.length][CHUNK_SIZE];
    long[] length = new long[CHUNKS.length];
    ChunkStore store = ChunkStore.open(dir, 1L << 32);
    try {
      for (int batch = 0; batch < BATCHES; batch++) {
        for (int op = 0; op < OPS_PER_BATCH; op++) {
          int c = rnd.nextInt(CHUNKS.length);
          long id = CHUNKS[c];
          int kind = rnd.nextInt(100);
          String where = "batch " + batch + " op " + op + " chunk " + Long.toUnsignedString(id);
          if (kind < 50) {
            int offset = offset(rnd);
            int len = Math.min(length(rnd), CHUNK_SIZE - offset);
            byte[] data = new byte[len];
            rnd.nextBytes(data);
            // Sometimes hand the store a window into a bigger buffer: it must honour position and limit.
            ByteBuffer buf = rnd.nextBoolean() ? ByteBuffer.wrap(data)
                : ByteBuffer.allocate(len + 20).position(7).put(data).flip().position(7).asReadOnlyBuffer();
            store.write(id, offset, buf, rnd.nextInt(10) == 0);
            System.arraycopy(data, 0, model[c], offset, len);
            if (len > 0) {
              length[c] = Math.max(length[c], offset + len);
            }
          } else if (kind < 62) {
            int newLength = rnd.nextBoolean() ? offset(rnd) : (int) Math.min(length[c], rnd.nextInt(CHUNK_SIZE + 1));
            store.truncate(id, newLength);
            if (newLength < length[c]) {
              Arrays.fill(model[c], newLength, CHUNK_SIZE, (byte) 0);
              length[c] = newLength;
            }
          } else if (kind < 65) {
            store.delete(id);
            Arrays.fill(model[c], (byte) 0);
            length[c] = 0;
          } else {
            int offset = offset(rnd);
            int len = Math.min(length(rnd), CHUNK_SIZE - offset);
            assertArrayEquals(Arrays.copyOfRange(model[c], offset, offset + len), store.read(id, offset, len),
                where + " read [" + offset + ", +" + len + ")");
          }
        }
        assertEquals(Arrays.stream(length).sum(), store.usedBytes(), "used bytes after batch " + batch);
        store.close();
        store = ChunkStore.open(dir, 1L << 32);
        for (int c = 0; c < CHUNKS.length; c++) {
          assertArrayEquals(model[c], store.read(CHUNKS[c], 0, CHUNK_SIZE),
              "whole chunk " + Long.toUnsignedString(CHUNKS[c]) + " after reopen " + batch);
        }
        assertEquals(Arrays.stream(length).sum(), store.usedBytes(), "used bytes after reopen " + batch);
      }
    } finally {
      store.close();
    }
  }

  /** Offsets clustered where bugs live: around block boundaries, near the start, near the chunk's end. */
  private static int offset(Random rnd) {
    int r = rnd.nextInt(10);
    int o;
    if (r < 4) {
      o = rnd.nextInt(CHUNK_SIZE / BLOCK_SIZE + 1) * BLOCK_SIZE + rnd.nextInt(201) - 100;
    } else if (r < 7) {
      o = rnd.nextInt(8 * BLOCK_SIZE);
    } else if (r < 8) {
      o = CHUNK_SIZE - rnd.nextInt(3 * BLOCK_SIZE);
    } else {
      o = rnd.nextInt(CHUNK_SIZE + 1);
    }
    return Math.clamp(o, 0, CHUNK_SIZE);
  }

  private static int length(Random rnd) {
    return switch (rnd.nextInt(10)) {
      case 0 -> 0;
      case 1, 2, 3 -> 1 + rnd.nextInt(200);
      case 4, 5 -> 1 + rnd.nextInt(2 * BLOCK_SIZE);
      case 6, 7 -> (1 + rnd.nextInt(3)) * BLOCK_SIZE;
      default -> 1 + rnd.nextInt(5 * BLOCK_SIZE);
    };
  }
}
