package io.shoalfs.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.proto.meta.*;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Talks to the metadata service: finds the leader, follows NOT_LEADER hints, retries through leader changes.
 *
 * <p>Every logical call gets one {@code call_id}; retries reuse it, so the Raft retry cache applies a create,
 * rename or unlink exactly once even when the reply was lost. Retries are bounded by {@code timeout}.
 */
public final class MetaClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetaClient.class);
  private static final Duration ATTEMPT_TIMEOUT = Duration.ofSeconds(15);
  private static final Duration STATUS_TIMEOUT = Duration.ofSeconds(3);

  private final List<HostPort> addresses;
  private final Duration timeout;
  private final ByteString clientId;
  private final AtomicLong nextCallId = new AtomicLong(1);
  private final Map<HostPort, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<HostPort, MetaServiceGrpc.MetaServiceBlockingStub> stubs = new ConcurrentHashMap<>();
  private volatile HostPort leader;
  private volatile boolean closed;

  /** @param metaAddrs ADDRS as users type it: the replicas' Raft addresses (client port = raft port + 1) */
  public static MetaClient connect(String metaAddrs) {
    return new MetaClient(MetaAddresses.clientAddresses(metaAddrs), Duration.ofSeconds(60));
  }

  public MetaClient(List<HostPort> clientAddresses, Duration timeout) {
    if (clientAddresses.isEmpty()) {
      throw new IllegalArgumentException("no metadata addresses");
    }
    this.addresses = List.copyOf(clientAddresses);
    this.timeout = timeout;
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

  /** Sends one request and returns whatever code it ends with (never NOT_LEADER). */
  public MetaReply callRaw(MetaRequest request) throws MetaException {
    MetaCall call = MetaCall.newBuilder()
        .setClientId(clientId).setCallId(nextCallId.getAndIncrement()).setRequest(request).build();
    long deadline = System.nanoTime() + timeout.toNanos();
    HostPort target = leader;
    int attempt = 0;
    String last = "no attempt";
    while (System.nanoTime() < deadline) {
      if (closed) {
        throw new MetaException(Code.UNAVAILABLE, "metadata client closed");
      }
      attempt++;
      try {
        MetaReply reply = stub(target).withDeadlineAfter(ATTEMPT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
            .call(call);
        switch (reply.getCode()) {
          case NOT_LEADER -> {
            last = target + " is not the leader";
            target = reply.getLeaderHint().isEmpty() ? next(target) : HostPort.parse(reply.getLeaderHint());
          }
          case UNAVAILABLE -> {
            last = target + ": " + reply.getMessage();
            target = next(target);
            pause(attempt);
          }
          default -> {
            leader = target;
            return reply;
          }
        }
      } catch (StatusRuntimeException e) {
        Status.Code c = e.getStatus().getCode();
        if (c != Status.Code.UNAVAILABLE && c != Status.Code.DEADLINE_EXCEEDED && c != Status.Code.CANCELLED
            && c != Status.Code.UNKNOWN) {
          throw new MetaException(Code.EIO, target + ": " + e.getStatus());
        }
        last = target + ": " + e.getStatus().getCode() + " " + e.getStatus().getDescription();
        target = next(target);
        pause(attempt);
      }
    }
    LOG.warn("metadata call gave up after {} attempts: {}", attempt, last);
    throw new MetaException(Code.UNAVAILABLE, "metadata service unreachable: " + last);
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
   * meta-sessions: the channel to one replica (shared with this client's calls, closed by {@link #close}),
   * for streams such as Watch ({@code SessionClient}).
   */
  public io.grpc.Channel channel(HostPort clientAddress) {
    return channels.computeIfAbsent(clientAddress, a -> NettyChannelBuilder.forAddress(a.host(), a.port())
        .usePlaintext().maxInboundMessageSize(GrpcServers.MAX_MESSAGE_BYTES).build());
  }

  private HostPort next(HostPort current) {
    int i = addresses.indexOf(current);
    return addresses.get((i + 1) % addresses.size());
  }

  private static void pause(int attempt) {
    try {
      Thread.sleep(Math.min(1000, 50L * attempt));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private MetaServiceGrpc.MetaServiceBlockingStub stub(HostPort target) {
    return stubs.computeIfAbsent(target, t -> MetaServiceGrpc.newBlockingStub(channels.computeIfAbsent(t,
        a -> NettyChannelBuilder.forAddress(a.host(), a.port()).usePlaintext()
            .maxInboundMessageSize(GrpcServers.MAX_MESSAGE_BYTES).build())));
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

  public void registerDaemon(StorageDaemon daemon) throws MetaException {
    call(req(b -> b.setRegisterDaemon(RegisterDaemonRequest.newBuilder().setDaemon(daemon))));
  }

  public LayoutReply getLayout() throws MetaException {
    return call(req(b -> b.setGetLayout(GetLayoutRequest.getDefaultInstance()))).getLayout();
  }

  public Subvolume createSubvolume(String name, long capacityBytes) throws MetaException {
    return call(req(b -> b.setCreateSubvolume(CreateSubvolumeRequest.newBuilder()
        .setName(name).setCapacityBytes(capacityBytes)))).getSubvolume();
  }

  public void deleteSubvolume(String name) throws MetaException {
    call(req(b -> b.setDeleteSubvolume(DeleteSubvolumeRequest.newBuilder().setName(name))));
  }

  public Subvolume getSubvolume(String name) throws MetaException {
    return call(req(b -> b.setGetSubvolume(GetSubvolumeRequest.newBuilder().setName(name)))).getSubvolume();
  }

  public List<Subvolume> listSubvolumes() throws MetaException {
    return call(req(b -> b.setListSubvolumes(ListSubvolumesRequest.getDefaultInstance())))
        .getSubvolumes().getSubvolumesList();
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
