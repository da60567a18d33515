package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.storage.testing.TestCluster;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Cluster-wide locks through two mounts of one volume: flock (the util-linux flock tool, real processes) and
 * POSIX record locks (FileChannel.lock/tryLock are fcntl F_SETLKW/F_SETLK).
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LocksTest {
  @TempDir
  static Path tmp;
  static TestMount a;
  static TestMount b;

  @BeforeAll
  static void mount(TestCluster cluster) throws IOException {
    a = TestMount.open(cluster, null, tmp, "a", List.of());
    b = TestMount.open(cluster, null, tmp, "b", List.of());
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

  /**
   * Runs {@code flock -o MODE FILE -c 'echo locked; exec sleep 60'} and waits until it says it holds the lock.
   * -o: only the flock process itself holds the descriptor (its child does not), so killing it unlocks.
   */
  static Process holdFlock(Path file, String mode) throws Exception {
    Process p = new ProcessBuilder("flock", "-o", mode, file.toString(), "-c", "echo locked; exec sleep 60")
        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
    BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<String> line = CompletableFuture.supplyAsync(() -> {
      try {
        return out.readLine();
      } catch (IOException e) {
        return null;
      }
    });
    assertEquals("locked", line.get(20, TimeUnit.SECONDS));
    return p;
  }

  /** SIGKILL of a process and its children (the shell and sleep under flock). */
  static void kill(Process p) throws InterruptedException {
    p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
    p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
  }

  static int flockNow(Path file, String mode) throws Exception {
    Process p = new ProcessBuilder("flock", "-n", mode, file.toString(), "true").inheritIO().start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS));
    return p.exitValue();
  }

  @Test
  void flockConflictsAcrossMountsAndBlockingWaitsForTheUnlock() throws Exception {
    Files.writeString(a.root().resolve("flock.lck"), "");
    Path onA = a.root().resolve("flock.lck");
    Path onB = b.root().resolve("flock.lck");
    Process holder = holdFlock(onA, "-x");
    Process waiter = null;
    try {
      assertEquals(1, flockNow(onB, "-x"), "exclusive flock held through A: LOCK_NB through B fails");
      assertEquals(1, flockNow(onB, "-s"), "shared is refused too");
      waiter = new ProcessBuilder("flock", "-x", onB.toString(), "true").inheritIO().start();
      assertFalse(waiter.waitFor(700, TimeUnit.MILLISECONDS), "a blocking flock through B waits");
      long released = System.nanoTime();
      holder.destroy(); // its descriptor closes: the flock lock goes with the open file description
      assertTrue(waiter.waitFor(10, TimeUnit.SECONDS), "B gets the lock after A's unlock");
      assertEquals(0, waiter.exitValue());
      System.out.println("LocksTest: blocked flock granted " + (System.nanoTime() - released) / 1_000_000
          + " ms after the holder exited");
    } finally {
      kill(holder);
      if (waiter != null) {
        kill(waiter);
      }
    }
    assertEquals(0, flockNow(onA, "-x"), "free again on both");
    assertEquals(0, flockNow(onB, "-s"));
  }

  @Test
  void sharedFlocksCoexistAcrossMounts() throws Exception {
    Files.writeString(a.root().resolve("shared.lck"), "");
    Process holder = holdFlock(a.root().resolve("shared.lck"), "-s");
    try {
      assertEquals(0, flockNow(b.root().resolve("shared.lck"), "-s"));
      assertEquals(1, flockNow(b.root().resolve("shared.lck"), "-x"));
    } finally {
      kill(holder);
    }
  }

  @Test
  void interruptedBlockingFlockLeavesNoLockBehind() throws Exception {
    Files.writeString(a.root().resolve("intr.lck"), "");
    Path onB = b.root().resolve("intr.lck");
    Process holder = holdFlock(a.root().resolve("intr.lck"), "-x");
    try {
      Process waiter = new ProcessBuilder("flock", "-x", onB.toString(), "true").inheritIO().start();
      assertFalse(waiter.waitFor(500, TimeUnit.MILLISECONDS));
      waiter.destroyForcibly(); // SIGKILL: the kernel interrupts the request, we cancel the queued lock
      assertTrue(waiter.waitFor(10, TimeUnit.SECONDS), "the killed waiter ends");
    } finally {
      kill(holder);
    }
    // Had the withdrawn request been granted later, B would hold a lock nobody owns.
    long deadline = System.nanoTime() + 3_000_000_000L;
    int rc;
    while ((rc = flockNow(a.root().resolve("intr.lck"), "-x")) != 0 && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
    assertEquals(0, rc, "nobody holds the lock after the holder exited and the waiter was killed");
  }

  @Test
  void posixRecordLocksConflictAcrossMounts() throws Exception {
    Files.write(a.root().resolve("fcntl.lck"), new byte[100]);
    try (FileChannel chA = FileChannel.open(a.root().resolve("fcntl.lck"), StandardOpenOption.READ,
            StandardOpenOption.WRITE);
        FileChannel chB = FileChannel.open(b.root().resolve("fcntl.lck"), StandardOpenOption.READ,
            StandardOpenOption.WRITE)) {
      FileLock held = chA.lock(0, 50, false);
      assertNull(chB.tryLock(10, 10, false), "F_SETLK through B conflicts with A's write lock on [0, 50)");
      assertNull(chB.tryLock(40, 20, true), "a read lock overlapping it too");
      FileLock other = chB.tryLock(50, 50, false);
      assertNotNull(other, "the range after it is free");
      other.release();

      CompletableFuture<FileLock> blocked = CompletableFuture.supplyAsync(() -> {
        try {
          return chB.lock(0, 10, false); // F_SETLKW
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      });
      Thread.sleep(500);
      assertFalse(blocked.isDone(), "F_SETLKW through B waits for A");
      held.release();
      FileLock got = blocked.get(10, TimeUnit.SECONDS);
      assertTrue(got.isValid());
      assertNull(chA.tryLock(0, 10, false), "now A conflicts with B");
      got.release();
    }
    // Closing the descriptors released everything.
    try (FileChannel chB = FileChannel.open(b.root().resolve("fcntl.lck"), StandardOpenOption.WRITE)) {
      FileLock l = chB.tryLock();
      assertNotNull(l);
      l.release();
    }
  }

  @Test
  void posixLockGoesWithTheDescriptorClose() throws Exception {
    Files.write(a.root().resolve("close.lck"), new byte[10]);
    FileChannel chA = FileChannel.open(a.root().resolve("close.lck"), StandardOpenOption.WRITE);
    try {
      chA.lock();
    } finally {
      chA.close(); // flush with the lock owner: the POSIX locks go
    }
    try (FileChannel chB = FileChannel.open(b.root().resolve("close.lck"), StandardOpenOption.WRITE)) {
      FileLock l = chB.tryLock();
      assertNotNull(l, "A's lock went with its close");
      l.release();
    }
  }
}
