package io.shoalfs.meta.grpc;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.meta.core.Sessions;
import io.shoalfs.meta.raft.MetaStateMachine;
import io.shoalfs.proto.meta.WatchEvent;
import io.shoalfs.proto.meta.WatchRequest;
import io.shoalfs.proto.records.SessionRecord;
import java.io.IOException;
import java.util.Map;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;

/**
 * The Watch RPC (DESIGN decision 7): a server stream of one session's cache-coherence events, served by the
 * leader only. A replica that is not the leader ends the stream at once with FAILED_PRECONDITION and the
 * description {@code "NOT_LEADER HOST:PORT"} (the leader's client address, if known), or UNAVAILABLE while no
 * leader is known; an unknown session ends it with NOT_FOUND ({@code "ESTALE ..."}). The first event of every
 * stream is Resync. When the replica loses leadership, or the session ends, its streams end the same way
 * (checked every {@code SessionReaper.PERIOD}).
 */
public final class WatchService {
  /** Prefix of the status description with which a non-leader ends a watch; the client parses it. */
  public static final String NOT_LEADER = "NOT_LEADER";

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final Map<String, HostPort> peers;
  private final MetaStateMachine sm;
  private final WatchHub hub = new WatchHub();

  public WatchService(RaftServer server, RaftGroupId groupId, Map<String, HostPort> peers, MetaStateMachine sm) {
    this.server = server;
    this.groupId = groupId;
    this.peers = Map.copyOf(peers);
    this.sm = sm;
    sm.setChangeListener(hub);
  }

  /** The Watch RPC. */
  public void watch(WatchRequest request, StreamObserver<WatchEvent> out) {
    ServerCallStreamObserver<WatchEvent> call = (ServerCallStreamObserver<WatchEvent>) out;
    Status notServing = notServing();
    if (notServing != null) {
      call.onError(notServing.asRuntimeException());
      return;
    }
    SessionRecord s = sm.readState(tx -> Sessions.find(tx, request.getSessionId()));
    if (s == null) {
      call.onError(Status.NOT_FOUND.withDescription("ESTALE no session " + request.getSessionId())
          .asRuntimeException());
      return;
    }
    hub.add(request.getSessionId(), s.getScopeRoot(), call);
  }

  /** Periodic (the session timer): ends streams on a replica that is no longer leader, and of ended sessions. */
  public void check() {
    if (hub.size() == 0) {
      return;
    }
    Status notServing = notServing();
    if (notServing != null) {
      hub.endAll(notServing);
      return;
    }
    hub.endIf(id -> sm.readState(tx -> Sessions.find(tx, id)) == null);
  }

  /** Open streams on this replica (diagnostics and tests). */
  public int streams() {
    return hub.size();
  }

  private Status notServing() {
    DivisionInfo info;
    try {
      info = server.getDivision(groupId).getInfo();
    } catch (IOException e) {
      return Status.UNAVAILABLE.withDescription("no Raft division: " + e.getMessage());
    }
    if (info.isLeader()) {
      // A new leader serves once it applied its term's first entry: before, it may not know a session yet
      // and would wrongly tell the client that its session is gone.
      return info.isLeaderReady() ? null : Status.UNAVAILABLE.withDescription("leader not ready yet");
    }
    RaftPeerId leader = info.getLeaderId();
    HostPort raft = leader == null ? null : peers.get(leader.toString());
    if (raft == null) {
      return Status.UNAVAILABLE.withDescription("no leader elected yet");
    }
    return Status.FAILED_PRECONDITION.withDescription(NOT_LEADER + " " + MetaAddresses.clientAddress(raft));
  }
}
