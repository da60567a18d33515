package io.shoalfs.cli.local;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * One component slot of a local cluster: its command line and its current process. A process that dies is
 * replaced by a new one with the same command, with exponential backoff; more than {@link #MAX_RESTARTS}
 * restarts within {@link #WINDOW_NANOS} means the component cannot run, and the supervisor gives up.
 */
final class Supervised {
  static final int MAX_RESTARTS = 5;
  static final long WINDOW_NANOS = TimeUnit.MINUTES.toNanos(10);
  /** The first restart's wait (then doubling to 16x); the system property lets fault tests wait less. */
  private static final long FIRST_BACKOFF_MILLIS = Math.max(1, Long.getLong("shoal.local.firstBackoffMillis", 1000));
  private static final long MAX_BACKOFF_MILLIS = 16 * FIRST_BACKOFF_MILLIS;

  private final String name;
  private final List<String> command;
  private final Path logDir;
  private final Deque<Long> recentRestarts = new ArrayDeque<>();
  private volatile Component current;

  Supervised(String name, List<String> command, Path logDir) {
    this.name = name;
    this.command = List.copyOf(command);
    this.logDir = logDir;
  }

  String name() {
    return name;
  }

  Component current() {
    return current;
  }

  Component start() throws IOException {
    current = Component.start(name, command, logDir);
    return current;
  }

  /**
   * Records a crash and returns how long to wait before the restart, or -1 if the restart budget is spent.
   */
  synchronized long nextBackoffMillis(long nowNanos) {
    while (!recentRestarts.isEmpty() && nowNanos - recentRestarts.peekFirst() > WINDOW_NANOS) {
      recentRestarts.pollFirst();
    }
    if (recentRestarts.size() >= MAX_RESTARTS) {
      return -1;
    }
    long backoff = Math.min(MAX_BACKOFF_MILLIS, FIRST_BACKOFF_MILLIS << recentRestarts.size());
    recentRestarts.addLast(nowNanos);
    return backoff;
  }

  int recentRestarts() {
    return recentRestarts.size();
  }
}
