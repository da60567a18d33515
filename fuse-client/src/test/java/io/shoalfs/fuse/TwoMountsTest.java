package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import static io.shoalfs.fuse.DataIoTest.assertSame;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Two clients of one volume (two ShoalMounts, as two nodes would have): close-to-open consistency. */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class TwoMountsTest {
  @TempDir
  static Path tmp;
  static TestMount a;
  static TestMount b;

  @BeforeAll
  static void mount(TestCluster cluster) throws IOException {
    a = TestMount.open(cluster, tmp, "a");
    b = TestMount.open(cluster, tmp, "b");
  }

  @AfterAll
  static void unmount() {
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

  @Test
  void writtenAndClosedOnOneIsReadOnTheOther() throws IOException {
    long seed = System.nanoTime();
    System.out.println("TwoMountsTest seed=" + seed);
    Random rnd = new Random(seed);
    byte[] v1 = new byte[9 << 20];
    rnd.nextBytes(v1);
    Files.createDirectories(a.root().resolve("shared/dir"));
    Files.write(a.root().resolve("shared/dir/file.bin"), v1);

    Path onB = b.root().resolve("shared/dir/file.bin");
    assertSame(v1, Files.readAllBytes(onB), "first version through B, seed " + seed);

    // Rewrite through A with different content and a larger size; B has the old attributes and pages cached.
    byte[] v2 = new byte[11 << 20];
    rnd.nextBytes(v2);
    assertEquals(v1.length, Files.size(onB));
    try (OutputStream out = Files.newOutputStream(a.root().resolve("shared/dir/file.bin"))) {
      out.write(v2);
    }
    assertSame(v2, Files.readAllBytes(onB), "second version through B after reopen, seed " + seed);

    // And back the other way, smaller.
    byte[] v3 = new byte[3 << 20];
    rnd.nextBytes(v3);
    Files.write(onB, v3);
    assertSame(v3, Files.readAllBytes(a.root().resolve("shared/dir/file.bin")), "third version through A");
  }

  @Test
  void appendOnOneAfterTheOtherGrewTheFile() throws Exception {
    Path onA = a.root().resolve("appended.txt");
    Path onB = b.root().resolve("appended.txt");
    Files.writeString(onA, "abc");
    assertEquals(3, Files.size(onB));
    Files.writeString(onA, "def", java.nio.file.StandardOpenOption.APPEND);
    // B saw size 3 a moment ago and its kernel caches that size; A's close reaches B's kernel as an
    // invalidation within the coherence bound (README), and an O_APPEND write takes its offset from the
    // kernel's cached size without asking us: wait for the invalidation first.
    long deadline = System.nanoTime() + 1_000_000_000L;
    while (Files.size(onB) != 6 && System.nanoTime() < deadline) {
      Thread.sleep(2);
    }
    assertEquals(6, Files.size(onB), "A's append seen on B within the bound");
    // Its append must land after A's bytes, not over them.
    Files.writeString(onB, "ghi", java.nio.file.StandardOpenOption.APPEND);
    assertEquals("abcdefghi", Files.readString(onA));
    assertEquals("abcdefghi", Files.readString(onB));
  }

  @Test
  void fsyncMakesDataVisibleWhileTheWriterKeepsTheFileOpen() throws IOException {
    Path onA = a.root().resolve("synced.txt");
    try (var ch = java.nio.channels.FileChannel.open(onA, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap("durable".getBytes()));
      ch.force(true);
      assertEquals("durable", Files.readString(b.root().resolve("synced.txt")));
    }
  }

  @Test
  void namespaceChangesOnOneAreSeenOnTheOther() throws Exception {
    Files.createDirectories(a.root().resolve("ns/x"));
    Files.writeString(a.root().resolve("ns/x/f.txt"), "f");
    assertEquals("f", Files.readString(b.root().resolve("ns/x/f.txt")));
    Files.move(a.root().resolve("ns/x"), a.root().resolve("ns/y"));
    // B's kernel and path cache may remember ns/x for about a second (entry timeout): wait that out.
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (Files.exists(b.root().resolve("ns/x")) && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    try (Stream<Path> s = Files.list(b.root().resolve("ns"))) {
      assertEquals(java.util.List.of("y"), s.map(p -> p.getFileName().toString()).toList());
    }
    assertEquals("f", Files.readString(b.root().resolve("ns/y/f.txt")));
    assertTrue(Files.notExists(b.root().resolve("ns/x")));
  }
}
