package io.shoalfs.cli.local;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.cli.UserError;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class DirLockTest {
  @TempDir Path dir;

  @Test
  @Timeout(value = 1, unit = TimeUnit.MINUTES)
  void anotherProcessHoldingTheLockIsRefusedWithItsPid() throws Exception {
    // An OS file lock is per process: hold it from a second JVM, as a second `shoal local` would see it.
    Process holder = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(), "-cp",
        System.getProperty("java.class.path"), LockHolder.class.getName(), dir.toString())
        .redirectErrorStream(true).start();
    try {
      assertTrue(new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream())).readLine()
          .startsWith("locked"), "holder took the lock");
      UserError e = assertThrows(UserError.class, () -> DirLock.acquire(dir));
      assertTrue(e.getMessage().contains("another shoal local is running on " + dir), e.getMessage());
      assertTrue(e.getMessage().contains("pid " + holder.pid()), e.getMessage());
    } finally {
      holder.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
    // The kernel released the dead holder's lock: no stale lock after a crash.
    try (DirLock lock = DirLock.acquire(dir)) {
      assertTrue(true);
    }
  }

  @Test
  void releasedLockCanBeTakenAgain() {
    DirLock.acquire(dir).close();
    DirLock.acquire(dir).close();
  }

  /** Holds the lock of args[0] until killed. */
  public static final class LockHolder {
    public static void main(String[] args) throws Exception {
      DirLock lock = DirLock.acquire(Path.of(args[0]));
      System.out.println("locked");
      System.out.flush();
      Thread.sleep(TimeUnit.MINUTES.toMillis(5));
      lock.close();
    }
  }
}
