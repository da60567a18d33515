package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Coherence with kernel caching on (DESIGN decision 7), two mounts of one volume. Mount B caches attributes
 * and names for 60 s, so anything it sees sooner came from a watch-driven invalidation, not a timeout. A
 * change on A must show on B within {@link #BOUND_MS}; the worst case is printed.
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class CoherenceTest {
  /** The bound the README states for a namespace or attribute change to reach another mount. */
  static final long BOUND_MS = 1000;
  /** An open file that keeps growing: the dirty age (1 s) plus the invalidation. */
  static final long APPEND_BOUND_MS = 2000;

  @TempDir
  static Path tmp;
  static TestMount a;
  static TestMount b;
  static long worstMs;
  static long worstAppendMs;

  @BeforeAll
  static void mount(TestCluster cluster) throws IOException {
    a = TestMount.open(cluster, null, tmp, "a", List.of());
    b = TestMount.open(cluster, null, tmp, "b", List.of("attr_timeout=60", "entry_timeout=60",
        "negative_timeout=60"));
  }

  @AfterAll
  static void unmount() {
    System.out.println("CoherenceTest worst case A->B: namespace/attributes " + worstMs + " ms (bound " + BOUND_MS
        + "), growing open file " + worstAppendMs + " ms (bound " + APPEND_BOUND_MS + ")");
    try {
      if (a != null) {
        a.close();
      }
    } finally {
      if (b != null) {
        b.close();
      }
    }
  }

  /** Polls {@code seen} on B every 2 ms until it holds; returns the milliseconds it took. */
  static long within(long boundMs, String what, Callable<Boolean> seen) throws Exception {
    long start = System.nanoTime();
    long deadline = start + boundMs * 3_000_000L; // keep polling past the bound, to report how late it was
    while (!seen.call()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + ": not seen on B after " + 3 * boundMs + " ms");
      }
      Thread.sleep(2);
    }
    long ms = (System.nanoTime() - start) / 1_000_000;
    System.out.println("CoherenceTest " + what + ": seen on B after " + ms + " ms");
    if (boundMs == APPEND_BOUND_MS) {
      worstAppendMs = Math.max(worstAppendMs, ms);
    } else {
      worstMs = Math.max(worstMs, ms);
    }
    assertTrue(ms <= boundMs, what + " took " + ms + " ms, bound " + boundMs + " ms");
    return ms;
  }

  @Test
  void renameUnlinkChmodTruncateOnASeenOnB() throws Exception {
    Path dirA = Files.createDirectory(a.root().resolve("coh"));
    Path dirB = b.root().resolve("coh");
    Files.writeString(dirA.resolve("f"), "0123456789");
    Files.writeString(dirA.resolve("gone"), "x");
    // B caches all of it (60 s).
    assertEquals("0123456789", Files.readString(dirB.resolve("f")));
    assertEquals(10, Files.size(dirB.resolve("f")));
    assertTrue(Files.exists(dirB.resolve("gone")));
    assertFalse(Files.exists(dirB.resolve("renamed")), "negative entry cached on B");
    assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(dirB.resolve("f"))));

    Files.move(dirA.resolve("f"), dirA.resolve("renamed"));
    within(BOUND_MS, "rename (old name gone)", () -> !Files.exists(dirB.resolve("f")));
    within(BOUND_MS, "rename (new name there)", () -> Files.exists(dirB.resolve("renamed")));

    Files.delete(dirA.resolve("gone"));
    within(BOUND_MS, "unlink", () -> !Files.exists(dirB.resolve("gone")));

    Files.setPosixFilePermissions(dirA.resolve("renamed"), PosixFilePermissions.fromString("rwx------"));
    within(BOUND_MS, "chmod", () -> PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dirB.resolve("renamed"))).equals("rwx------"));

    try (FileChannel ch = FileChannel.open(dirA.resolve("renamed"), StandardOpenOption.WRITE)) {
      ch.truncate(4);
    }
    within(BOUND_MS, "truncate (size)", () -> Files.size(dirB.resolve("renamed")) == 4);
    assertEquals("0123", Files.readString(dirB.resolve("renamed")), "truncated data on B");

    Files.writeString(dirA.resolve("new"), "fresh");
    within(BOUND_MS, "create over a cached negative entry", () -> Files.exists(dirB.resolve("new")));
  }

  @Test
  void appendOnAWithoutClosingShowsOnB() throws Exception {
    // A name of its own: the cluster (and the root volume) is shared with other test classes (DataIoTest has a log.txt).
    String name = "coherence-append-" + System.nanoTime() + ".txt";
    Path onA = a.root().resolve(name);
    Path onB = b.root().resolve(name);
    try (FileChannel ch = FileChannel.open(onA, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      ch.write(ByteBuffer.wrap("line 1\n".getBytes(StandardCharsets.UTF_8)));
      ch.force(false);
      assertEquals("line 1\n", Files.readString(onB));
      for (int i = 2; i <= 4; i++) {
        String expect = Files.readString(onB) + "line " + i + "\n";
        ch.write(ByteBuffer.wrap(("line " + i + "\n").getBytes(StandardCharsets.UTF_8)));
        within(APPEND_BOUND_MS, "append " + i + " (writer keeps the file open)",
            () -> Files.readString(onB).equals(expect));
      }
    }
  }

  @Test
  void rewriteOnAIsReadExactlyOnBAfterClose() throws Exception {
    long seed = System.nanoTime();
    Random rnd = new Random(seed);
    Path dirA = Files.createDirectory(a.root().resolve("c2o"));
    Path dirB = b.root().resolve("c2o");
    for (int round = 0; round < 200; round++) {
      byte[] data = new byte[rnd.nextInt(100_000)];
      rnd.nextBytes(data);
      String name = "f" + rnd.nextInt(8);
      Files.write(dirA.resolve(name), data);
      // Close-to-open: the open on B comes after A's close returned; B has older pages and sizes cached.
      assertArrayEquals(data, Files.readAllBytes(dirB.resolve(name)), "round " + round + ", seed " + seed);
    }
  }

  @Test
  void unlinkedButOpenFileStaysReadableUntilClose() throws Exception {
    Path onA = a.root().resolve("open-unlinked.bin");
    byte[] data = new byte[3 << 20];
    new Random(7).nextBytes(data);
    Files.write(onA, data);
    try (FileChannel onB = FileChannel.open(b.root().resolve("open-unlinked.bin"), StandardOpenOption.READ)) {
      Files.delete(onA);
      within(BOUND_MS, "unlink of an open file", () -> !Files.exists(b.root().resolve("open-unlinked.bin")));
      ByteBuffer buf = ByteBuffer.allocate(data.length);
      while (buf.hasRemaining() && onB.read(buf, buf.position()) > 0) {
        // read to the end, through the open descriptor of the unlinked file
      }
      assertArrayEquals(data, buf.array(), "data of the unlinked file while open on B");
    }
    try {
      Files.readAllBytes(onA);
      throw new AssertionError("the unlinked file is still reachable by name");
    } catch (NoSuchFileException expected) {
      // gone for good
    }
  }
}
