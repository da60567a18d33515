package io.shoalfs.fuse.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shoalfs.fuse.ClusterExtension;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Acceptance 3 of issue 5: locks are cluster-wide. A lock taken through mount A is seen through mount B of the
 * same volume (a non-blocking attempt fails with EWOULDBLOCK/EAGAIN, a blocking one waits until A unlocks), and
 * the locks of a mount process killed with SIGKILL are freed within {@link PosixVolume#LOCK_LEASE}.
 * Lock clients are python processes (resources/posix/lockhelper.py): a JVM cannot hold two conflicting locks.
 */
@Tag("posix")
@ExtendWith(ClusterExtension.class)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LockTest {
  /** How long B's blocking attempt is left waiting before A unlocks. */
  private static final Duration HELD = Duration.ofMillis(1500);
  /** How soon after A's unlock B's blocked attempt must be granted. */
  private static final Duration GRANT_BOUND = Duration.ofSeconds(2);
  private static final Duration STEP = Duration.ofSeconds(30);

  static PosixVolume volume;
  static Path a;
  static Path b;

  @BeforeAll
  static void mount(TestCluster cluster) throws Exception {
    volume = PosixVolume.create(cluster, "locks");
    a = volume.mount("a");
    b = volume.mount("b");
  }

  @AfterAll
  static void unmount() throws Exception {
    if (volume != null) {
      volume.close();
    }
  }

  private static ChildProcess helper(String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(PosixVolume.PYTHON, volume.script("lockhelper.py").toString()));
    cmd.addAll(List.of(args));
    return ChildProcess.start(volume.base(), cmd);
  }

  private static String tryOnce(String kind, Path file) throws Exception {
    ChildProcess.Result r = ChildProcess.run(volume.base(), STEP, PosixVolume.PYTHON,
        volume.script("lockhelper.py").toString(), "try", kind, file.toString()).ok();
    return r.output().strip();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"flock", "fcntl", "ofd"})
  void exclusiveLockOnOneMountBlocksTheOther(String kind) throws Exception {
    String name = "lock-" + kind;
    try (ChildProcess holder = helper("hold", kind, a.resolve(name).toString())) {
      holder.awaitLine("locked", STEP);
      String attempt = tryOnce(kind, b.resolve(name));
      assertTrue(attempt.equals("busy EAGAIN") || attempt.equals("busy EWOULDBLOCK")
              || (!kind.equals("flock") && attempt.equals("busy EACCES")),
          kind + " lock held through mount A: a non-blocking attempt through mount B must fail with "
              + "EWOULDBLOCK/EAGAIN, got '" + attempt + "'");
      if (!kind.equals("flock")) {
        ChildProcess.Result getlk = ChildProcess.run(volume.base(), STEP, PosixVolume.PYTHON,
            volume.script("lockhelper.py").toString(), "getlk", b.resolve(name).toString()).ok();
        assertTrue(getlk.output().strip().startsWith("conflict"),
            "F_GETLK through B must report A's lock, got '" + getlk.output().strip() + "'");
      }
      try (ChildProcess waiter = helper("wait", kind, b.resolve(name).toString())) {
        waiter.awaitLine("waiting", STEP);
        Thread.sleep(HELD.toMillis());
        assertFalse(waiter.hasLine("granted"), "B's blocking " + kind + " lock was granted while A held it: "
            + waiter.output());
        long unlocked = System.nanoTime();
        holder.send("unlock");
        holder.awaitLine("unlocked", STEP);
        String granted = waiter.awaitLine("granted", STEP);
        long afterUnlockMs = (System.nanoTime() - unlocked) / 1_000_000;
        long waitedMs = Long.parseLong(granted.split(" ")[1]);
        System.out.printf("LockTest %s: B waited %d ms, granted %d ms after A's unlock%n", kind, waitedMs,
            afterUnlockMs);
        assertTrue(waitedMs >= HELD.toMillis() - 100, "B's blocking lock must have waited for A: " + waitedMs);
        assertTrue(afterUnlockMs <= GRANT_BOUND.toMillis(), "B's lock granted " + afterUnlockMs
            + " ms after A unlocked; bound " + GRANT_BOUND.toMillis());
      }
    }
  }

  @Test
  void killedMountProcessFreesItsLocksWithinTheLease() throws Exception {
    try (PosixVolume.MountProcess proc = volume.mountProcess("killed")) {
      Path onA = proc.root();
      ChildProcess flockHolder = helper("hold", "flock", onA.resolve("killed-flock").toString());
      ChildProcess fcntlHolder = helper("hold", "fcntl", onA.resolve("killed-fcntl").toString());
      try {
        flockHolder.awaitLine("locked", STEP);
        fcntlHolder.awaitLine("locked", STEP);
        assertTrue(tryOnce("flock", b.resolve("killed-flock")).startsWith("busy"),
            "flock through the mount process must be seen through B before the kill");
        assertTrue(tryOnce("fcntl", b.resolve("killed-fcntl")).startsWith("busy"),
            "fcntl lock through the mount process must be seen through B before the kill");
        long killed = System.nanoTime();
        if (proc.isProcess()) {
          proc.kill();
        } else {
          // Local disk: no client process to kill; the holders' death stands in for the client's.
          flockHolder.kill();
          fcntlHolder.kill();
        }
        Duration limit = PosixVolume.LOCK_LEASE.plus(PosixVolume.LOCK_LEASE_MARGIN);
        boolean flockFree = false;
        boolean fcntlFree = false;
        while (!(flockFree && fcntlFree)) {
          if (System.nanoTime() - killed > limit.toNanos()) {
            fail("after SIGKILL of the mount process, locks still held after " + limit.toMillis()
                + " ms (lease " + PosixVolume.LOCK_LEASE.toMillis() + " ms): flock free=" + flockFree
                + ", fcntl free=" + fcntlFree);
          }
          flockFree = flockFree || tryOnce("flock", b.resolve("killed-flock")).equals("granted");
          fcntlFree = fcntlFree || tryOnce("fcntl", b.resolve("killed-fcntl")).equals("granted");
          Thread.sleep(100);
        }
        long freedMs = (System.nanoTime() - killed) / 1_000_000;
        System.out.printf("LockTest: locks of the killed mount process freed after %d ms (lease %d ms)%n",
            freedMs, PosixVolume.LOCK_LEASE.toMillis());
        assertEquals("granted", tryOnce("fcntl", b.resolve("killed-fcntl")));
      } finally {
        flockHolder.kill();
        fcntlHolder.kill();
      }
    }
  }
}
