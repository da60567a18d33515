package io.shoalfs.client;

import com.google.protobuf.ByteString;
import io.grpc.ConnectivityState;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.proto.meta.*;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to the metadata service: tries every listed replica, learns the leader from NOT_LEADER hints, retries
 * through leader changes.
 *
 * <p>Every logical call gets one {@code call_id}; retries reuse it, so the service's exactly-once table applies a
 * create, rename or unlink once even when the reply was lost (also across a leader change or a restart of every
 * replica). Each call also carries the highest call id below which every call of this client got its reply, so
 * the service can forget those records.
 *
 * <p>Bounds: a call gives up after {@code timeout} (60 s from {@link #connect}) while some replica answers (an
 * election, a busy leader), and after {@link #NO_ANSWER_LIMIT} (5 s) when none does, with one line naming every
 * address tried and what it said. One dead or wrong address costs at most one short attempt per call: the next
 * replica is tried at once. grpc-java's own reconnect backoff (up to 2 minutes, notes trap 16) is reset whenever
 * this client is about to try a replica again or is told it leads, so a replica that is back is used at once;
 * the retry pauses here (at most 1 s) bound the rate instead.
 */
public final class MetaClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetaClient.class);

  /**
   * The session every call of this client carries (MetaCall.session_id; the service checks each request against
   * its scope). A mount binds its {@link SessionClient}'s session; a client without a binding (the CLI, the CSI
   * driver, tests) gets an admin session (scope: everything) opened on its first call that needs one, and a new
   * one when that expired (it is not renewed: the next call after a lease of silence opens another).
   */
  public interface SessionBinding {
    /** The session calls carry now. */
    long sessionId();

    /** The service no longer knows {@code lost}: the session to retry with (0 = do not retry). */
    long lost(long lost);
  }

  private volatile SessionBinding binding;
  private volatile long adminSession;
  private final Object adminLock = new Object();
  private static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(3);
  /**
   * A call fails when no replica has answered anything for this long (4 s, so that with the last attempt's
   * slack the caller hears within the promised 5 s).
   */
  public static final Duration NO_ANSWER_LIMIT = Duration.ofSeconds(4);
  /** The longest attempt at a replica that has not answered this client yet (a black-holed address). */
  private static final Duration PROBE_TIMEOUT = Duration.ofMillis(1500);
  private static final long MAX_PAUSE_MS = 1000;

  private final List<HostPort> addresses;
  private final Duration timeout;
  private final boolean readsAnywhere;
  private final ByteString clientId;
  /** Call ids and the calls in flight; the lowest one in flight bounds what this client acknowledges. */
  private final CallIds callIds = new CallIds();
  private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<HostPort, MetaServiceGrpc.MetaServiceBlockingStub> stubs = new ConcurrentHashMap<>();
  private final AtomicLong nextReader = new AtomicLong();
  private volatile HostPort leader;
  private volatile boolean closed;

  /** @param metaAddrs ADDRS as users type it: the replicas' Raft addresses (client port = raft port + 1) */
  public static MetaClient connect(String metaAddrs) {
    return new MetaClient(MetaAddresses.clientAddresses(metaAddrs), Duration.ofSeconds(60));
  }

  public MetaClient(List<HostPort> clientAddresses, Duration timeout) {
    this(clientAddresses, timeout, false);
  }

  /**
   * @param readsAnywhere send reads to every replica in turn (each serves them linearizably through read
   *     index) instead of to the leader alone
   */
  public MetaClient(List<HostPort> clientAddresses, Duration timeout, boolean readsAnywhere) {
    if (clientAddresses.isEmpty()) {
      throw new IllegalArgumentException("no metadata addresses");
    }
    this.addresses = List.copyOf(new LinkedHashSet<>(clientAddresses));
    this.timeout = timeout;
    this.readsAnywhere = readsAnywhere;
    UUID id = UUID.randomUUID();
    this.clientId = ByteString.copyFrom(ByteBuffer.allocate(16)
        .putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits()).array());
    this.leader = addresses.get(0);
  }

  /** Sends one request; returns the reply if its code is OK, else throws with the code. */
  public MetaReply call(MetaRequest request) throws MetaException {
    MetaReply reply = callRaw(request);
    if (reply.getCode() != Code.OK) {
      throw new MetaException(reply.getCode(), reply.getMessage());
    }
    return reply;
  }

  /**
   * Sends one request and returns whatever code it ends with (never NOT_LEADER). A reply saying the call's
   * session is gone is retried once, as a new call, with the session that replaces it (unless the request names
   * that same session inside it: its caller owns the session and must hear that it is gone).
   */
  public MetaReply callRaw(MetaRequest request) throws MetaException {
    MetaRequest.OpCase op = request.getOpCase();
    long start = System.nanoTime();
    long session = sessionFor(op);
    MetaReply reply = callOnce(request, session);
    if (session != 0 && reply.getCode() == Code.ESTALE && reply.getMessage().startsWith("no session " + session + " ")
        && namedSession(request) != session) {
      long next = replaceSession(session);
      if (next != 0 && next != session) {
        reply = callOnce(request, next);
      }
    }
    io.shoalfs.common.metrics.MeterGroup m = metrics;
    if (m != null) {
      m.requests("shoal.client.meta.requests", "metadata calls of this client by operation, retries included",
          op.name().toLowerCase(java.util.Locale.ROOT)).record(System.nanoTime() - start,
          java.util.concurrent.TimeUnit.NANOSECONDS);
    }
    return reply;
  }

  private volatile io.shoalfs.common.metrics.MeterGroup metrics;

  /** Times every call per operation in {@code shoal_client_meta_requests_seconds{op}} (a mount's view). */
  public void timedBy(io.shoalfs.common.metrics.MeterGroup m) {
    metrics = m;
  }

  private MetaReply callOnce(MetaRequest request, long session) throws MetaException {
    long callId = callIds.begin();
    try {
      return send(callId, request, session);
    } finally {
      callIds.end(callId);
    }
  }

  /** Calls carry {@code b}'s session from now on (a mount's {@link SessionClient}); null: back to admin. */
  public void bindSession(SessionBinding b) {
    binding = b;
  }

  /** Removes {@code b} if it is the binding (a closed SessionClient). */
  public void unbindSession(SessionBinding b) {
    if (binding == b) {
      binding = null;
    }
  }

  /** The session the next call of {@code op} would carry (0: none), opening an admin session if needed. */
  private long sessionFor(MetaRequest.OpCase op) throws MetaException {
    if (!needsSession(op)) {
      return 0;
    }
    SessionBinding b = binding;
    if (b != null) {
      return b.sessionId();
    }
    long s = adminSession;
    return s != 0 ? s : openAdminSession(0);
  }

  private long replaceSession(long lost) throws MetaException {
    SessionBinding b = binding;
    if (b != null) {
      return b.lost(lost);
    }
    return openAdminSession(lost);
  }

  /** Opens an admin session unless another thread replaced {@code stale} already. */
  private long openAdminSession(long stale) throws MetaException {
    synchronized (adminLock) {
      if (adminSession != 0 && adminSession != stale) {
        return adminSession;
      }
      MetaReply r = callOnce(MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder()
          .setClientName("admin:" + ProcessHandle.current().pid()).setScopeRoot(0)).build(), 0);
      if (r.getCode() != Code.OK) {
        throw new MetaException(r.getCode(), "opening an admin session: " + r.getMessage());
      }
      adminSession = r.getSession().getSessionId();
      return adminSession;
    }
  }

  /** The calls the service takes without a session (see metadata-service core Scope). */
  private static boolean needsSession(MetaRequest.OpCase op) {
    return switch (op) {
      case OPEN_SESSION, RENEW_SESSION, CLOSE_SESSION, EXPIRE_SESSIONS, GET_LAYOUT, REGISTER_DAEMON,
           CREATE_SUBVOLUME, DELETE_SUBVOLUME, GET_SUBVOLUME, LIST_SUBVOLUMES, RESIZE_SUBVOLUME -> false;
      default -> true;
    };
  }

  /** The session a request names inside it (opens, locks), or 0. */
  private static long namedSession(MetaRequest r) {
    return switch (r.getOpCase()) {
      case OPEN_FILE -> r.getOpenFile().getSessionId();
      case CLOSE_FILE -> r.getCloseFile().getSessionId();
      case SET_LOCK -> r.getSetLock().getLock().getSessionId();
      case CANCEL_LOCK -> r.getCancelLock().getSessionId();
      case RELEASE_LOCKS -> r.getReleaseLocks().getSessionId();
      case CREATE -> r.getCreate().getOpenSession();
      default -> 0;
    };
  }

  /** The 16-byte id this client's calls carry (exactly-once is per client id and call id). */
  public ByteString clientId() {
    return clientId;
  }

  private MetaReply send(long callId, MetaRequest request, long session) throws MetaException {
    boolean read = readsAnywhere && isRead(request.getOpCase());
    HostPort target = read ? addresses.get((int) Math.floorMod(nextReader.getAndIncrement(), addresses.size()))
        : leader;
    // The clocks start once the first channel exists: building one loads gRPC and Netty classes, which on a
    // loaded machine alone can take seconds and says nothing about the replicas.
    channel(target);
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    long lastAnswer = start;
    Map<HostPort, String> tried = new LinkedHashMap<>();
    int attempt = 0;
    while (true) {
      if (closed) {
        throw new MetaException(Code.UNAVAILABLE, "metadata client closed");
      }
      channel(target);
      long now = System.nanoTime();
      // Silence of every replica fails the call, but only once each listed address had its attempt.
      if (now - lastAnswer >= NO_ANSWER_LIMIT.toNanos() && tried.keySet().containsAll(addresses)) {
        throw gaveUp(String.format("no metadata replica answered within %.1f s", (now - start) / 1e9), tried);
      }
      if (now >= deadline) {
        throw gaveUp("metadata call gave up after " + timeout.toSeconds() + " s", tried);
      }
      attempt++;
      long budget = Math.min(ATTEMPT_TIMEOUT.toNanos(), deadline - now);
      if (channel(target).getState(false) != ConnectivityState.READY) {
        // Not connected: a short attempt, so a black-holed address costs little; a connected replica that is
        // slow gets the full attempt timeout.
        budget = Math.min(budget, Math.max(PROBE_TIMEOUT.toNanos() / 3,
            Math.min(PROBE_TIMEOUT.toNanos(), lastAnswer + NO_ANSWER_LIMIT.toNanos() - now)));
      }
      MetaCall call = MetaCall.newBuilder().setClientId(clientId).setCallId(callId).setAckedCallId(callIds.acked())
          .setSessionId(session).setRequest(request).build();
      try {
        MetaReply reply = stub(target).withDeadlineAfter(budget, TimeUnit.NANOSECONDS).call(call);
        lastAnswer = System.nanoTime();
        switch (reply.getCode()) {
          case NOT_LEADER -> {
            tried.put(target, "not the leader");
            target = reply.getLeaderHint().isEmpty() ? next(target) : hinted(reply.getLeaderHint(), target);
          }
          case UNAVAILABLE -> {
            tried.put(target, reply.getMessage());
            target = next(target);
            pause(attempt, lastAnswer + NO_ANSWER_LIMIT.toNanos());
          }
          default -> {
            if (!read) {
              leader = target;
            }
            return reply;
          }
        }
      } catch (StatusRuntimeException e) {
        Status.Code c = e.getStatus().getCode();
        if (c == Status.Code.CANCELLED && Thread.currentThread().isInterrupted()) {
          // gRPC cancels a blocking call of an interrupted thread; retrying would only be cancelled again.
          throw new MetaException(Code.EINTR, "interrupted while calling " + target);
        }
        if (c != Status.Code.UNAVAILABLE && c != Status.Code.DEADLINE_EXCEEDED && c != Status.Code.CANCELLED
            && c != Status.Code.UNKNOWN && c != Status.Code.RESOURCE_EXHAUSTED) {
          throw new MetaException(Code.EIO, target + ": " + e.getStatus());
        }
        if (c == Status.Code.RESOURCE_EXHAUSTED) {
          lastAnswer = System.nanoTime(); // it is alive, only busy
        }
        tried.put(target, describe(e));
        target = next(target);
        if (c == Status.Code.RESOURCE_EXHAUSTED || attempt % addresses.size() == 0) {
          pause(attempt / addresses.size() + 1, lastAnswer + NO_ANSWER_LIMIT.toNanos());
        }
      }
    }
  }

  private MetaException gaveUp(String why, Map<HostPort, String> tried) {
    StringBuilder b = new StringBuilder(why).append("; tried");
    for (HostPort a : addresses) {
      b.append(' ').append(a).append(" (").append(oneLine(tried.getOrDefault(a, "not tried"))).append(')');
    }
    for (Map.Entry<HostPort, String> t : tried.entrySet()) {
      if (!addresses.contains(t.getKey())) {
        b.append(' ').append(t.getKey()).append(" (").append(oneLine(t.getValue())).append(')');
      }
    }
    LOG.warn("{}", b);
    return new MetaException(Code.UNAVAILABLE, b.toString());
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s+", " ").trim();
  }

  /** The leader a replica named; its reconnect backoff is reset, since it was just reported alive. */
  private HostPort hinted(String hint, HostPort current) {
    try {
      HostPort h = HostPort.parse(hint);
      ManagedChannel ch = channels.get(h);
      if (ch != null) {
        ch.resetConnectBackoff();
      }
      return h;
    } catch (IllegalArgumentException e) {
      return next(current);
    }
  }

  private static boolean isRead(MetaRequest.OpCase op) {
    return switch (op) {
      case LOOKUP, GET_ATTR, READ_DIR, GET_CHUNKS, STAT_FS, GET_LAYOUT, GET_SUBVOLUME, LIST_SUBVOLUMES,
           READ_LINK, GET_XATTR, LIST_XATTR, GET_LOCK, LIST_SNAPSHOTS, GET_SNAPSHOT -> true;
      default -> false;
    };
  }

  /** The replicas' client addresses this client was given. */
  public List<HostPort> addresses() {
    return addresses;
  }

  /** What the replica at {@code clientAddress} reports of itself; asked of that replica alone, no retries. */
  public ReplicaStatus replicaStatus(HostPort clientAddress) throws MetaException {
    try {
      return stub(clientAddress).withDeadlineAfter(STATUS_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .getReplicaStatus(ReplicaStatusRequest.getDefaultInstance());
    } catch (StatusRuntimeException e) {
      throw new MetaException(Code.UNAVAILABLE, clientAddress + ": " + e.getStatus().getCode());
    }
  }

  /**
   * The channel to one replica (shared with this client's calls, closed by {@link #close}), for streams such as
   * Watch ({@code SessionClient}).
   */
  public io.grpc.Channel streamChannel(HostPort clientAddress) {
    return channel(clientAddress);
  }

  private HostPort next(HostPort current) {
    int i = addresses.indexOf(current);
    return addresses.get((i + 1) % addresses.size());
  }

  private static String describe(StatusRuntimeException e) {
    Status st = e.getStatus();
    String d = st.getDescription() == null ? "" : " " + st.getDescription();
    Throwable cause = st.getCause();
    while (cause != null && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return st.getCode() + d + (cause == null || cause.getMessage() == null ? "" : ": " + cause.getMessage());
  }

  /** Sleeps a growing pause, at most 1 s and never past {@code untilNanos}. */
  private static void pause(int attempt, long untilNanos) {
    long ms = Math.min(Math.min(MAX_PAUSE_MS, 50L * attempt), (untilNanos - System.nanoTime()) / 1_000_000);
    if (ms <= 0) {
      return;
    }
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private ManagedChannel channel(HostPort target) {
    return channels.computeIfAbsent(target, a -> io.shoalfs.common.net.Tls.channel(a.host(), a.port())
        .maxInboundMessageSize(GrpcServers.MAX_MESSAGE_BYTES).build());
  }

  private MetaServiceGrpc.MetaServiceBlockingStub stub(HostPort target) {
    ManagedChannel ch = channel(target);
    if (ch.getState(false) == ConnectivityState.TRANSIENT_FAILURE) {
      // Our retry loop paces attempts; gRPC's exponential backoff would keep a replica that is back unused.
      ch.resetConnectBackoff();
    }
    return stubs.computeIfAbsent(target, t -> MetaServiceGrpc.newBlockingStub(ch));
  }

  // ---- conveniences: one per request type, returning the useful part of the reply ----

  public Attr lookup(long parent, String name) throws MetaException {
    return call(req(b -> b.setLookup(LookupRequest.newBuilder().setParent(parent).setName(name)))).getAttr();
  }

  public Attr getAttr(long ino) throws MetaException {
    return call(req(b -> b.setGetAttr(GetAttrRequest.newBuilder().setIno(ino)))).getAttr();
  }

  public ReadDirReply readDir(long ino, String after, int limit) throws MetaException {
    return call(req(b -> b.setReadDir(ReadDirRequest.newBuilder().setIno(ino).setAfter(after).setLimit(limit))))
        .getDir();
  }

  public Attr mkdir(long parent, String name, int mode, int uid, int gid) throws MetaException {
    return call(req(b -> b.setMkdir(MkdirRequest.newBuilder()
        .setParent(parent).setName(name).setMode(mode).setUid(uid).setGid(gid)))).getAttr();
  }

  public Attr create(long parent, String name, int mode, int uid, int gid, boolean exclusive)
      throws MetaException {
    return call(req(b -> b.setCreate(CreateRequest.newBuilder().setParent(parent).setName(name)
        .setMode(mode).setUid(uid).setGid(gid).setExclusive(exclusive)))).getAttr();
  }

  public void unlink(long parent, String name) throws MetaException {
    call(req(b -> b.setUnlink(UnlinkRequest.newBuilder().setParent(parent).setName(name))));
  }

  public void rmdir(long parent, String name) throws MetaException {
    call(req(b -> b.setRmdir(RmdirRequest.newBuilder().setParent(parent).setName(name))));
  }

  public void rename(long srcParent, String srcName, long dstParent, String dstName, int flags)
      throws MetaException {
    call(req(b -> b.setRename(RenameRequest.newBuilder().setSrcParent(srcParent).setSrcName(srcName)
        .setDstParent(dstParent).setDstName(dstName).setFlags(flags))));
  }

  public Attr setAttr(SetAttrRequest request) throws MetaException {
    return call(req(b -> b.setSetAttr(request))).getAttr();
  }

  public List<ChunkRef> getChunks(long ino, int firstIndex, int count) throws MetaException {
    return call(req(b -> b.setGetChunks(GetChunksRequest.newBuilder()
        .setIno(ino).setFirstIndex(firstIndex).setCount(count)))).getChunks().getChunksList();
  }

  public ChunkRef allocChunk(long ino, int index) throws MetaException {
    return call(req(b -> b.setAllocChunk(AllocChunkRequest.newBuilder().setIno(ino).setIndex(index))))
        .getChunks().getChunks(0);
  }

  public Attr commitWrite(long ino, long end, long mtimeNs) throws MetaException {
    return call(req(b -> b.setCommitWrite(CommitWriteRequest.newBuilder()
        .setIno(ino).setEnd(end).setMtimeNs(mtimeNs)))).getAttr();
  }

  public StatFsReply statFs(long rootIno) throws MetaException {
    return call(req(b -> b.setStatFs(StatFsRequest.newBuilder().setRootIno(rootIno)))).getStatFs();
  }

  /** Registers (or re-registers) a storage daemon; the reply names its cluster and gives it the write key. */
  public io.shoalfs.proto.meta.DaemonRegistration registerDaemon(StorageDaemon daemon) throws MetaException {
    return call(req(b -> b.setRegisterDaemon(RegisterDaemonRequest.newBuilder().setDaemon(daemon))))
        .getRegistration();
  }

  public LayoutReply getLayout() throws MetaException {
    return call(req(b -> b.setGetLayout(GetLayoutRequest.getDefaultInstance()))).getLayout();
  }

  /** The layout with each group's chunk count (scans every chunk record: for status, not for data paths). */
  public LayoutReply getLayoutWithChunkCounts() throws MetaException {
    return call(req(b -> b.setGetLayout(GetLayoutRequest.newBuilder().setChunkCounts(true)))).getLayout();
  }

  public Subvolume createSubvolume(String name, long capacityBytes) throws MetaException {
    return call(req(b -> b.setCreateSubvolume(CreateSubvolumeRequest.newBuilder()
        .setName(name).setCapacityBytes(capacityBytes)))).getSubvolume();
  }

  public void deleteSubvolume(String name) throws MetaException {
    deleteSubvolume(name, false);
  }

  /**
   * Deletes a subvolume and everything in it. EBUSY while mount sessions scoped to it are live, unless
   * {@code force}; ENOENT if there is none.
   */
  public void deleteSubvolume(String name, boolean force) throws MetaException {
    call(req(b -> b.setDeleteSubvolume(DeleteSubvolumeRequest.newBuilder().setName(name).setForce(force))));
  }

  /**
   * A subvolume with a byte quota ({@code capacityBytes}; 0 = none, only the pool limits it) and an inode quota
   * ({@code inodesLimit}, the root directory included; 0 = none). Idempotent for the same name and quotas;
   * EEXIST for the same name with other quotas.
   */
  public Subvolume createSubvolume(String name, long capacityBytes, long inodesLimit) throws MetaException {
    return createSubvolume(name, capacityBytes, inodesLimit, 0);
  }

  /** A subvolume whose chunks get {@code replication} copies (1-3; 0 = the cluster's default). */
  public Subvolume createSubvolume(String name, long capacityBytes, long inodesLimit, int replication)
      throws MetaException {
    return call(req(b -> b.setCreateSubvolume(CreateSubvolumeRequest.newBuilder()
        .setName(name).setCapacityBytes(capacityBytes).setInodesLimit(inodesLimit).setReplication(replication))))
        .getSubvolume();
  }

  /**
   * Changes a subvolume's quotas; null leaves one as it is. Returns the subvolume with its usage. A size of 0:
   * EINVAL; below what is used and reserved, or an inode limit below the inodes used: EDQUOT (nothing changes).
   */
  public Subvolume resizeSubvolume(String name, Long capacityBytes, Long inodesLimit) throws MetaException {
    ResizeSubvolumeRequest.Builder r = ResizeSubvolumeRequest.newBuilder().setName(name);
    if (capacityBytes != null) {
      r.setCapacityBytes(capacityBytes);
    }
    if (inodesLimit != null) {
      r.setInodesLimit(inodesLimit);
    }
    return call(req(b -> b.setResizeSubvolume(r))).getSubvolume();
  }

  /**
   * Reserves up to {@code bytes} more of the inode's volume for this client's session (partial grants near the
   * quota); returns the session's whole reservation for the inode. EDQUOT / ENOSPC when nothing is free.
   */
  public long reserve(long ino, long bytes) throws MetaException {
    return call(req(b -> b.setReserve(ReserveRequest.newBuilder().setIno(ino).setBytes(bytes)))).getReservedBytes();
  }

  public Subvolume getSubvolume(String name) throws MetaException {
    return call(req(b -> b.setGetSubvolume(GetSubvolumeRequest.newBuilder().setName(name)))).getSubvolume();
  }

  public List<Subvolume> listSubvolumes() throws MetaException {
    return call(req(b -> b.setListSubvolumes(ListSubvolumesRequest.getDefaultInstance())))
        .getSubvolumes().getSubvolumesList();
  }

  // ---- snapshots and clones (issue 6): O(1), see the metadata service's docs/decisions/0003 ----

  /** Takes snapshot {@code name} of {@code subvolume}; the same name again returns the existing snapshot. */
  public Snapshot createSnapshot(String subvolume, String name) throws MetaException {
    return call(req(b -> b.setCreateSnapshot(CreateSnapshotRequest.newBuilder().setSubvolume(subvolume)
        .setName(name)))).getSnapshot();
  }

  /**
   * Snapshot {@code name} of every subvolume in {@code subvolumes}, atomically in one log entry (one point in time
   * across them; CSI group snapshots). Idempotent per subvolume.
   */
  public List<Snapshot> createGroupSnapshot(List<String> subvolumes, String name) throws MetaException {
    return createGroupSnapshot(subvolumes, name, name);
  }

  /** As above, the member snapshots named {@code name} and recording group {@code group}. */
  public List<Snapshot> createGroupSnapshot(List<String> subvolumes, String name, String group) throws MetaException {
    return call(req(b -> b.setCreateGroupSnapshot(CreateGroupSnapshotRequest.newBuilder().addAllSubvolumes(subvolumes)
        .setName(name).setGroup(group)))).getSnapshots().getSnapshotsList();
  }

  /** Every snapshot of every volume, those of deleted subvolumes included. */
  public List<Snapshot> listAllSnapshots() throws MetaException {
    return call(req(b -> b.setListSnapshots(ListSnapshotsRequest.getDefaultInstance())))
        .getSnapshots().getSnapshotsList();
  }

  /** Deletes a snapshot (ENOENT if absent); its data stays while clones of it exist. */
  public void deleteSnapshot(String subvolume, String name) throws MetaException {
    call(req(b -> b.setDeleteSnapshot(DeleteSnapshotRequest.newBuilder().setSubvolume(subvolume).setName(name))));
  }

  /** Deletes a snapshot of the volume whose root is {@code volumeRoot} (works after the subvolume is deleted). */
  public void deleteSnapshot(long volumeRoot, String name) throws MetaException {
    call(req(b -> b.setDeleteSnapshot(DeleteSnapshotRequest.newBuilder().setVolumeRoot(volumeRoot)
        .setName(name))));
  }

  public List<Snapshot> listSnapshots(String subvolume) throws MetaException {
    return call(req(b -> b.setListSnapshots(ListSnapshotsRequest.newBuilder().setSubvolume(subvolume))))
        .getSnapshots().getSnapshotsList();
  }

  public List<Snapshot> listSnapshots(long volumeRoot) throws MetaException {
    return call(req(b -> b.setListSnapshots(ListSnapshotsRequest.newBuilder().setVolumeRoot(volumeRoot))))
        .getSnapshots().getSnapshotsList();
  }

  public Snapshot getSnapshot(String subvolume, String name) throws MetaException {
    return call(req(b -> b.setGetSnapshot(GetSnapshotRequest.newBuilder().setSubvolume(subvolume).setName(name))))
        .getSnapshot();
  }

  /**
   * A copy-on-write clone {@code name} of {@code source}, as of snapshot {@code snapshot} ("" = the live source);
   * capacity 0 = the source's. The same clone asked for again returns it.
   */
  public Subvolume cloneSubvolume(String source, String name, String snapshot, long capacityBytes)
      throws MetaException {
    return call(req(b -> b.setCloneSubvolume(CloneSubvolumeRequest.newBuilder().setSource(source).setName(name)
        .setSnapshot(snapshot).setCapacityBytes(capacityBytes)))).getSubvolume();
  }

  /** Sends {@code request} as a read of snapshot {@code seq} of volume {@code volumeRoot} (reads only). */
  public MetaReply callAsOf(MetaRequest request, long volumeRoot, long seq) throws MetaException {
    return call(request.toBuilder().setAsOfVolume(volumeRoot).setAsOfSeq(seq).build());
  }

  // ---- POSIX namespace: every file type, links, xattrs, fallocate, sticky-aware removal (issue 5) ----

  /** unlink with the caller's fsuid, for the sticky-directory rule (EPERM). */
  public void unlink(long parent, String name, int callerUid) throws MetaException {
    call(req(b -> b.setUnlink(UnlinkRequest.newBuilder().setParent(parent).setName(name).setCallerUid(callerUid))));
  }

  /** rmdir with the caller's fsuid, for the sticky-directory rule (EPERM). */
  public void rmdir(long parent, String name, int callerUid) throws MetaException {
    call(req(b -> b.setRmdir(RmdirRequest.newBuilder().setParent(parent).setName(name).setCallerUid(callerUid))));
  }

  /** renameat2 with flags (RENAME_NOREPLACE 1, RENAME_EXCHANGE 2) and the caller's fsuid (sticky rule). */
  public void rename(long srcParent, String srcName, long dstParent, String dstName, int flags, int callerUid)
      throws MetaException {
    call(req(b -> b.setRename(RenameRequest.newBuilder().setSrcParent(srcParent).setSrcName(srcName)
        .setDstParent(dstParent).setDstName(dstName).setFlags(flags).setCallerUid(callerUid))));
  }

  public Attr symlink(long parent, String name, byte[] target, int uid, int gid) throws MetaException {
    return call(req(b -> b.setSymlink(SymlinkRequest.newBuilder().setParent(parent).setName(name)
        .setTarget(ByteString.copyFrom(target)).setUid(uid).setGid(gid)))).getAttr();
  }

  public byte[] readLink(long ino) throws MetaException {
    return call(req(b -> b.setReadLink(ReadLinkRequest.newBuilder().setIno(ino)))).getLinkTarget().toByteArray();
  }

  /** A hard link: returns the inode's attributes with the new nlink. */
  public Attr link(long ino, long newParent, String newName) throws MetaException {
    return call(req(b -> b.setLink(LinkRequest.newBuilder().setIno(ino).setNewParent(newParent)
        .setNewName(newName)))).getAttr();
  }

  /** FIFO, SOCKET, CHAR_DEVICE, BLOCK_DEVICE (rdev kept) or REGULAR. */
  public Attr mknod(long parent, String name, FileType type, int mode, int uid, int gid, long rdev)
      throws MetaException {
    return call(req(b -> b.setMknod(MknodRequest.newBuilder().setParent(parent).setName(name).setType(type)
        .setMode(mode).setUid(uid).setGid(gid).setRdev(rdev)))).getAttr();
  }

  /** flags: XATTR_CREATE 1, XATTR_REPLACE 2 (Linux values). */
  public void setXattr(long ino, String name, byte[] value, int flags) throws MetaException {
    call(req(b -> b.setSetXattr(SetXattrRequest.newBuilder().setIno(ino).setName(name)
        .setValue(ByteString.copyFrom(value)).setFlags(flags))));
  }

  public byte[] getXattr(long ino, String name) throws MetaException {
    return call(req(b -> b.setGetXattr(GetXattrRequest.newBuilder().setIno(ino).setName(name))))
        .getXattrValue().toByteArray();
  }

  /** The names, in byte order. */
  public List<String> listXattr(long ino) throws MetaException {
    return call(req(b -> b.setListXattr(ListXattrRequest.newBuilder().setIno(ino)))).getXattrNames()
        .getNamesList();
  }

  public void removeXattr(long ino, String name) throws MetaException {
    call(req(b -> b.setRemoveXattr(RemoveXattrRequest.newBuilder().setIno(ino).setName(name))));
  }

  /** mode: 0, FALLOC_FL_KEEP_SIZE 1, FALLOC_FL_PUNCH_HOLE | KEEP_SIZE 3. Returns the new attributes. */
  public Attr fallocate(long ino, int mode, long offset, long length) throws MetaException {
    return call(req(b -> b.setFallocate(FallocateRequest.newBuilder().setIno(ino).setMode(mode).setOffset(offset)
        .setLength(length)))).getAttr();
  }

  /** commit_write with the extents written since the last commit (one per chunk at most, for st_blocks). */
  public Attr commitWrite(long ino, long end, long mtimeNs, List<Extent> written) throws MetaException {
    return call(req(b -> b.setCommitWrite(CommitWriteRequest.newBuilder()
        .setIno(ino).setEnd(end).setMtimeNs(mtimeNs).addAllWritten(written)))).getAttr();
  }

  private static MetaRequest req(java.util.function.Consumer<MetaRequest.Builder> fill) {
    MetaRequest.Builder b = MetaRequest.newBuilder();
    fill.accept(b);
    return b.build();
  }

  @Override
  public void close() {
    closed = true;
    for (ManagedChannel c : channels.values()) {
      c.shutdownNow();
    }
    for (ManagedChannel c : channels.values()) {
      try {
        c.awaitTermination(5, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
