package io.shoalfs.meta.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.stub.ServerCallStreamObserver;
import io.shoalfs.meta.core.Changes;
import io.shoalfs.proto.meta.EntryChanged;
import io.shoalfs.proto.meta.WatchEvent;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The per-stream bound of the watch hub: a stream whose transport is not ready keeps at most QUEUE_LIMIT
 * events; beyond that its backlog becomes one Resync, and it gets the events after it once it is ready again.
 * The observer here stands in for gRPC's transport (its flow control is what is simulated), not for Shoal.
 */
@Timeout(30)
class WatchHubTest {
  static final class Transport extends ServerCallStreamObserver<WatchEvent> {
    final List<WatchEvent> sent = new ArrayList<>();
    boolean ready = true;
    Runnable onReady = () -> {};

    @Override public boolean isReady() { return ready; }
    @Override public void setOnReadyHandler(Runnable r) { onReady = r; }
    @Override public void setOnCancelHandler(Runnable r) {}
    @Override public boolean isCancelled() { return false; }
    @Override public void setCompression(String c) {}
    @Override public void disableAutoInboundFlowControl() {}
    @Override public void request(int n) {}
    @Override public void setMessageCompression(boolean e) {}
    @Override public void onNext(WatchEvent e) { sent.add(e); }
    @Override public void onError(Throwable t) {}
    @Override public void onCompleted() {}
  }

  static Changes.Routed entry(long volume, int i) {
    return new Changes.Routed(volume, 0, WatchEvent.newBuilder()
        .setEntry(EntryChanged.newBuilder().setParent(1).setName("n" + i)).build());
  }

  @Test
  void aStreamThatFallsBehindGetsOneResyncInsteadOfItsBacklog() {
    WatchHub hub = new WatchHub();
    Transport t = new Transport();
    hub.add(7, 0, t);
    assertTrue(t.sent.get(0).hasResync(), "first event is Resync");
    t.ready = false;
    List<Changes.Routed> burst = new ArrayList<>();
    for (int i = 0; i < WatchHub.QUEUE_LIMIT + 10; i++) {
      burst.add(entry(1, i));
    }
    hub.applied(burst);
    assertEquals(1, t.sent.size(), "nothing sent while the transport is not ready");
    t.ready = true;
    t.onReady.run();
    // The backlog (QUEUE_LIMIT events) was replaced by one Resync, followed by the 9 events after it.
    assertTrue(t.sent.get(1).hasResync(), "overflow became a Resync");
    assertEquals(1 + 1 + 9, t.sent.size());
    assertEquals("n" + (WatchHub.QUEUE_LIMIT + 9), t.sent.get(t.sent.size() - 1).getEntry().getName());
  }

  @Test
  void eventsGoToTheirVolumeAndGrantsToTheirSession() {
    WatchHub hub = new WatchHub();
    Transport all = new Transport();
    Transport vol5 = new Transport();
    Transport vol9 = new Transport();
    hub.add(1, 0, all);
    hub.add(2, 5, vol5);
    hub.add(3, 9, vol9);
    hub.applied(List.of(entry(5, 0), new Changes.Routed(0, 3, WatchEvent.newBuilder()
        .setLockGranted(io.shoalfs.proto.meta.LockGranted.newBuilder().setIno(4)).build())));
    assertEquals(2, all.sent.size()); // Resync + the volume-5 entry
    assertEquals(2, vol5.sent.size());
    assertEquals(2, vol9.sent.size()); // Resync + its grant
    assertTrue(vol9.sent.get(1).hasLockGranted());
  }
}
