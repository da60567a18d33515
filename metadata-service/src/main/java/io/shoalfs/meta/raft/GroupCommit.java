package io.shoalfs.meta.raft;

import io.shoalfs.common.ChunkTokens;
import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.metalog.BatchedCall;
import io.shoalfs.proto.metalog.MetaLogEntry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Group commit on the leader: concurrent client write calls are gathered into one Raft log entry.
 *
 * <p>One thread drains a bounded queue. It submits an entry as soon as a call is waiting and fewer than
 * {@code maxInFlight} entries are on their way through Raft; while they are, further calls queue up and go
 * together in the next entry (at most {@code maxBatch}). So an idle service adds no latency (the first call goes
 * at once, alone) and a busy one writes one entry per round trip instead of one per call. A full queue answers
 * UNAVAILABLE, which the client retries after a pause.
 *
 * <p>Replies: apply on this leader completes each call's future directly from the in-memory batch
 * ({@link LocalMessages.Batch}). If the entry fails (leadership lost, timeout) the calls still open get a retryable
 * code; whether or not the entry was committed after all, the client's retry with the same call id is answered
 * from the exactly-once table or applied then, once.
 */
public final class GroupCommit implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GroupCommit.class);
  /** The write key's bytes (register_daemon): a secret, so from the strong generator. */
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /** Bounds of the batcher; defaults in {@link #DEFAULTS}. */
  public record Limits(int queueCapacity, int maxBatch, int maxInFlight) {
    public static final Limits DEFAULTS = new Limits(4096, 512, 2);

    public Limits {
      if (queueCapacity < 1 || maxInFlight < 1 || maxBatch < 1 || maxBatch > IdLayout.MAX_CALLS_PER_ENTRY) {
        throw new IllegalArgumentException("bad group commit limits " + queueCapacity + "/" + maxBatch + "/"
            + maxInFlight + " (batch at most " + IdLayout.MAX_CALLS_PER_ENTRY + ")");
      }
    }
  }

  /** A client write call waiting for its reply. */
  static final class Pending {
    final MetaCall call;
    final CompletableFuture<MetaReply> reply = new CompletableFuture<>();

    Pending(MetaCall call) {
      this.call = call;
    }
  }

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final MetaStateMachine stateMachine;
  private final Limits limits;
  private final Function<Throwable, MetaReply> failureReply;
  /** Completes replies off Ratis's apply thread (gRPC serializes the reply in the completing thread). */
  private final Executor replies;
  private final BlockingQueue<Pending> queue;
  private final Semaphore inFlight;
  private final ClientId batcherId = ClientId.randomId();
  private final AtomicLong nextCallId = new AtomicLong(1);
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread drainer;
  private final AtomicLong entries = new AtomicLong();
  private final AtomicLong calls = new AtomicLong();

  public GroupCommit(RaftServer server, RaftGroupId groupId, MetaStateMachine stateMachine, Limits limits,
      Executor replies, Function<Throwable, MetaReply> failureReply) {
    this.server = server;
    this.groupId = groupId;
    this.stateMachine = stateMachine;
    this.limits = limits;
    this.replies = replies;
    this.failureReply = failureReply;
    this.queue = new ArrayBlockingQueue<>(limits.queueCapacity());
    this.inFlight = new Semaphore(limits.maxInFlight());
    this.drainer = Thread.ofPlatform().daemon().name("meta-group-commit").start(this::drain);
  }

  /** Queues a validated write call; the future always completes with a reply (never exceptionally). */
  public CompletableFuture<MetaReply> submit(MetaCall call) {
    Pending p = new Pending(call);
    if (closed.get()) {
      p.reply.complete(unavailable("replica is stopping"));
    } else if (!queue.offer(p)) {
      p.reply.complete(unavailable("write queue full (" + limits.queueCapacity() + " calls); retry"));
    }
    return p.reply;
  }

  /**
   * Submits {@code calls} together as one log entry, bypassing the queue (tests of a batch's semantics, and
   * callers that want several calls applied atomically in order). At most {@link Limits#maxBatch} calls.
   */
  public List<CompletableFuture<MetaReply>> submitAsOneEntry(List<MetaCall> calls) throws InterruptedException {
    if (calls.isEmpty() || calls.size() > limits.maxBatch()) {
      throw new IllegalArgumentException("a batch holds 1 to " + limits.maxBatch() + " calls, not " + calls.size());
    }
    List<Pending> batch = calls.stream().map(Pending::new).toList();
    inFlight.acquire();
    try {
      send(batch);
    } catch (RuntimeException e) {
      finish(batch, failureReply.apply(e));
      inFlight.release();
    }
    return batch.stream().map(p -> p.reply).toList();
  }

  /** Entries and calls submitted so far (diagnostics and tests: calls / entries is the mean batch size). */
  public long entriesSubmitted() {
    return entries.get();
  }

  public long callsSubmitted() {
    return calls.get();
  }

  private void drain() {
    List<Pending> batch = new ArrayList<>();
    try {
      while (!closed.get()) {
        inFlight.acquire();
        Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          inFlight.release();
          continue;
        }
        batch.add(first);
        queue.drainTo(batch, limits.maxBatch() - 1);
        List<Pending> taken = List.copyOf(batch);
        batch.clear();
        try {
          send(taken);
        } catch (RuntimeException e) {
          LOG.warn("group commit: submitting {} calls failed", taken.size(), e);
          finish(taken, failureReply.apply(e));
          inFlight.release();
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Pending p;
    while ((p = queue.poll()) != null) {
      p.reply.complete(unavailable("replica is stopping"));
    }
  }

  private void send(List<Pending> batch) {
    MetaLogEntry.Builder entry = MetaLogEntry.newBuilder().setNowNs(clockNs());
    for (Pending p : batch) {
      MetaCall c = p.call;
      BatchedCall.Builder b = BatchedCall.newBuilder().setClientId(c.getClientId()).setCallId(c.getCallId())
          .setAckedCallId(c.getAckedCallId()).setRequest(c.getRequest()).setSessionId(c.getSessionId());
      if (MetaOps.needsPlacement(c.getRequest().getOpCase())) {
        b.setGroupId(stateMachine.choosePlacement(c.getRequest()));
      }
      if (c.getRequest().getOpCase() == MetaRequest.OpCase.REGISTER_DAEMON) {
        byte[] secret = new byte[ChunkTokens.KEY_BYTES];
        RANDOM.nextBytes(secret);
        b.setSecret(com.google.protobuf.ByteString.copyFrom(secret));
      }
      entry.addCalls(b);
    }
    LocalMessages.Batch message = new LocalMessages.Batch(entry.build(), batch, this);
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(batcherId).setServerId(server.getId()).setGroupId(groupId)
        .setCallId(nextCallId.getAndIncrement()).setMessage(message)
        .setType(RaftClientRequest.writeRequestType()).build();
    entries.incrementAndGet();
    calls.addAndGet(batch.size());
    CompletableFuture<RaftClientReply> f;
    try {
      f = server.submitClientRequestAsync(request);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    f.whenComplete((reply, error) -> {
      inFlight.release();
      MetaReply failed = null;
      if (error != null) {
        failed = failureReply.apply(error);
      } else if (!reply.isSuccess()) {
        failed = failureReply.apply(reply.getException());
      }
      if (failed != null) {
        finish(batch, failed);
      } else {
        // Apply completed every call of a batch it found in memory; anything still open was applied from the
        // log bytes instead (should not happen on the leader): the retry finds its recorded reply.
        finish(batch, unavailable("reply of the batch was not delivered; retry"));
      }
    });
  }

  /** Completes the calls of a batch applied on this leader, off the apply thread. */
  void deliver(List<Pending> batch, MetaReply[] replies) {
    this.replies.execute(() -> {
      for (int i = 0; i < replies.length; i++) {
        batch.get(i).reply.complete(replies[i]);
      }
    });
  }

  private void finish(List<Pending> batch, MetaReply reply) {
    replies.execute(() -> {
      for (Pending p : batch) {
        p.reply.complete(reply);
      }
    });
  }

  private static MetaReply unavailable(String message) {
    return new FsError(Code.UNAVAILABLE, message).toReply();
  }

  private static long clockNs() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      drainer.interrupt();
      try {
        drainer.join(5000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
