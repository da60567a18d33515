package io.shoalfs.meta.raft;

import com.google.protobuf.ByteString;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReplicaStatus;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.ratis.protocol.ClientId;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Submits client calls to the local Raft server and turns every outcome into a {@link MetaReply} code.
 *
 * <p>Writes: only the leader takes them, into {@link GroupCommit}; a follower answers NOT_LEADER with the
 * leader's client address (UNAVAILABLE while none is known). Reads: any replica that knows a leader serves them
 * as Ratis linearizable reads (read index; on the leader within its lease without a round trip), so reads need
 * not all go to the leader. Every call gets an answer within {@code callTimeout}.
 */
public final class MetaSubmitter implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetaSubmitter.class);
  /** Completing replies off the apply thread: one thread; the queue is bounded by the entries in flight. */
  private static final int REPLY_QUEUE = 1024;

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final Map<String, HostPort> peers;
  private final Duration callTimeout;
  private final ThreadPoolExecutor replies;
  private final GroupCommit groupCommit;
  /** Reads are submitted under this replica's own Ratis client id; call ids only need to differ. */
  private final ClientId readerId = ClientId.randomId();
  private final java.util.concurrent.atomic.AtomicLong readCalls = new java.util.concurrent.atomic.AtomicLong();

  public MetaSubmitter(RaftServer server, RaftGroupId groupId, MetaStateMachine stateMachine,
      Map<String, HostPort> peers, Duration callTimeout, GroupCommit.Limits limits) {
    this.server = server;
    this.groupId = groupId;
    this.peers = Map.copyOf(peers);
    this.callTimeout = callTimeout;
    this.replies = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(REPLY_QUEUE),
        r -> Thread.ofPlatform().daemon().name("meta-replies").unstarted(r), new ThreadPoolExecutor.CallerRunsPolicy());
    this.groupCommit = new GroupCommit(server, groupId, stateMachine, limits, replies, this::fromException);
  }

  /**
   * The client id of this replica's own proposals (session expiry). Random per process and never sent out, so
   * no client can use it: a client's ExpireSessions gets EPERM in {@link #route}.
   */
  private final ByteString internalClientId = randomClientId();
  private final java.util.concurrent.atomic.AtomicLong internalCalls = new java.util.concurrent.atomic.AtomicLong();

  private static ByteString randomClientId() {
    byte[] id = new byte[ClientCalls.CLIENT_ID_BYTES];
    new java.security.SecureRandom().nextBytes(id);
    return ByteString.copyFrom(id);
  }

  /**
   * A write proposed by this replica itself (the leader's session timer, the chunk collector); always completes
   * normally. Serialized, so the calls reach the write queue in call-id order: each acknowledges the ones before
   * it, which a call overtaken by a later one would turn into "acknowledged already" instead of applying it.
   */
  public CompletableFuture<MetaReply> submitInternal(MetaRequest request) {
    synchronized (internalCalls) {
      long id = internalCalls.incrementAndGet();
      return submit(MetaCall.newBuilder().setClientId(internalClientId).setCallId(id).setAckedCallId(id - 1)
          .setRequest(request).build());
    }
  }

  /** The reply to one client call; always completes normally. */
  public CompletableFuture<MetaReply> submit(MetaCall call) {
    CompletableFuture<MetaReply> reply;
    try {
      reply = route(call);
    } catch (FsError e) {
      reply = CompletableFuture.completedFuture(e.toReply());
    } catch (RuntimeException | IOException e) {
      reply = CompletableFuture.completedFuture(fromException(e));
    }
    return reply.orTimeout(callTimeout.toMillis(), TimeUnit.MILLISECONDS).exceptionally(this::fromException);
  }

  public GroupCommit groupCommit() {
    return groupCommit;
  }

  private CompletableFuture<MetaReply> route(MetaCall call) throws FsError, IOException {
    if (call.getClientId().size() != ClientCalls.CLIENT_ID_BYTES) {
      throw new FsError(Code.EINVAL, "client_id must be " + ClientCalls.CLIENT_ID_BYTES + " bytes");
    }
    MetaRequest.OpCase op = call.getRequest().getOpCase();
    if (op == MetaRequest.OpCase.OP_NOT_SET) {
      throw new FsError(Code.EINVAL, "request has no operation");
    }
    if (op == MetaRequest.OpCase.EXPIRE_SESSIONS && !internalClientId.equals(call.getClientId())) {
      throw new FsError(Code.EPERM, "sessions are expired by the leader only");
    }
    if (op == MetaRequest.OpCase.RELEASE_ORPHANS && !internalClientId.equals(call.getClientId())) {
      throw new FsError(Code.EPERM, "orphan chunks are released by the leader's collector only");
    }
    if (op == MetaRequest.OpCase.FORM_STORAGE_GROUP && !internalClientId.equals(call.getClientId())) {
      throw new FsError(Code.EPERM, "storage groups are formed by the leader only");
    }
    if (op == MetaRequest.OpCase.PURGE_HISTORY && !internalClientId.equals(call.getClientId())) {
      throw new FsError(Code.EPERM, "snapshot history is purged by the leader only");
    }
    DivisionInfo info = server.getDivision(groupId).getInfo();
    if (MetaOps.isRead(op)) {
      if (info.getLeaderId() == null) {
        return CompletableFuture.completedFuture(notLeader(null));
      }
      RaftClientRequest request = RaftClientRequest.newBuilder()
          .setClientId(readerId).setServerId(server.getId()).setGroupId(groupId)
          .setCallId(readCalls.incrementAndGet()).setMessage(new LocalMessages.Read(call.getRequest(), call.getSessionId()))
          .setType(RaftClientRequest.readRequestType()).build();
      return server.submitClientRequestAsync(request).thenApply(this::fromReadReply);
    }
    if (!info.isLeader()) {
      return CompletableFuture.completedFuture(notLeader(info.getLeaderId()));
    }
    return groupCommit.submit(call);
  }

  /** This replica's own view, from its Raft division: no log entry, no leader needed. */
  public ReplicaStatus status() {
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
    return status.build();
  }

  private MetaReply notLeader(RaftPeerId leader) {
    HostPort raft = leader == null ? null : peers.get(leader.toString());
    if (raft == null) {
      return MetaReply.newBuilder().setCode(Code.UNAVAILABLE).setMessage("no leader elected yet").build();
    }
    return MetaReply.newBuilder().setCode(Code.NOT_LEADER).setMessage("not the leader")
        .setLeaderHint(MetaAddresses.clientAddress(raft).toString()).build();
  }

  private MetaReply fromReadReply(RaftClientReply reply) {
    if (!reply.isSuccess()) {
      return fromException(reply.getException());
    }
    if (reply.getMessage() instanceof LocalMessages.Reply r) {
      return r.reply;
    }
    try {
      return MetaReply.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      return MetaReply.newBuilder().setCode(Code.EIO).setMessage("unreadable reply: " + e.getMessage()).build();
    }
  }

  /** Maps whatever went wrong to a code: domain errors keep theirs, Raft conditions are retryable. */
  MetaReply fromException(Throwable t) {
    Throwable e = t;
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
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
    if (isTransport(e)) {
      // A follower's read index asks the leader over Ratis's own gRPC: a leader just killed answers with a
      // transport error until this replica notices and an election runs. The caller retries elsewhere.
      return MetaReply.newBuilder().setCode(Code.UNAVAILABLE).setMessage("leader unreachable: " + e.getMessage())
          .build();
    }
    LOG.warn("unexpected failure serving a metadata call", e);
    return MetaReply.newBuilder().setCode(Code.EIO).setMessage(String.valueOf(e)).build();
  }

  /** A Ratis transport failure (its shaded gRPC status, or an I/O error underneath). */
  static boolean isTransport(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof org.apache.ratis.thirdparty.io.grpc.StatusRuntimeException || c instanceof IOException) {
        return true;
      }
      if (c.getCause() == c) {
        break;
      }
    }
    return false;
  }

  @Override
  public void close() {
    groupCommit.close();
    replies.shutdown();
  }
}
