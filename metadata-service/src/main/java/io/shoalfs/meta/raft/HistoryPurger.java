package io.shoalfs.meta.raft;

import io.shoalfs.meta.core.Snapshots;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.PurgeHistoryRequest;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The leader's history purge: a snapshot delete drops what it can in its own entry (bounded); when history no
 * snapshot needs remains (purge_pending on the volume), the leader proposes purge_history entries, one at a time,
 * on the session timer's tick, until none is pending. Eventual, bounded per entry, and deterministic (the entry
 * decides what to drop from the state alone).
 */
public final class HistoryPurger {
  private static final Logger LOG = LoggerFactory.getLogger(HistoryPurger.class);
  private final RaftServer server;
  private final RaftGroupId groupId;
  private final MetaStateMachine sm;
  private final MetaSubmitter submitter;
  private final AtomicBoolean inFlight = new AtomicBoolean();

  public HistoryPurger(RaftServer server, RaftGroupId groupId, MetaStateMachine sm, MetaSubmitter submitter) {
    this.server = server;
    this.groupId = groupId;
    this.sm = sm;
    this.submitter = submitter;
  }

  /** One look, on the timer thread: proposes one purge entry if this replica leads and a volume needs it. */
  public void tick() {
    try {
      DivisionInfo info = server.getDivision(groupId).getInfo();
      if (!info.isLeader() || !info.isLeaderReady() || inFlight.get()) {
        return;
      }
      Long root = sm.readState(Snapshots::pendingPurge);
      if (root == null || root == 0) {
        return;
      }
      inFlight.set(true);
      submitter.submitInternal(MetaRequest.newBuilder().setPurgeHistory(PurgeHistoryRequest.newBuilder()
          .setVolumeRoot(root)).build()).whenComplete((reply, err) -> {
            inFlight.set(false);
            if (err != null || reply.getCode() != Code.OK) {
              LOG.warn("history purge of volume {} failed: {}", root, err != null ? err.toString()
                  : reply.getCode() + " " + reply.getMessage());
            }
          });
    } catch (java.io.IOException | RuntimeException e) {
      LOG.warn("history purge: {}", e.toString());
    }
  }
}
