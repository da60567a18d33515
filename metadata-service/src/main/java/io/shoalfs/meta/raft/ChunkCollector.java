package io.shoalfs.meta.raft;

import io.shoalfs.meta.core.OrphanChunks;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReleaseOrphansRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The garbage collector of chunk data: on the leader, every {@link Tuning#period()} it takes a bounded batch of
 * orphan chunks (core {@link OrphanChunks}: only chunks whose last reference went, never one that
 * {@link OrphanChunks#isReferenced} keeps), deletes each from its storage daemon (DeleteChunk, idempotent: the
 * daemon frees the blocks and leaves a tombstone that refuses late writes), and then proposes a
 * {@code release_orphans} entry that removes their rows. A leader change in between only repeats deletes.
 *
 * <p>A storage group whose daemon is down, unreachable or unregistered keeps its rows: the group gets a back-off
 * doubling from {@link Tuning#backoffMin()} to {@link Tuning#backoffMax()}, one log line when it starts failing
 * and one when it works again, and the other groups go on. A full batch is followed by the next at once; nothing
 * else runs faster than the period, so a dead daemon costs one bounded scan per period, never a busy loop. It
 * runs on every replica and acts only while its replica is the ready leader.
 */
public final class ChunkCollector implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkCollector.class);

  /**
   * @param period how often the leader looks for orphan chunks
   * @param batch most chunks deleted (and released in one entry) per round
   * @param scanLimit most orphan rows looked at per round (rows of groups in back-off are skipped)
   * @param backoffMin first retry delay of a failing storage group; doubles per failure
   * @param backoffMax longest retry delay of a failing storage group
   */
  public record Tuning(Duration period, int batch, int scanLimit, Duration backoffMin, Duration backoffMax) {
    public static final Tuning DEFAULTS =
        new Tuning(Duration.ofSeconds(1), 256, 16_384, Duration.ofSeconds(1), Duration.ofSeconds(60));

    public Tuning {
      if (batch < 1 || batch > OrphanChunks.MAX_RELEASE_PER_ENTRY || scanLimit < batch) {
        throw new IllegalArgumentException("bad GC batch " + batch + " / scan limit " + scanLimit);
      }
    }
  }

  /** Back-off of one storage group that failed. */
  private static final class Backoff {
    int failures;
    long nextNanos;
  }

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final MetaStateMachine sm;
  private final MetaSubmitter submitter;
  private final ChunkDeleter deleter;
  private final Tuning tuning;
  private final ScheduledExecutorService timer;
  /** One release proposal at a time: deletes never run ahead of the log by more than one batch. */
  private final AtomicBoolean inFlight = new AtomicBoolean();
  /** Only touched on the timer thread. */
  private final Map<String, Backoff> failing = new HashMap<>();
  /** Unsigned chunk id to resume the scan after; -1: from the start. Timer thread only. */
  private long cursor = -1;
  private final AtomicLong deleted = new AtomicLong();
  private final AtomicLong released = new AtomicLong();

  private ChunkCollector(RaftServer server, RaftGroupId groupId, MetaStateMachine sm, MetaSubmitter submitter,
      ChunkDeleter deleter, Tuning tuning) {
    this.server = server;
    this.groupId = groupId;
    this.sm = sm;
    this.submitter = submitter;
    this.deleter = deleter;
    this.tuning = tuning;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "chunk-collector");
      t.setDaemon(true);
      return t;
    });
  }

  public static ChunkCollector start(RaftServer server, RaftGroupId groupId, MetaStateMachine sm,
      MetaSubmitter submitter, ChunkDeleter deleter, Tuning tuning) {
    ChunkCollector c = new ChunkCollector(server, groupId, sm, submitter, deleter, tuning);
    long p = tuning.period().toMillis();
    c.timer.scheduleWithFixedDelay(c::tick, p, p, TimeUnit.MILLISECONDS);
    return c;
  }

  /** Chunks this replica deleted from storage daemons since it started (diagnostics and tests). */
  public long deletedChunks() {
    return deleted.get();
  }

  /** Orphan rows this replica's release entries removed since it started. */
  public long releasedRows() {
    return released.get();
  }

  private void tick() {
    try {
      DivisionInfo info = server.getDivision(groupId).getInfo();
      if (!info.isLeader() || !info.isLeaderReady()) {
        cursor = -1;
        return;
      }
      if (inFlight.get()) {
        return;
      }
      long now = System.nanoTime();
      OrphanChunks.Pick pick = sm.readState(tx -> OrphanChunks.pick(tx, cursor, tuning.scanLimit(),
          tuning.batch(), group -> ready(group, now)));
      if (pick == null) {
        return;
      }
      cursor = pick.resumeAfter();
      List<Long> done = deleteAll(pick);
      if (!done.isEmpty()) {
        propose(done, pick.resumeAfter() != -1);
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("chunk collector: {}", e.toString());
    }
  }

  private boolean ready(String group, long now) {
    Backoff b = failing.get(group);
    return b == null || now - b.nextNanos >= 0;
  }

  /** Deletes the picked chunks on their daemons; a group's first failure skips its other chunks this round. */
  private List<Long> deleteAll(OrphanChunks.Pick pick) {
    List<Long> done = new ArrayList<>();
    Set<String> failedNow = new HashSet<>();
    Set<String> worked = new HashSet<>();
    for (OrphanChunks.Orphan o : pick.orphans()) {
      String group = o.groupId();
      if (failedNow.contains(group)) {
        continue;
      }
      io.shoalfs.proto.meta.StorageGroup members = pick.groups().get(group);
      if (members == null || members.getMembersCount() == 0) {
        failed(group, "no storage daemon is registered for it");
        failedNow.add(group);
        continue;
      }
      try {
        deleter.delete(members, o.chunkId());
        done.add(o.chunkId());
        deleted.incrementAndGet();
        worked.add(group);
      } catch (IOException e) {
        failed(group, e.getMessage());
        failedNow.add(group);
      }
    }
    for (String group : worked) {
      if (!failedNow.contains(group) && failing.remove(group) != null) {
        LOG.info("chunk collector: storage group {} deletes chunks again", group);
      }
    }
    return done;
  }

  private void failed(String group, String why) {
    Backoff b = failing.computeIfAbsent(group, g -> new Backoff());
    b.failures++;
    long delay = tuning.backoffMin().toNanos() << Math.min(b.failures - 1, 20);
    b.nextNanos = System.nanoTime() + Math.min(delay, tuning.backoffMax().toNanos());
    if (b.failures == 1) {
      LOG.warn("chunk collector: cannot delete chunks in storage group {} ({}); its orphan chunks stay and are "
          + "retried with a back-off of up to {} s", group, why, tuning.backoffMax().toSeconds());
    }
  }

  private void propose(List<Long> ids, boolean more) {
    MetaRequest req = MetaRequest.newBuilder()
        .setReleaseOrphans(ReleaseOrphansRequest.newBuilder().addAllChunkIds(ids)).build();
    inFlight.set(true);
    submitter.submitInternal(req).whenComplete((reply, err) -> {
      inFlight.set(false);
      if (err != null || reply.getCode() != Code.OK) {
        // The chunks are deleted already; the rows stay and the next round deletes (idempotently) and
        // releases them again.
        LOG.warn("chunk collector: releasing {} orphan rows failed: {}", ids.size(), err != null ? err.toString()
            : reply.getCode() + " " + reply.getMessage());
        return;
      }
      if (!reply.getMessage().isEmpty()) {
        LOG.error("chunk collector: BUG: deleted chunks that the state machine says are referenced: {}",
            reply.getMessage());
      }
      released.addAndGet(ids.size());
      if (more) {
        try {
          timer.execute(this::tick);
        } catch (RejectedExecutionException e) {
          // closing
        }
      }
    });
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    deleter.close();
  }
}
