package io.shoalfs.storage.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.proto.storage.GroupMember;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageLogEntry;
import io.shoalfs.proto.storage.StorageLogReply;
import io.shoalfs.raft.RaftDefaults;
import io.shoalfs.storage.store.ChunkStore;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.ClientId;
import org.apache.ratis.protocol.GroupManagementRequest;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.protocol.exceptions.NotLeaderException;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The daemon's part in storage groups: one Ratis server hosting a division per group this daemon is a member of
 * (Ratis keeps each group's log and configuration under {@code dir}, so the groups come back after a restart),
 * each division a {@link ChunkStateMachine} over the daemon's one chunk store.
 */
public final class StorageGroups implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StorageGroups.class);

  /** Trailer of UNAVAILABLE from a member that is not the group's leader: the leader's storage address. */
  public static final Metadata.Key<String> LEADER_KEY =
      Metadata.Key.of("shoal-leader", Metadata.ASCII_STRING_MARSHALLER);

  /** Largest write one entry carries (a chunk), with room for the header. */
  static final SizeInBytes ENTRY_LIMIT = SizeInBytes.valueOf((4L << 20) + (64 << 10));

  /** Attempts of one repair (each asks every other member once), 100 ms apart. */
  static final int REPAIR_ATTEMPTS = 100;

  private RaftServer server;
  private final ExecutorService stagingPool;
  private final ClientId localClient = ClientId.randomId();
  private final AtomicLong calls = new AtomicLong();
  /** One repair at a time per damaged block; a bounded pool for them. */
  private final java.util.Set<String> repairing = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final ExecutorService repairPool = new java.util.concurrent.ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS,
      new java.util.concurrent.ArrayBlockingQueue<>(1024),
      r -> Thread.ofPlatform().daemon().name("storage-repair").unstarted(r),
      new java.util.concurrent.ThreadPoolExecutor.DiscardPolicy());
  private final java.util.Map<String, io.grpc.ManagedChannel> peers = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicLong repaired = new AtomicLong();

  private StorageGroups(ExecutorService stagingPool) {
    this.stagingPool = stagingPool;
  }

  /** The Raft group id of a storage group id (stable: every member derives the same). */
  public static RaftGroupId raftGroupId(String groupId) {
    return RaftGroupId.valueOf(UUID.nameUUIDFromBytes(("shoal-storage-group:" + groupId)
        .getBytes(StandardCharsets.UTF_8)));
  }

  public static StorageGroups start(String daemonId, Path dir, HostPort raftListen, ChunkStore store)
      throws IOException {
    RaftProperties p = RaftDefaults.base(dir, raftListen.host(), raftListen.port(), RaftDefaults.Timing.DEFAULTS);
    // The bytes travel beside the log (state-machine data); entries and appends must fit a whole chunk's write.
    RaftServerConfigKeys.Log.Appender.setBufferByteLimit(p, SizeInBytes.valueOf(8L << 20));
    RaftServerConfigKeys.Log.setWriteBufferSize(p, SizeInBytes.valueOf(9L << 20));
    GrpcConfigKeys.setMessageSizeMax(p, SizeInBytes.valueOf(32L << 20));
    // Appends carry whole write-backs (1 MiB and more): Ratis's 1 MiB default window would stall each one.
    GrpcConfigKeys.setFlowControlWindow(p, SizeInBytes.valueOf(io.shoalfs.common.net.GrpcServers.FLOW_CONTROL_WINDOW));
    RaftServerConfigKeys.Log.StateMachineData.setSync(p, true);
    RaftServerConfigKeys.Log.StateMachineData.setCachingEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, false);
    ExecutorService pool = Executors.newFixedThreadPool(2,
        r -> Thread.ofPlatform().daemon().name("storage-staging").unstarted(r));
    StorageGroups g = new StorageGroups(pool);
    RaftServer server = RaftServer.newBuilder()
        .setServerId(RaftPeerId.valueOf(daemonId))
        .setGroup(RaftGroup.emptyGroup())
        .setProperties(p)
        .setParameters(io.shoalfs.raft.RaftDefaults.parameters())
        .setStateMachineRegistry(gid -> new ChunkStateMachine(store, pool, g::onCorrupt))
        // Groups joined before are found in dir and recovered by Ratis itself; so is its empty placeholder.
        .setOption(java.nio.file.Files.isDirectory(dir.resolve(RaftGroup.emptyGroup().getGroupId().getUuid().toString()))
            ? org.apache.ratis.server.storage.RaftStorage.StartupOption.RECOVER
            : org.apache.ratis.server.storage.RaftStorage.StartupOption.FORMAT)
        .build();
    g.server = server;
    server.start();
    List<String> known = new ArrayList<>();
    server.getGroupIds().forEach(id -> known.add(id.getUuid().toString()));
    LOG.info("storage {}: raft on {} with {} group(s) from before", daemonId, raftListen, known.size());
    return g;
  }

  /** Makes this daemon a member of {@code groupId} with {@code members}; a group it has already is kept. */
  public void join(String groupId, List<GroupMember> members) throws IOException {
    RaftGroupId gid = raftGroupId(groupId);
    for (RaftGroupId have : server.getGroupIds()) {
      if (have.equals(gid)) {
        return;
      }
    }
    List<RaftPeer> peers = new ArrayList<>();
    for (GroupMember m : members) {
      peers.add(peerOf(m));
    }
    RaftClientReply reply = server.groupManagement(GroupManagementRequest.newAdd(localClient, server.getId(),
        calls.incrementAndGet(), RaftGroup.valueOf(gid, peers)));
    if (!reply.isSuccess()) {
      throw new IOException("joining storage group " + groupId + ": " + reply.getException());
    }
    LOG.info("storage {}: joined group {} ({})", server.getId(), groupId, gid.getUuid());
  }

  /**
   * On the group's leader: changes the group's members to {@code members} (new ones joined first) and returns once
   * the new configuration is committed (the new members caught up from the log). Elsewhere: UNAVAILABLE with the
   * leader's address.
   */
  public void changeMembers(String groupId, List<GroupMember> members) throws IOException {
    RaftGroupId gid = raftGroupId(groupId);
    RaftServer.Division d = server.getDivision(gid);
    if (!d.getInfo().isLeader()) {
      RaftPeerId leader = d.getInfo().getLeaderId();
      RaftPeer lp = leader == null ? null : d.getGroup().getPeer(leader);
      throw unavailable(groupId, "not the group's leader", lp == null ? null : lp.getClientAddress());
    }
    List<RaftPeer> peers = new ArrayList<>();
    for (GroupMember m : members) {
      peers.add(peerOf(m));
    }
    RaftClientReply reply = server.setConfiguration(new org.apache.ratis.protocol.SetConfigurationRequest(
        localClient, server.getId(), gid, calls.incrementAndGet(), peers));
    if (!reply.isSuccess()) {
      throw new IOException("changing the members of storage group " + groupId + ": " + reply.getException());
    }
    LOG.info("storage {}: group {} now has members {}", server.getId(), groupId,
        peers.stream().map(p -> p.getId().toString()).toList());
  }

  /** A member as a Raft peer: a witness has priority 0, so a data member leads whenever one can. */
  static RaftPeer peerOf(GroupMember m) {
    return RaftPeer.newBuilder().setId(m.getId()).setAddress(m.getRaftAddress()).setClientAddress(m.getAddress())
        .setPriority(m.getWitness() ? WITNESS_PRIORITY : DATA_PRIORITY).build();
  }

  static final int DATA_PRIORITY = 1;
  static final int WITNESS_PRIORITY = 0;

  /** True when this daemon leads {@code groupId} now. */
  public boolean isLeader(String groupId) {
    try {
      return isMember(groupId) && server.getDivision(raftGroupId(groupId)).getInfo().isLeader();
    } catch (IOException e) {
      return false;
    }
  }

  /** True when this daemon is a member of {@code groupId}. */
  public boolean isMember(String groupId) {
    RaftGroupId gid = raftGroupId(groupId);
    for (RaftGroupId have : server.getGroupIds()) {
      if (have.equals(gid)) {
        return true;
      }
    }
    return false;
  }

  /** A mutation through the group's log; completes with the applied reply, or fails with a gRPC status. */
  public CompletableFuture<StorageLogReply> submit(String groupId, StorageLogEntry entry,
      com.google.protobuf.ByteString data) {
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(localClient).setServerId(server.getId()).setGroupId(raftGroupId(groupId))
        .setCallId(calls.incrementAndGet()).setMessage(new ChunkStateMachine.Op(entry, data))
        .setType(RaftClientRequest.writeRequestType()).build();
    return send(groupId, request);
  }

  /** A linearizable read on this member (read index: served once its state covers the leader's commit). */
  public CompletableFuture<StorageLogReply> read(String groupId, ReadChunkRequest req) {
    RaftClientRequest request = RaftClientRequest.newBuilder()
        .setClientId(localClient).setServerId(server.getId()).setGroupId(raftGroupId(groupId))
        .setCallId(calls.incrementAndGet())
        .setMessage(org.apache.ratis.protocol.Message.valueOf(
            org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations.unsafeWrap(
                req.toByteString().asReadOnlyByteBuffer())))
        .setType(RaftClientRequest.readRequestType()).build();
    return send(groupId, request);
  }

  private CompletableFuture<StorageLogReply> send(String groupId, RaftClientRequest request) {
    if (!isMember(groupId)) {
      return CompletableFuture.failedFuture(Status.NOT_FOUND
          .withDescription("this daemon is not a member of storage group " + groupId).asRuntimeException());
    }
    CompletableFuture<RaftClientReply> f;
    try {
      f = server.submitClientRequestAsync(request);
    } catch (IOException e) {
      return CompletableFuture.failedFuture(unavailable(groupId, e.getMessage(), null));
    }
    return f.orTimeout(30, TimeUnit.SECONDS).handle((reply, t) -> {
      if (t != null) {
        throw new CompletionException(unavailable(groupId, String.valueOf(rootOf(t)), null));
      }
      if (!reply.isSuccess()) {
        Throwable e = reply.getException();
        NotLeaderException nle = reply.getNotLeaderException();
        if (nle != null) {
          RaftPeer leader = nle.getSuggestedLeader();
          throw new CompletionException(unavailable(groupId, "not the group's leader",
              leader == null ? null : leader.getClientAddress()));
        }
        throw new CompletionException(unavailable(groupId, String.valueOf(e), null));
      }
      try {
        return StorageLogReply.parseFrom(reply.getMessage().getContent().asReadOnlyByteBuffer());
      } catch (InvalidProtocolBufferException e) {
        throw new CompletionException(Status.INTERNAL.withDescription("unreadable group reply").asRuntimeException());
      }
    });
  }

  private static Throwable rootOf(Throwable t) {
    while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static StatusRuntimeException unavailable(String groupId, String why, String leader) {
    Metadata m = new Metadata();
    if (leader != null && !leader.isEmpty()) {
      m.put(LEADER_KEY, leader);
    }
    return Status.UNAVAILABLE.withDescription("storage group " + groupId + ": " + why).asRuntimeException(m);
  }

  /** Result of one scrub pass over every group of this daemon. */
  public record ScrubPass(long blocksChecked, int damaged) {}

  /**
   * Checks every block of every group's chunks on this daemon against its CRC32C; a damaged block is repaired
   * from another member (asynchronously, like one a read met). The background scrub runs this every
   * {@code scrubPeriod}; tests call it directly.
   */
  public ScrubPass scrubNow() {
    java.util.concurrent.atomic.AtomicLong checked = new java.util.concurrent.atomic.AtomicLong();
    int damaged = 0;
    for (RaftGroupId gid : server.getGroupIds()) {
      try {
        if (server.getDivision(gid).getStateMachine() instanceof ChunkStateMachine sm) {
          damaged += sm.scrub(checked);
        }
      } catch (IOException | io.shoalfs.storage.core.StorageException e) {
        LOG.warn("storage {}: scrub of group {} failed: {}", server.getId(), gid.getUuid(), e.getMessage());
      }
    }
    if (damaged > 0) {
      LOG.warn("storage {}: scrub found {} damaged block(s) in {} checked; repairing", server.getId(), damaged,
          checked.get());
    }
    return new ScrubPass(checked.get(), damaged);
  }

  /** Starts the background scrub: a pass every {@code period} (the first after one period). */
  public void startScrub(java.time.Duration period) {
    Thread t = Thread.ofPlatform().daemon().name("storage-scrub").unstarted(() -> {
      try {
        while (!Thread.currentThread().isInterrupted()) {
          Thread.sleep(period.toMillis());
          scrubNow();
        }
      } catch (InterruptedException e) {
        // closing
      }
    });
    scrubber = t;
    t.start();
  }

  private volatile Thread scrubber;

  /** Storage groups this daemon's Raft server has a division of (metrics). */
  public int groupCount() {
    try {
      int n = 0;
      for (RaftGroupId ignored : server.getGroupIds()) {
        n++;
      }
      return n;
    } catch (RuntimeException e) {
      return 0;
    }
  }

  /** Blocks this daemon repaired from another member's copy since it started (tests, status). */
  public long repairedBlocks() {
    return repaired.get();
  }

  /** A read met a damaged block here: fetch the block from another member at the same applied index. */
  void onCorrupt(RaftGroupId gid, long chunkId, int block) {
    String key = gid.getUuid() + "/" + chunkId + "/" + block;
    if (!repairing.add(key)) {
      return;
    }
    repairPool.execute(() -> {
      try {
        repair(gid, chunkId, block);
      } finally {
        repairing.remove(key);
      }
    });
  }

  private void repair(RaftGroupId gid, long chunkId, int block) {
    String what = "block " + block + " of chunk " + Long.toUnsignedString(chunkId) + " (group " + gid.getUuid() + ")";
    try {
      RaftServer.Division d = server.getDivision(gid);
      ChunkStateMachine sm = (ChunkStateMachine) d.getStateMachine();
      io.shoalfs.proto.storage.FetchBlockRequest req = io.shoalfs.proto.storage.FetchBlockRequest.newBuilder()
          .setGroupId(gid.getUuid().toString()).setChunkId(chunkId).setBlock(block).build();
      for (int attempt = 0; attempt < REPAIR_ATTEMPTS; attempt++) {
        for (RaftPeer peer : d.getGroup().getPeers()) {
          if (peer.getId().equals(server.getId()) || peer.getClientAddress() == null) {
            continue;
          }
          io.shoalfs.proto.storage.FetchBlockReply copy;
          try {
            copy = io.shoalfs.proto.storage.StorageServiceGrpc.newBlockingStub(peer(peer.getClientAddress()))
                .withDeadlineAfter(5, TimeUnit.SECONDS).fetchBlock(req);
          } catch (StatusRuntimeException e) {
            continue; // that member is down, or its copy is damaged too: ask the next
          }
          if (sm.repairIfAt(copy.getAppliedIndex(), chunkId, block,
              copy.getPresent() ? copy.getValue().toByteArray() : null)) {
            repaired.incrementAndGet();
            LOG.info("storage {}: repaired {} from {}", server.getId(), what, peer.getId());
            return;
          }
        }
        Thread.sleep(100); // the members stand at different applied indexes: let them settle
      }
      LOG.warn("storage {}: could not repair {}: no member had a good copy at this member's applied index",
          server.getId(), what);
    } catch (IOException | io.shoalfs.storage.core.StorageException e) {
      LOG.warn("storage {}: repair of {} failed: {}", server.getId(), what, e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Serves another member's repair: this member's copy of a block with its applied index. */
  public io.shoalfs.proto.storage.FetchBlockReply fetchBlock(io.shoalfs.proto.storage.FetchBlockRequest req)
      throws IOException, io.shoalfs.storage.core.StorageException {
    RaftGroupId gid = RaftGroupId.valueOf(UUID.fromString(req.getGroupId()));
    ChunkStateMachine sm = (ChunkStateMachine) server.getDivision(gid).getStateMachine();
    ChunkStateMachine.BlockCopy c = sm.copyOf(req.getChunkId(), req.getBlock());
    io.shoalfs.proto.storage.FetchBlockReply.Builder b = io.shoalfs.proto.storage.FetchBlockReply.newBuilder()
        .setAppliedIndex(c.appliedIndex()).setPresent(c.value() != null);
    if (c.value() != null) {
      b.setValue(com.google.protobuf.ByteString.copyFrom(c.value()));
    }
    return b.build();
  }

  private io.grpc.ManagedChannel peer(String address) {
    return peers.computeIfAbsent(address, a -> {
      HostPort hp = HostPort.parse(a);
      return io.shoalfs.common.net.Tls.channel(hp.host(), hp.port())
          .maxInboundMessageSize(io.shoalfs.common.net.GrpcServers.MAX_MESSAGE_BYTES)
          .flowControlWindow(io.shoalfs.common.net.GrpcServers.FLOW_CONTROL_WINDOW).build();
    });
  }

  @Override
  public void close() {
    Thread s = scrubber;
    if (s != null) {
      s.interrupt();
    }
    repairPool.shutdownNow();
    peers.values().forEach(io.grpc.ManagedChannel::shutdownNow);
    try {
      server.close();
    } catch (IOException e) {
      LOG.warn("closing the storage raft server: {}", e.getMessage());
    }
    stagingPool.shutdownNow();
  }
}
