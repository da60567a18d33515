package io.shoalfs.meta.raft;

import io.shoalfs.meta.core.Sessions;
import io.shoalfs.proto.meta.ExpireSessionsRequest;
import io.shoalfs.proto.meta.MetaRequest;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's session timer: every {@link #PERIOD} it looks for sessions whose lease ran out and proposes an
 * ExpireSessions entry for them (apply checks again against the entry's own clock, so the outcome does not
 * depend on this timer). It runs on every replica and acts only while its replica is the ready leader.
 *
 * <p>A new leader does not expire anybody for one lease after it became leader: while there was no leader
 * nobody could renew. That grace lives only in this leader's memory; the entry itself stays deterministic.
 * Each tick also runs {@code onTick} (the watch service ends its streams when this replica is no longer
 * leader, and the streams of sessions that ended).
 */
public final class SessionReaper implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SessionReaper.class);
  /** How often the leader looks for expired sessions: a dead client's locks go within lease + this. */
  public static final Duration PERIOD = Duration.ofMillis(500);

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final MetaStateMachine sm;
  private final Runnable onTick;
  private final ScheduledExecutorService timer;
  private final AtomicLong callIds = new AtomicLong(1);
  /** One expiry proposal at a time: a slow log must not pile them up. */
  private final AtomicBoolean inFlight = new AtomicBoolean();
  private long leaderTerm = -1;
  private long leaderSinceNs;

  private SessionReaper(RaftServer server, RaftGroupId groupId, MetaStateMachine sm, Runnable onTick) {
    this.server = server;
    this.groupId = groupId;
    this.sm = sm;
    this.onTick = onTick;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "session-reaper");
      t.setDaemon(true);
      return t;
    });
  }

  public static SessionReaper start(RaftServer server, RaftGroupId groupId, MetaStateMachine sm, Runnable onTick) {
    SessionReaper r = new SessionReaper(server, groupId, sm, onTick);
    r.timer.scheduleWithFixedDelay(r::tick, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    return r;
  }

  private void tick() {
    try {
      onTick.run();
      DivisionInfo info = server.getDivision(groupId).getInfo();
      if (!info.isLeader() || !info.isLeaderReady()) {
        leaderTerm = -1;
        return;
      }
      long now = clockNs();
      if (info.getCurrentTerm() != leaderTerm) {
        leaderTerm = info.getCurrentTerm();
        leaderSinceNs = now;
        LOG.info("leader of term {}: sessions get a grace of {} before expiry", leaderTerm, Sessions.LEASE);
        return;
      }
      if (inFlight.get()) {
        return;
      }
      long grace = leaderSinceNs;
      List<Long> ids = sm.readState(tx -> Sessions.expired(tx, now, grace, Sessions.MAX_EXPIRE_PER_ENTRY));
      if (ids == null || ids.isEmpty()) {
        return;
      }
      propose(ids);
    } catch (IOException | RuntimeException e) {
      LOG.warn("session timer: {}", e.toString());
    }
  }

  private void propose(List<Long> ids) throws IOException {
    MetaRequest req = MetaRequest.newBuilder()
        .setExpireSessions(ExpireSessionsRequest.newBuilder().addAllSessionIds(ids)).build();
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(sm.internalClientId())
        .setServerId(server.getId())
        .setGroupId(groupId)
        .setCallId(callIds.getAndIncrement())
        .setMessage(Message.valueOf(UnsafeByteOperations.unsafeWrap(req.toByteArray())))
        .setType(RaftClientRequest.writeRequestType())
        .build();
    LOG.info("expiring sessions {} (no renewal within {})", ids, Sessions.LEASE);
    inFlight.set(true);
    server.submitClientRequestAsync(request).whenComplete((reply, err) -> {
      inFlight.set(false);
      if (err != null || !reply.isSuccess()) {
        LOG.warn("expiry of sessions {} failed: {}", ids, err != null ? err.toString() : reply.getException());
      }
    });
  }

  private static long clockNs() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    try {
      timer.awaitTermination(2, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
