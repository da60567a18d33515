package io.shoalfs.meta;

import io.shoalfs.client.SessionClient;
import io.shoalfs.proto.meta.EntryChanged;
import io.shoalfs.proto.meta.InodeChanged;
import io.shoalfs.proto.meta.LockGranted;
import io.shoalfs.proto.meta.Resync;
import io.shoalfs.proto.meta.WatchEvent;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/** Records every watch event with its arrival time (System.nanoTime). */
final class RecordingListener implements SessionClient.Listener {
  record Arrival(long atNs, WatchEvent event) {}

  private final List<Arrival> events = new ArrayList<>();
  private final List<long[]> lost = new ArrayList<>();

  @Override
  public synchronized void onInode(InodeChanged e) {
    add(WatchEvent.newBuilder().setInode(e).build());
  }

  @Override
  public synchronized void onEntry(EntryChanged e) {
    add(WatchEvent.newBuilder().setEntry(e).build());
  }

  @Override
  public synchronized void onResync() {
    add(WatchEvent.newBuilder().setResync(Resync.getDefaultInstance()).build());
  }

  @Override
  public synchronized void onLockGranted(LockGranted e) {
    add(WatchEvent.newBuilder().setLockGranted(e).build());
  }

  @Override
  public synchronized void onSessionLost(long lostSession, long newSession) {
    lost.add(new long[] {lostSession, newSession});
  }

  private void add(WatchEvent e) {
    events.add(new Arrival(System.nanoTime(), e));
    notifyAll();
  }

  synchronized List<Arrival> events() {
    return List.copyOf(events);
  }

  synchronized int sessionsLost() {
    return lost.size();
  }

  synchronized long resyncs() {
    return events.stream().filter(a -> a.event().hasResync()).count();
  }

  /** Waits for the first event after index {@code from} that matches; returns its arrival time. */
  synchronized long await(int from, Predicate<WatchEvent> match, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      for (int i = from; i < events.size(); i++) {
        if (match.test(events.get(i).event())) {
          return events.get(i).atNs();
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new AssertionError("no matching event within " + timeout + "; got " + events.subList(from, events.size()));
      }
      wait(Math.max(1, left / 1_000_000));
    }
  }

  synchronized int size() {
    return events.size();
  }
}
