package io.shoalfs.storage.store;

import static io.shoalfs.storage.core.ChunkGeometry.BLOCK_SIZE;
import static io.shoalfs.storage.core.ChunkGeometry.CHUNK_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.shoalfs.storage.core.StorageException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random writes, truncates, deletes, fences and reads against the real store and a byte-array model, with the
 * store closed and reopened between batches. Write fencing in the model: a write or truncate below the chunk's
 * fence, and any request to a deleted chunk, is refused and changes nothing; a deleted chunk's slot moves on to
 * a fresh chunk id, and every deleted id stays refused. Prints its seed; replay a failure with
 * {@code -Dshoal.seed=SEED}.
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
    long[] ids = CHUNKS.clone();
    long[] fence = new long[CHUNKS.length];
    java.util.List<Long> deleted = new java.util.ArrayList<>();
    ChunkStore store = ChunkStore.open(dir, 1L << 32);
    try {
      for (int batch = 0; batch < BATCHES; batch++) {
        for (int op = 0; op < OPS_PER_BATCH; op++) {
          int c = rnd.nextInt(CHUNKS.length);
          long id = ids[c];
          ChunkStore cur = store;
          int kind = rnd.nextInt(100);
          String where = "batch " + batch + " op " + op + " chunk " + Long.toUnsignedString(id);
          // Mostly the current epoch, sometimes an older or a newer one.
          long epoch = switch (rnd.nextInt(8)) {
            case 0 -> fence[c] == 0 ? 0 : fence[c] - 1 - rnd.nextInt((int) Math.min(fence[c], 3));
            case 1 -> fence[c] + 1;
            default -> fence[c];
          };
          boolean admitted = Long.compareUnsigned(epoch, fence[c]) >= 0;
          if (!admitted && kind < 62) {
            int offset = offset(rnd);
            StorageException.Stale e = assertThrows(StorageException.Stale.class, () -> {
              if (kind < 50) {
                storeWrite(cur, id, epoch, offset);
              } else {
                truncate(cur, id, epoch, offset);
              }
            }, where);
            assertEquals(fence[c], e.fence(), where);
            continue;
          }
          if (kind < 50) {
            int offset = offset(rnd);
            int len = Math.min(length(rnd), CHUNK_SIZE - offset);
            byte[] data = new byte[len];
            rnd.nextBytes(data);
            // Sometimes hand the store a window into a bigger buffer: it must honour position and limit.
            ByteBuffer buf = rnd.nextBoolean() ? ByteBuffer.wrap(data)
                : ByteBuffer.allocate(len + 20).position(7).put(data).flip().position(7).asReadOnlyBuffer();
            store.write(id, epoch, offset, buf, rnd.nextInt(10) == 0);
            System.arraycopy(data, 0, model[c], offset, len);
            if (len > 0) {
              length[c] = Math.max(length[c], offset + len);
            }
          } else if (kind < 62) {
            int newLength = rnd.nextBoolean() ? offset(rnd) : (int) Math.min(length[c], rnd.nextInt(CHUNK_SIZE + 1));
            store.truncate(id, epoch, newLength);
            if (newLength < length[c]) {
              Arrays.fill(model[c], newLength, CHUNK_SIZE, (byte) 0);
              length[c] = newLength;
            }
          } else if (kind < 64) {
            store.delete(id);
            deleted.add(id);
            long gone = id;
            assertThrows(StorageException.Stale.class, () -> cur.read(gone, 0, 1), where);
            assertThrows(StorageException.Stale.class, () -> storeWrite(cur, gone, Long.MAX_VALUE, 0), where);
            // The slot moves on to a fresh id (chunk ids are never reused).
            ids[c] = rnd.nextLong();
            fence[c] = 0;
            Arrays.fill(model[c], (byte) 0);
            length[c] = 0;
          } else if (kind < 68) {
            long to = fence[c] + rnd.nextInt(3);
            assertEquals(Math.max(to, fence[c]), store.fence(id, to), where);
            fence[c] = to;
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
          assertArrayEquals(model[c], store.read(ids[c], 0, CHUNK_SIZE),
              "whole chunk " + Long.toUnsignedString(ids[c]) + " after reopen " + batch);
        }
        for (long gone : deleted) {
          ChunkStore s = store;
          assertThrows(StorageException.Stale.class, () -> storeWrite(s, gone, Long.MAX_VALUE - 1, 0),
              "deleted chunk " + Long.toUnsignedString(gone) + " after reopen " + batch);
        }
        assertEquals(Arrays.stream(length).sum(), store.usedBytes(), "used bytes after reopen " + batch);
      }
    } finally {
      store.close();
    }
  }

  private static void storeWrite(ChunkStore s, long id, long epoch, int offset) throws StorageException {
    s.write(id, epoch, Math.min(offset, CHUNK_SIZE - 1), ByteBuffer.wrap(new byte[] {1}), false);
  }

  private static void truncate(ChunkStore s, long id, long epoch, int length) throws StorageException {
    s.truncate(id, epoch, length);
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
