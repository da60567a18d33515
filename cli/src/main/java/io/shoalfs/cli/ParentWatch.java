package io.shoalfs.cli;

import java.util.Optional;

/**
 * Components started by {@code shoal local} get {@code -Dshoal.parent.pid}: if that process dies without stopping
 * them (SIGKILL), they exit through their normal shutdown path (unmount, close) instead of lingering.
 */
final class ParentWatch {
  private static final long POLL_MILLIS = 1000;

  private ParentWatch() {}

  static void startIfRequested() {
    String pid = System.getProperty("shoal.parent.pid");
    if (pid == null) {
      return;
    }
    Optional<ProcessHandle> parent = ProcessHandle.of(Long.parseLong(pid));
    Thread t = new Thread(() -> {
      while (parent.isPresent() && parent.get().isAlive()) {
        try {
          Thread.sleep(POLL_MILLIS);
        } catch (InterruptedException e) {
          return;
        }
      }
      System.err.println("shoal: parent process " + pid + " is gone; stopping");
      System.exit(1);
    }, "parent-watch");
    t.setDaemon(true);
    t.start();
  }
}
