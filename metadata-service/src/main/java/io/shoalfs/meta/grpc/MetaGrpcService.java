package io.shoalfs.meta.grpc;

import io.grpc.stub.StreamObserver;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MetaServiceGrpc;
import io.shoalfs.proto.meta.ReplicaStatus;
import io.shoalfs.proto.meta.ReplicaStatusRequest;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.protocol.exceptions.RaftException;
import org.apache.ratis.protocol.exceptions.StateMachineException;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client-facing MetaService: turns a {@link MetaCall} into a Ratis client request and submits it to the
 * local Raft server (as Apache Ozone's OzoneManagerRatisServer does), then maps the outcome to a
 * {@link MetaReply} code. The client id and call id of the MetaCall become Ratis's, so the retry cache answers
 * a retried write with the first reply instead of applying it again, on any replica that became leader.
 * Reads go as linearizable read requests (ReadIndex, leader lease). Only the leader serves; others answer
 * NOT_LEADER with the leader's client address, or UNAVAILABLE while no leader is known. Every failure becomes a
 * code: the gRPC status is always OK.
 */
public final class MetaGrpcService extends MetaServiceGrpc.MetaServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(MetaGrpcService.class);
  private static final int CLIENT_ID_BYTES = 16;

  private final RaftServer server;
  private final RaftGroupId groupId;
  /** peer id -> Raft address, to turn a leader id into the leader's client address. */
  private final Map<String, HostPort> peers;
  /** Bounds each call below the client's own attempt timeout, so the client sees a code, not a deadline. */
  private final Duration callTimeout;

  /** meta-sessions: serves the Watch RPC; null = UNIMPLEMENTED. */
  private volatile WatchService watch;

  /** meta-sessions: the Watch RPC goes to {@code w}. */
  public MetaGrpcService serveWatch(WatchService w) {
    this.watch = w;
    return this;
  }

  /** meta-sessions: the cache-coherence stream of one session (see {@link WatchService}). */
  @Override
  public void watch(io.shoalfs.proto.meta.WatchRequest request, StreamObserver<io.shoalfs.proto.meta.WatchEvent> out) {
    WatchService w = watch;
    if (w == null) {
      super.watch(request, out);
    } else {
      w.watch(request, out);
    }
  }

  public MetaGrpcService(RaftServer server, RaftGroupId groupId, Map<String, HostPort> peers, Duration callTimeout) {
    this.server = server;
    this.groupId = groupId;
    this.peers = Map.copyOf(peers);
    this.callTimeout = callTimeout;
  }

  @Override
  public void call(MetaCall call, StreamObserver<MetaReply> out) {
    CompletableFuture<MetaReply> reply;
    try {
      reply = submit(call);
    } catch (FsError e) {
      reply = CompletableFuture.completedFuture(e.toReply());
    } catch (RuntimeException | IOException e) {
      reply = CompletableFuture.completedFuture(fromException(e));
    }
    reply.orTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(this::fromException)
        .thenAccept(r -> {
          out.onNext(r);
          out.onCompleted();
        });
  }

  /** This replica's own view, from its Raft division: no log entry, no leader needed. */
  @Override
  public void getReplicaStatus(ReplicaStatusRequest request, StreamObserver<ReplicaStatus> out) {
    ReplicaStatus.Builder status = ReplicaStatus.newBuilder().setId(server.getId().toString());
    try {
      DivisionInfo info = server.getDivision(groupId).getInfo();
      RaftPeerId leader = info.getLeaderId();
      status.setRole(String.valueOf(info.getCurrentRole())).setLeaderId(leader == null ? "" : leader.toString())
          .setTerm(info.getCurrentTerm()).setAppliedIndex(Math.max(0, info.getLastAppliedIndex()))
          .setAlive(info.isAlive());
    } catch (IOException e) {
      status.setRole("UNKNOWN").setAlive(false);
    }
    out.onNext(status.build());
    out.onCompleted();
  }

  private CompletableFuture<MetaReply> submit(MetaCall call) throws FsError, IOException {
    if (call.getClientId().size() != CLIENT_ID_BYTES) {
      throw new FsError(Code.EINVAL, "client_id must be " + CLIENT_ID_BYTES + " bytes");
    }
    MetaRequest.OpCase op = call.getRequest().getOpCase();
    if (op == MetaRequest.OpCase.OP_NOT_SET) {
      throw new FsError(Code.EINVAL, "request has no operation");
    }
    MetaReply notServing = checkLeader();
    if (notServing != null) {
      return CompletableFuture.completedFuture(notServing);
    }
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(ClientId.valueOf(UnsafeByteOperations.unsafeWrap(call.getClientId().toByteArray())))
        .setServerId(server.getId())
        .setGroupId(groupId)
        .setCallId(call.getCallId())
        .setMessage(Message.valueOf(UnsafeByteOperations.unsafeWrap(call.getRequest().toByteArray())))
        .setType(MetaOps.isRead(op) ? RaftClientRequest.readRequestType() : RaftClientRequest.writeRequestType())
        .build();
    return server.submitClientRequestAsync(request).thenApply(this::fromRaftReply);
  }

  /** NOT_LEADER / UNAVAILABLE if this replica must not serve, else null. */
  private MetaReply checkLeader() throws IOException {
    DivisionInfo info = server.getDivision(groupId).getInfo();
    if (info.isLeader()) {
      return null;
    }
    return notLeader(info.getLeaderId());
  }

  private MetaReply notLeader(RaftPeerId leader) {
    HostPort raft = leader == null ? null : peers.get(leader.toString());
    if (raft == null) {
      return MetaReply.newBuilder().setCode(Code.UNAVAILABLE).setMessage("no leader elected yet").build();
    }
    return MetaReply.newBuilder().setCode(Code.NOT_LEADER).setMessage("not the leader")
        .setLeaderHint(MetaAddresses.clientAddress(raft).toString()).build();
  }

  private MetaReply fromRaftReply(RaftClientReply reply) {
    if (reply.isSuccess()) {
      try {
        return MetaReply.parseFrom(reply.getMessage().getContent().toByteArray());
      } catch (com.google.protobuf.InvalidProtocolBufferException e) {
        return MetaReply.newBuilder().setCode(Code.EIO).setMessage("unreadable reply: " + e.getMessage()).build();
      }
    }
    return fromException(reply.getException());
  }

  /** Maps whatever went wrong to a code: domain errors keep theirs, Raft conditions are retryable. */
  private MetaReply fromException(Throwable t) {
    Throwable e = t;
    while ((e instanceof CompletionException || e instanceof java.util.concurrent.ExecutionException)
        && e.getCause() != null) {
      e = e.getCause();
    }
    if (e instanceof StateMachineException sme && sme.getCause() instanceof FsError fe) {
      return fe.toReply();
    }
    if (e instanceof FsError fe) {
      return fe.toReply();
    }
    if (e instanceof NotLeaderException nle) {
      RaftPeer suggested = nle.getSuggestedLeader();
      return notLeader(suggested == null ? null : suggested.getId());
    }
    if (e instanceof TimeoutException) {
      return MetaReply.newBuilder().setCode(Code.UNAVAILABLE)
          .setMessage("no answer within " + callTimeout.toMillis() + " ms").build();
    }
    if (e instanceof StateMachineException) {
      LOG.warn("state machine failure: {}", e.toString());
      return MetaReply.newBuilder().setCode(Code.EIO).setMessage(String.valueOf(e.getMessage())).build();
    }
    if (e instanceof RaftException || e instanceof IOException) {
      // Leader not ready, stepping down, read index failure, closed server, not replicated...: retry later.
      return MetaReply.newBuilder().setCode(Code.UNAVAILABLE).setMessage(e.getClass().getSimpleName() + ": "
          + e.getMessage()).build();
    }
    LOG.warn("unexpected failure serving a metadata call", e);
    return MetaReply.newBuilder().setCode(Code.EIO).setMessage(String.valueOf(e)).build();
  }
}
