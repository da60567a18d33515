package io.shoalfs.storage.store;

import static io.shoalfs.storage.core.ChunkGeometry.CHUNK_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.storage.core.StorageException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Write fencing and space reclamation in the chunk store: tombstones refuse late writes to deleted chunks (also
 * after a restart), fences refuse older epochs without touching the data, tombstones expire by age and count,
 * and the disk space of deleted chunks returns.
 */
@Timeout(120)
class ChunkFencingTest {
  @TempDir
  Path dir;

  private static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void aDeletedChunkRefusesEveryLateRequestAlsoAfterARestart() throws Exception {
    try (ChunkStore s = ChunkStore.open(dir, 1L << 30)) {
      s.write(7, 0, ByteBuffer.wrap(pattern(1000, 1)), false);
      s.delete(7);
      s.delete(7); // idempotent
      s.delete(8); // never written: still leaves a tombstone
      assertEquals(2, s.tombstones());
      assertEquals(0, s.usedBytes());
    }
    try (ChunkStore s = ChunkStore.open(dir, 1L << 30)) {
      assertEquals(2, s.tombstones(), "tombstones are durable");
      for (long id : new long[] {7, 8}) {
        var w = assertThrows(StorageException.Stale.class, () -> s.write(id, 0, 0, ByteBuffer.wrap(new byte[5]), true));
        assertEquals(-1L, w.fence());
        assertThrows(StorageException.Stale.class, () -> s.write(id, Long.MAX_VALUE, 0, ByteBuffer.allocate(1), false));
        assertThrows(StorageException.Stale.class, () -> s.truncate(id, 0, 0));
        assertThrows(StorageException.Stale.class, () -> s.read(id, 0, 10));
        assertThrows(StorageException.Stale.class, () -> s.fence(id, 1));
      }
      assertEquals(0, s.usedBytes(), "nothing was re-created");
    }
  }

  @Test
  void aFenceRefusesOlderEpochsAndLeavesTheDataAsItWas() throws Exception {
    byte[] data = pattern(3 * 65536 + 17, 2);
    try (ChunkStore s = ChunkStore.open(dir, 1L << 30)) {
      s.write(1, 0, 0, ByteBuffer.wrap(data), false);
      assertEquals(4, s.fence(1, 4));
      assertEquals(4, s.fence(1, 2), "never lowered");
      assertThrows(StorageException.Stale.class, () -> s.write(1, 3, 0, ByteBuffer.wrap(new byte[100]), false));
      assertThrows(StorageException.Stale.class, () -> s.write(1, 0, ByteBuffer.wrap(new byte[100]), false));
      assertThrows(StorageException.Stale.class, () -> s.truncate(1, 3, 0));
      assertArrayEquals(data, s.read(1, 0, data.length));
      // Epochs are unsigned: 2^63 is above 4.
      s.write(1, Long.MIN_VALUE, 0, ByteBuffer.wrap(new byte[] {9}), false);
      s.write(1, 4, 1, ByteBuffer.wrap(new byte[] {8}), false);
      assertEquals(9, s.read(1, 0, 2)[0]);
      assertEquals(8, s.read(1, 0, 2)[1]);
      assertThrows(StorageException.InvalidRange.class, () -> s.fence(1, -1L));
      // Other chunks are not fenced.
      s.write(2, 0, ByteBuffer.wrap(new byte[] {1}), false);
    }
    try (ChunkStore s = ChunkStore.open(dir, 1L << 30)) {
      assertThrows(StorageException.Stale.class, () -> s.write(1, 3, 0, ByteBuffer.wrap(new byte[1]), false),
          "a fence is durable");
      s.delete(1);
      assertThrows(StorageException.Stale.class, () -> s.write(1, 4, 0, ByteBuffer.wrap(new byte[1]), false),
          "a deleted chunk refuses even its current epoch");
    }
  }

  @Test
  void tombstonesExpireByAgeAndCount() throws Exception {
    ChunkStore.Tuning tuning = new ChunkStore.Tuning(Duration.ofMillis(50), Duration.ofHours(1), 3,
        Duration.ofHours(1));
    try (ChunkStore s = ChunkStore.open(dir, 1L << 30, tuning)) {
      for (long id = 1; id <= 5; id++) {
        s.delete(id);
        Thread.sleep(5); // distinct times: the oldest go first
      }
      assertEquals(2, s.sweepTombstones(System.currentTimeMillis()), "past the count bound the oldest go");
      assertEquals(3, s.tombstones());
      s.write(1, 0, ByteBuffer.wrap(new byte[] {1}), false); // its tombstone expired
      assertThrows(StorageException.Stale.class, () -> s.write(5, 0, ByteBuffer.wrap(new byte[] {1}), false));
      assertEquals(3, s.sweepTombstones(System.currentTimeMillis() + Duration.ofHours(2).toMillis()),
          "past the retention every tombstone goes");
      assertEquals(0, s.tombstones());
    }
  }

  @Test
  void theSpaceOfDeletedChunksReturnsToDisk() throws Exception {
    ChunkStore.Tuning tuning = new ChunkStore.Tuning(Duration.ofMillis(100), Duration.ofHours(1), 1000,
        Duration.ofHours(1));
    try (ChunkStore s = ChunkStore.open(dir, 1L << 32, tuning)) {
      s.write(1000, 0, ByteBuffer.wrap(pattern(100, 3)), true);
      s.rocks().flush();
      long baseline = s.diskBytes();
      byte[] chunk = pattern(CHUNK_SIZE, 4);
      int chunks = 48; // 192 MiB: several blob files and memtable flushes
      for (int i = 0; i < chunks; i++) {
        chunk[0] = (byte) i;
        s.write(i + 1, 0, ByteBuffer.wrap(chunk), false);
      }
      s.rocks().flush();
      long full = s.diskBytes();
      assertTrue(full > baseline + (long) chunks * CHUNK_SIZE / 2, "data on disk: " + full);
      long passes = s.reclaimPasses();
      long t0 = System.nanoTime();
      for (int i = 0; i < chunks; i++) {
        s.delete(i + 1);
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while ((s.reclaimPasses() == passes || s.diskBytes() > baseline + (16 << 20)) && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      long after = s.diskBytes();
      System.out.printf("ChunkFencingTest: %d MiB deleted; disk %d -> %d bytes (baseline %d) in %d ms%n",
          chunks * 4, full, after, baseline, (System.nanoTime() - t0) / 1_000_000);
      assertTrue(after <= baseline + (16 << 20), "disk usage back near its baseline: " + after + " vs " + baseline);
      assertArrayEquals(pattern(100, 3), s.read(1000, 0, 100), "the live chunk is untouched");
    }
  }
}
