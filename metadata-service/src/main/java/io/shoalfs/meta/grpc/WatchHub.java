package io.shoalfs.meta.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.shoalfs.meta.core.Changes;
import io.shoalfs.meta.raft.MetaStateMachine;
import io.shoalfs.proto.meta.Resync;
import io.shoalfs.proto.meta.WatchEvent;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongPredicate;

/**
 * The open watch streams of this replica (only the leader has any) and the routing of applied changes to
 * them: namespace events to the sessions of the event's volume (and to sessions of scope 0), lock grants to
 * their session. Each stream has its own bounded queue, drained as gRPC flow control allows; a stream that
 * falls {@link #QUEUE_LIMIT} events behind loses its backlog and gets one Resync instead (its client then drops
 * everything it caches), so a slow client never holds the leader's memory or the apply thread.
 */
final class WatchHub implements MetaStateMachine.ChangeListener {
  /** Events queued per stream before the backlog is replaced by a Resync. */
  static final int QUEUE_LIMIT = 4096;
  /** Open streams at most: one per session. */
  static final int MAX_STREAMS = 65_536;
  static final WatchEvent RESYNC = WatchEvent.newBuilder().setResync(Resync.getDefaultInstance()).build();

  private final Map<Long, Stream> bySession = new ConcurrentHashMap<>();

  /** One session's stream. Every method is synchronized: gRPC's observer is not thread-safe. */
  static final class Stream {
    final long session;
    final long scope;
    private final ServerCallStreamObserver<WatchEvent> call;
    private final ArrayDeque<WatchEvent> queue = new ArrayDeque<>();
    private boolean ended;
    private long overflows;

    Stream(long session, long scope, ServerCallStreamObserver<WatchEvent> call) {
      this.session = session;
      this.scope = scope;
      this.call = call;
    }

    synchronized void offer(WatchEvent e) {
      if (ended) {
        return;
      }
      if (queue.size() >= QUEUE_LIMIT) {
        queue.clear();
        queue.add(RESYNC);
        overflows++;
      } else {
        queue.add(e);
      }
      drain();
    }

    synchronized void drain() {
      try {
        while (!ended && call.isReady() && !queue.isEmpty()) {
          call.onNext(queue.poll());
        }
      } catch (RuntimeException e) {
        ended = true; // cancelled underneath us; the cancel handler removes it
        queue.clear();
      }
    }

    synchronized void end(Status status) {
      if (ended) {
        return;
      }
      ended = true;
      queue.clear();
      try {
        call.onError(status.asRuntimeException());
      } catch (RuntimeException ignored) {
        // already cancelled by the client
      }
    }

    synchronized long overflows() {
      return overflows;
    }
  }

  /** Registers a stream (replacing an older one of the same session) and queues its first event, Resync. */
  Stream add(long session, long scope, ServerCallStreamObserver<WatchEvent> call) {
    if (bySession.size() >= MAX_STREAMS && !bySession.containsKey(session)) {
      call.onError(Status.RESOURCE_EXHAUSTED.withDescription("more than " + MAX_STREAMS + " watches").asRuntimeException());
      return null;
    }
    Stream s = new Stream(session, scope, call);
    call.setOnCancelHandler(() -> bySession.remove(session, s));
    call.setOnReadyHandler(s::drain);
    Stream old = bySession.put(session, s);
    if (old != null) {
      old.end(Status.CANCELLED.withDescription("a newer watch of session " + session + " replaced this one"));
    }
    s.offer(RESYNC);
    return s;
  }

  @Override
  public boolean active() {
    return !bySession.isEmpty();
  }

  @Override
  public void applied(List<Changes.Routed> changes) {
    for (Changes.Routed r : changes) {
      if (r.session() != 0) {
        Stream s = bySession.get(r.session());
        if (s != null) {
          s.offer(r.event());
        }
        continue;
      }
      for (Stream s : bySession.values()) {
        if (s.scope == 0 || s.scope == r.volume()) {
          s.offer(r.event());
        }
      }
    }
  }

  /** Ends every stream with {@code status} (this replica stopped being the leader). */
  void endAll(Status status) {
    for (Stream s : bySession.values()) {
      bySession.remove(s.session, s);
      s.end(status);
    }
  }

  /** Ends the streams of sessions that are gone (closed or expired). */
  void endIf(LongPredicate gone) {
    for (Stream s : bySession.values()) {
      if (gone.test(s.session)) {
        bySession.remove(s.session, s);
        s.end(Status.NOT_FOUND.withDescription("ESTALE session " + s.session + " ended"));
      }
    }
  }

  int size() {
    return bySession.size();
  }
}
