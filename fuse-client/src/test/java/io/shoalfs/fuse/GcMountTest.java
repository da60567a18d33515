package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.StorageClient;
import io.shoalfs.proto.storage.DaemonStatusReply;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Random;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Space that comes back, through a real FUSE mount on a cluster of its own (so the daemon's figures are this
 * test's alone): deleting 1 GiB brings the storage daemon's disk usage back to its baseline, and truncate and
 * overwrite (rename over a file, rewrite with O_TRUNC) free the chunks they drop. The times are printed.
 */
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcMountTest {
  private static final int MiB = 1 << 20;
  /** What the daemon's files may exceed their baseline by once the space is back: logs, manifest, a fresh WAL. */
  private static final long SLACK = 32L * MiB;
  private static final Duration RECLAIM_LIMIT = Duration.ofSeconds(60);

  @TempDir
  Path tmp;

  @Test
  void deletingOneGibibyteBringsTheDaemonsDiskUsageBackToItsBaseline() throws Exception {
    try (TestCluster cluster = TestCluster.start(); TestMount mount = TestMount.open(cluster, tmp, "m");
        StorageClient storage = new StorageClient(cluster.client())) {
      String group = cluster.client().getLayout().getGroups(0).getGroupId();
      DaemonStatusReply base = storage.status(group);
      long baseline = base.getDiskBytes();

      Path file = mount.root().resolve("big.bin");
      long size = 1024L * MiB;
      long t0 = System.nanoTime();
      writeFile(file, size, 1);
      long wroteMs = (System.nanoTime() - t0) / 1_000_000;
      DaemonStatusReply full = storage.status(group);
      System.out.printf("GcMountTest: baseline %d bytes on disk; wrote 1 GiB in %d ms; now %d bytes on disk, "
          + "%d used%n", baseline, wroteMs, full.getDiskBytes(), full.getUsedBytes());
      assertEquals(size, full.getUsedBytes(), "the daemon holds the whole file");
      assertTrue(full.getDiskBytes() >= baseline + size / 2, "the data is on disk: " + full.getDiskBytes());
      // The WAL is bounded (256 MiB): the daemon does not hold a second copy of the data in WAL files.
      assertTrue(full.getDiskBytes() <= baseline + size + size / 2, "disk use for 1 GiB: " + full.getDiskBytes());

      long t1 = System.nanoTime();
      Files.delete(file);
      Duration took = awaitDaemon(storage, group, s -> s <= baseline + SLACK, true);
      DaemonStatusReply after = storage.status(group);
      System.out.printf("GcMountTest: after deleting 1 GiB the daemon's disk usage is back to %d bytes "
          + "(baseline %d + slack %d) within %d ms of the unlink%n", after.getDiskBytes(), baseline, SLACK,
          took.toMillis());
      assertEquals(0, after.getUsedBytes());
      assertTrue((System.nanoTime() - t1) / 1_000_000 <= RECLAIM_LIMIT.toMillis());
    }
  }

  @Test
  void truncateAndOverwriteFreeTheChunksTheyDrop() throws Exception {
    try (TestCluster cluster = TestCluster.start(); TestMount mount = TestMount.open(cluster, tmp, "m");
        StorageClient storage = new StorageClient(cluster.client())) {
      String group = cluster.client().getLayout().getGroups(0).getGroupId();
      Path a = mount.root().resolve("a.bin");
      writeFile(a, 40L * MiB, 2);
      assertEquals(40L * MiB, storage.status(group).getUsedBytes());

      // ftruncate to 6 MiB: chunks 2..9 go whole, chunk 1 is cut at 2 MiB by the client.
      try (FileChannel ch = FileChannel.open(a, StandardOpenOption.WRITE)) {
        ch.truncate(6L * MiB);
      }
      Duration t = awaitDaemon(storage, group, used -> used == 6L * MiB, false);
      System.out.println("GcMountTest: truncate 40 -> 6 MiB freed on the daemon in " + t.toMillis() + " ms");

      // rename over: a's chunks go, b's stay.
      Path b = mount.root().resolve("b.bin");
      writeFile(b, 8L * MiB, 3);
      Files.move(b, a, StandardCopyOption.REPLACE_EXISTING);
      t = awaitDaemon(storage, group, used -> used == 8L * MiB, false);
      System.out.println("GcMountTest: rename over a 6 MiB file freed it in " + t.toMillis() + " ms");
      assertArrayEquals(expected(8L * MiB, 3), Files.readAllBytes(a));

      // Rewrite with O_TRUNC: the old 8 MiB go, the new 4 MiB stay.
      writeFile(a, 4L * MiB, 4);
      t = awaitDaemon(storage, group, used -> used == 4L * MiB, false);
      System.out.println("GcMountTest: O_TRUNC rewrite freed the old data in " + t.toMillis() + " ms");
      assertArrayEquals(expected(4L * MiB, 4), Files.readAllBytes(a));
    }
  }

  /** Writes {@code size} bytes of seeded pseudo-random data (incompressible) with 1 MiB writes and closes. */
  private static void writeFile(Path file, long size, long seed) throws IOException {
    byte[] block = new byte[MiB];
    new Random(seed).nextBytes(block);
    ByteBuffer buf = ByteBuffer.allocateDirect(MiB);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      for (long off = 0; off < size; off += MiB) {
        // Vary each MiB a little so no two are alike.
        block[0] = (byte) (off / MiB);
        buf.clear();
        buf.put(block, 0, (int) Math.min(MiB, size - off)).flip();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
      }
      ch.force(true);
    }
  }

  private static byte[] expected(long size, long seed) {
    byte[] block = new byte[MiB];
    new Random(seed).nextBytes(block);
    byte[] out = new byte[(int) size];
    for (int off = 0; off < size; off += MiB) {
      block[0] = (byte) (off / MiB);
      System.arraycopy(block, 0, out, off, (int) Math.min(MiB, size - off));
    }
    return out;
  }

  /** Waits until the daemon's disk bytes (or used bytes) pass {@code done}; returns how long it took. */
  private static Duration awaitDaemon(StorageClient storage, String group, LongPredicate done, boolean disk)
      throws IOException, InterruptedException {
    long start = System.nanoTime();
    long deadline = start + RECLAIM_LIMIT.toNanos();
    long last = -1;
    while (System.nanoTime() < deadline) {
      DaemonStatusReply s = storage.status(group);
      last = disk ? s.getDiskBytes() : s.getUsedBytes();
      if (done.test(last)) {
        return Duration.ofNanos(System.nanoTime() - start);
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the daemon's " + (disk ? "disk" : "used") + " bytes stayed at " + last
        + " for " + RECLAIM_LIMIT);
  }
}
