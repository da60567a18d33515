package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shoalfs.client.MetaClient;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots and clones through real FUSE mounts (acceptance 2 of issue 6): a snapshot taken while four writers run
 * is one point in time (by the writers' content rules), later writes never change it, {@code .snap/NAME} is
 * read-only and hidden from the root's listing, and a clone is writable and independent of its source both ways.
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SnapshotMountTest {
  private static final int WRITERS = 4;
  /** One record of a writer's data file: "w<i> <n>" padded with '.' and a newline. */
  private static final int RECORD = 32;
  private static final int SLOT = 32;
  @TempDir Path tmp;

  /**
   * Writer i repeats: append record n to d_i and fsync; write n to c_i (in place) and fsync; write n to its slot
   * of the shared file "all" and fsync. Each step starts after the previous one is durable, so at any one point
   * in time all[i] <= c_i <= complete records of d_i, and d_i holds records 1..k in order. A snapshot that mixed
   * two moments (one file read before a step, another after) breaks that.
   */
  @Test
  void aSnapshotDuringFourWritersIsOnePointInTimeAndNeverChanges(TestCluster cluster) throws Exception {
    MetaClient admin = cluster.client();
    admin.createSubvolume("snapw", 1L << 30);
    try (TestMount m = TestMount.open(cluster, "snapw", tmp, "m")) {
      Path root = m.root();
      Files.write(root.resolve("all"), new byte[WRITERS * SLOT]);
      AtomicBoolean stop = new AtomicBoolean();
      ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
      List<Future<Integer>> writers = new ArrayList<>();
      try {
        for (int i = 0; i < WRITERS; i++) {
          int w = i;
          writers.add(pool.submit(() -> writer(root, w, stop)));
        }
        Thread.sleep(1500);
        long t0 = System.nanoTime();
        admin.createSnapshot("snapw", "s1");
        System.out.printf("snapshot during 4 writers: %.1f ms%n", (System.nanoTime() - t0) / 1e6);
        Thread.sleep(300);
        Map<String, byte[]> first = readTree(root.resolve(".snap/s1"));
        Thread.sleep(1500); // the writers go on; the snapshot must not
        stop.set(true);
        int total = 0;
        for (Future<Integer> f : writers) {
          total += f.get(60, TimeUnit.SECONDS);
        }
        System.out.println("writers wrote " + total + " records");
        checkPointInTime(first);
        assertTrue(first.containsKey("d0"), "the snapshot has the writers' files: " + first.keySet());
        // Read again through another mount (no kernel cache): the same bytes.
        try (TestMount other = TestMount.open(cluster, "snapw", tmp, "other")) {
          Map<String, byte[]> again = readTree(other.root().resolve(".snap/s1"));
          assertEquals(first.keySet(), again.keySet());
          for (String k : first.keySet()) {
            assertArrayEquals(first.get(k), again.get(k), "later writes changed " + k + " in the snapshot");
          }
        }
        // The live files moved on past the snapshot.
        int liveRecords = Files.readAllBytes(root.resolve("d0")).length / RECORD;
        assertTrue(liveRecords > first.get("d0").length / RECORD, "writer 0 went on after the snapshot");
      } finally {
        stop.set(true);
        pool.shutdownNow();
        pool.awaitTermination(30, TimeUnit.SECONDS);
      }
    } finally {
      admin.deleteSnapshot("snapw", "s1");
      admin.deleteSubvolume("snapw");
    }
  }

  private static int writer(Path root, int w, AtomicBoolean stop) throws IOException {
    int n = 0;
    try (FileChannel d = FileChannel.open(root.resolve("d" + w), StandardOpenOption.CREATE, StandardOpenOption.WRITE,
            StandardOpenOption.APPEND);
        FileChannel c = FileChannel.open(root.resolve("c" + w), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileChannel all = FileChannel.open(root.resolve("all"), StandardOpenOption.WRITE)) {
      while (!stop.get()) {
        n++;
        d.write(ByteBuffer.wrap(record(w, n)));
        d.force(false);
        c.write(ByteBuffer.wrap(number(n)), 0);
        c.force(false);
        all.write(ByteBuffer.wrap(number(n)), (long) w * SLOT);
        all.force(false);
      }
    }
    return n;
  }

  private static byte[] record(int w, int n) {
    byte[] r = new byte[RECORD];
    java.util.Arrays.fill(r, (byte) '.');
    byte[] s = ("w" + w + " " + n).getBytes(StandardCharsets.US_ASCII);
    System.arraycopy(s, 0, r, 0, s.length);
    r[RECORD - 1] = '\n';
    return r;
  }

  private static byte[] number(int n) {
    return String.format("%0" + (SLOT - 1) + "d\n", n).getBytes(StandardCharsets.US_ASCII);
  }

  private static int parseNumber(byte[] b, int off) {
    String s = new String(b, off, SLOT - 1, StandardCharsets.US_ASCII);
    return s.chars().allMatch(ch -> ch == 0) ? 0 : Integer.parseInt(s);
  }

  private static void checkPointInTime(Map<String, byte[]> snap) {
    byte[] all = snap.get("all");
    assertEquals(WRITERS * SLOT, all.length);
    for (int w = 0; w < WRITERS; w++) {
      byte[] d = snap.getOrDefault("d" + w, new byte[0]);
      int records = d.length / RECORD;
      for (int n = 1; n <= records; n++) {
        assertArrayEquals(record(w, n), java.util.Arrays.copyOfRange(d, (n - 1) * RECORD, n * RECORD),
            "record " + n + " of d" + w + " in the snapshot");
      }
      byte[] c = snap.get("c" + w);
      int committed = c == null || c.length == 0 ? 0 : parseNumber(c, 0);
      int announced = parseNumber(all, w * SLOT);
      assertTrue(announced <= committed, "writer " + w + ": all says " + announced + ", c says " + committed);
      assertTrue(committed <= records, "writer " + w + ": c says " + committed + ", d has " + records);
      System.out.printf("snapshot: writer %d all=%d c=%d d=%d%n", w, announced, committed, records);
    }
  }

  private static Map<String, byte[]> readTree(Path dir) throws IOException {
    Map<String, byte[]> out = new HashMap<>();
    try (Stream<Path> s = Files.list(dir)) {
      for (Path p : s.toList()) {
        if (Files.isRegularFile(p)) {
          out.put(p.getFileName().toString(), Files.readAllBytes(p));
        }
      }
    }
    return out;
  }

  @Test
  void snapIsReadOnlyAndHiddenAndAClonIsIndependentBothWays(TestCluster cluster) throws Exception {
    MetaClient admin = cluster.client();
    admin.createSubvolume("snapro", 1L << 30);
    byte[] big = new byte[9 << 20]; // three chunks: the middle one is rewritten in the clone
    new Random(42).nextBytes(big);
    try (TestMount m = TestMount.open(cluster, "snapro", tmp, "src")) {
      Path root = m.root();
      Files.createDirectories(root.resolve("dir"));
      Files.write(root.resolve("dir/f"), "version 1".getBytes(StandardCharsets.UTF_8));
      Files.write(root.resolve("big"), big);
      admin.createSnapshot("snapro", "s");
      Files.write(root.resolve("dir/f"), "version 2 longer".getBytes(StandardCharsets.UTF_8));

      // Hidden from the listing, reachable by name.
      try (Stream<Path> s = Files.list(root)) {
        assertFalse(s.anyMatch(p -> p.getFileName().toString().equals(".snap")), ".snap is not listed");
      }
      assertTrue(Files.isDirectory(root.resolve(".snap")));
      try (Stream<Path> s = Files.list(root.resolve(".snap"))) {
        assertEquals(List.of("s"), s.map(p -> p.getFileName().toString()).toList());
      }
      Path snap = root.resolve(".snap/s");
      assertEquals("version 1", Files.readString(snap.resolve("dir/f")));
      assertArrayEquals(big, Files.readAllBytes(snap.resolve("big")));
      assertEquals("version 2 longer", Files.readString(root.resolve("dir/f")));
      assertNotEquals(Files.getAttribute(root.resolve("dir/f"), "unix:ino"),
          Files.getAttribute(snap.resolve("dir/f"), "unix:ino"), "a snapshot's inode numbers are its own");

      // Read-only: every kind of write is EROFS.
      assertErofs(() -> Files.write(snap.resolve("dir/f"), new byte[1]));
      assertErofs(() -> Files.write(snap.resolve("new"), new byte[1]));
      assertErofs(() -> Files.delete(snap.resolve("dir/f")));
      assertErofs(() -> Files.createDirectory(snap.resolve("d2")));
      assertErofs(() -> Files.move(snap.resolve("dir/f"), snap.resolve("dir/g")));
      assertErofs(() -> Files.setPosixFilePermissions(snap.resolve("dir/f"), PosixFilePermissions.fromString("rwxrwxrwx")));
      assertErofs(() -> Files.delete(root.resolve(".snap")));
      assertEquals("version 1", Files.readString(snap.resolve("dir/f")));

      // A clone of the snapshot (a restore): writable, independent both ways.
      admin.cloneSubvolume("snapro", "snapro-clone", "s", 0);
      try (TestMount c = TestMount.open(cluster, "snapro-clone", tmp, "clone")) {
        Path croot = c.root();
        assertEquals("version 1", Files.readString(croot.resolve("dir/f")));
        assertArrayEquals(big, Files.readAllBytes(croot.resolve("big")));
        // Write in the clone: a new file, an overwrite in the middle of the big file (copy-on-write of a chunk).
        Files.writeString(croot.resolve("dir/f"), "clone's own");
        Files.writeString(croot.resolve("only-in-clone"), "x");
        byte[] patched = big.clone();
        try (FileChannel ch = FileChannel.open(croot.resolve("big"), StandardOpenOption.WRITE)) {
          byte[] patch = "PATCHED IN THE CLONE".getBytes(StandardCharsets.UTF_8);
          ch.write(ByteBuffer.wrap(patch), 5 << 20);
          System.arraycopy(patch, 0, patched, 5 << 20, patch.length);
        }
        assertArrayEquals(patched, Files.readAllBytes(croot.resolve("big")));
        assertEquals("version 2 longer", Files.readString(root.resolve("dir/f")), "the source is unchanged");
        assertArrayEquals(big, Files.readAllBytes(root.resolve("big")), "the source's chunk was not written");
        assertArrayEquals(big, Files.readAllBytes(snap.resolve("big")), "nor the snapshot's");
        assertFalse(Files.exists(root.resolve("only-in-clone")));
        // Write in the source: the clone is unchanged.
        Files.writeString(root.resolve("only-in-source"), "y");
        Files.delete(root.resolve("big"));
        assertFalse(Files.exists(croot.resolve("only-in-source")));
        assertArrayEquals(patched, Files.readAllBytes(croot.resolve("big")));
        assertEquals("clone's own", Files.readString(croot.resolve("dir/f")));
      }
    } finally {
      admin.deleteSubvolume("snapro-clone");
      admin.deleteSnapshot("snapro", "s");
      admin.deleteSubvolume("snapro");
    }
  }

  @FunctionalInterface
  interface IoAction {
    void run() throws IOException;
  }

  private static void assertErofs(IoAction a) {
    try {
      a.run();
      fail("a write to a snapshot succeeded");
    } catch (FileSystemException e) {
      assertTrue(String.valueOf(e.getReason()).contains("Read-only file system"), "EROFS, got: " + e);
    } catch (IOException e) {
      assertTrue(String.valueOf(e.getMessage()).contains("Read-only file system"), "EROFS, got: " + e);
    }
  }
}
