package io.shoalfs.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The call ids of one {@link MetaClient} used by many threads at once, checked as the metadata service checks
 * them (raft ClientCalls): a call whose id is at or below an acknowledged id some call carried is refused as
 * "acknowledged already" (EINVAL to the application: a mount's fsync and close got it under four writers).
 */
class CallIdsTest {
  @Test
  void noCallIsAcknowledgedBeforeItsReply() throws Exception {
    CallIds ids = new CallIds();
    // The service's watermark: the highest acknowledged id any call carried so far.
    AtomicLong watermark = new AtomicLong();
    AtomicReference<String> refused = new AtomicReference<>();
    // More threads than cores, so that threads are preempted at every point of begin(), also inside it.
    int threads = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());
    long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
    List<Thread> running = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      running.add(Thread.ofPlatform().name("caller-" + t).start(() -> {
        while (refused.get() == null && System.nanoTime() < until) {
          for (int i = 0; i < 1000; i++) {
            long id = ids.begin();
            try {
              long acked = ids.acked(); // what this call carries
              if (acked >= id) {
                refused.compareAndSet(null, "call " + id + " acknowledges itself (" + acked + ")");
              }
              long w = watermark.get();
              if (id <= w) {
                refused.compareAndSet(null, "call " + id + " was acknowledged already (by " + w + ")");
              }
              watermark.accumulateAndGet(acked, Math::max);
            } finally {
              ids.end(id); // the reply is in
            }
          }
        }
      }));
    }
    for (Thread t : running) {
      t.join(TimeUnit.SECONDS.toMillis(30));
    }
    assertNull(refused.get());
    // With nothing in flight every call is acknowledged.
    long last = ids.begin();
    ids.end(last);
    assertEquals(last, ids.acked());
  }
}
