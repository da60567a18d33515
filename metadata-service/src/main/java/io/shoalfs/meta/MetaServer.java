package io.shoalfs.meta;

import io.grpc.Server;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.meta.grpc.MetaGrpcService;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.meta.grpc.StorageChunkDeleter;
import io.shoalfs.meta.raft.ChunkCollector;
import io.shoalfs.meta.grpc.WatchService;
import io.shoalfs.meta.raft.HistoryPurger;
import io.shoalfs.meta.raft.SessionReaper;
import io.shoalfs.meta.raft.GroupCommit;
import io.shoalfs.meta.raft.MetaStateMachine;
import io.shoalfs.meta.raft.MetaSubmitter;
import io.shoalfs.raft.RaftDefaults;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.DivisionInfo;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One metadata replica: a Ratis server (gRPC transport) on its peer address running {@link MetaStateMachine},
 * and the client-facing MetaService gRPC API on raft port + 1 ({@link MetaAddresses}).
 *
 * <p>On disk under {@code dir}: {@code raft/} (Ratis log, term and vote, snapshots) and {@code db/} (RocksDB,
 * rebuilt from the latest snapshot on every start).
 */
public final class MetaServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetaServer.class);
  /** The one metadata Raft group. Fixed, so replicas started separately agree on it. */
  public static final RaftGroupId GROUP_ID =
      RaftGroupId.valueOf(UUID.nameUUIDFromBytes("shoal-meta".getBytes(StandardCharsets.UTF_8)));

  /**
   * @param id this replica's peer id
   * @param peers every replica: id -> Raft address (insertion-ordered); must contain {@code id}
   * @param dir this replica's data directory
   */
  public record Config(String id, Map<String, HostPort> peers, Path dir) {
    public Config {
      if (id == null || id.isBlank()) {
        throw new IllegalArgumentException("replica id is empty");
      }
      if (peers == null || !peers.containsKey(id)) {
        throw new IllegalArgumentException("replica id '" + id + "' is not among the peers " + (peers == null ? "{}" : peers.keySet()));
      }
      if (dir == null) {
        throw new IllegalArgumentException("no data directory");
      }
      peers = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(peers));
      String clash = portClash(peers);
      if (clash != null) {
        throw new IllegalArgumentException(clash);
      }
    }

    /**
     * Why two replicas' addresses cannot work together, or null: each replica listens on its raft port and on
     * raft port + 1 (clients), so on one host no port may be used twice across those.
     */
    public static String portClash(Map<String, HostPort> peers) {
      Map<HostPort, String> used = new LinkedHashMap<>();
      for (Map.Entry<String, HostPort> p : peers.entrySet()) {
        HostPort raft = p.getValue();
        HostPort client = MetaAddresses.clientAddress(raft);
        for (HostPort a : List.of(raft, client)) {
          String role = (a == raft ? "raft" : "client") + " port of " + p.getKey();
          String other = used.putIfAbsent(a, role);
          if (other != null) {
            return "--peers: " + a + " would be both the " + other + " and the " + role
                + " (each replica also listens on raft port + 1)";
          }
        }
      }
      return null;
    }
  }

  /**
   * Timing and retention knobs. Defaults suit a busy two-core machine (see docs: dependencies trap 6).
   *
   * @param electionTimeoutMin / electionTimeoutMax Raft election timeout range; leader loss is noticed after it
   * @param snapshotEvery entries between automatic snapshots (a snapshot is also taken on every clean stop)
   * @param purgeGap log entries at least purged at once after a snapshot
   * @param logSegmentBytes size of a Raft log segment; the log is purged in whole closed segments
   * @param retryCacheExpiry how long Ratis keeps its own retry cache entries (replies of the group-commit
   *     batches; exactly-once for clients is the client_calls table, not this cache)
   * @param callTimeout the longest a client call waits inside the server before UNAVAILABLE
   * @param snapshotOnStop snapshot on a clean stop, so the next start replays nothing; off only to test the
   *     replay a crash needs
   * @param closeThreshold a JVM or host pause longer than this makes Ratis close the replica; far above any
   *     VM freeze or stop-the-world pause (Ratis's 60 s default took replicas down after a one-minute freeze)
   * @param groupCommit bounds of the leader's write batching ({@link GroupCommit.Limits})
   * @param grpc bounds of the client API's gRPC server ({@link GrpcServers.Limits})
   */
  public record Tuning(Duration electionTimeoutMin, Duration electionTimeoutMax, long snapshotEvery, int purgeGap,
      long logSegmentBytes, Duration retryCacheExpiry, Duration callTimeout, boolean snapshotOnStop,
      Duration closeThreshold, GroupCommit.Limits groupCommit, GrpcServers.Limits grpc) {
    public static final Tuning DEFAULTS = new Tuning(Duration.ofMillis(1000), Duration.ofMillis(2000), 10_000, 1024,
        8L << 20, Duration.ofSeconds(30), Duration.ofSeconds(10), true, Duration.ofHours(1),
        GroupCommit.Limits.DEFAULTS, GrpcServers.Limits.DEFAULTS);

    public Tuning withElectionTimeout(Duration min, Duration max) {
      return new Tuning(min, max, snapshotEvery, purgeGap, logSegmentBytes, retryCacheExpiry, callTimeout,
          snapshotOnStop, closeThreshold, groupCommit, grpc);
    }

    public Tuning withSnapshots(long every, int gap, long segmentBytes, boolean onStop) {
      return new Tuning(electionTimeoutMin, electionTimeoutMax, every, gap, segmentBytes, retryCacheExpiry,
          callTimeout, onStop, closeThreshold, groupCommit, grpc);
    }

    public Tuning withGroupCommit(GroupCommit.Limits limits) {
      return new Tuning(electionTimeoutMin, electionTimeoutMax, snapshotEvery, purgeGap, logSegmentBytes,
          retryCacheExpiry, callTimeout, snapshotOnStop, closeThreshold, limits, grpc);
    }

    public Tuning withGrpc(GrpcServers.Limits limits) {
      return new Tuning(electionTimeoutMin, electionTimeoutMax, snapshotEvery, purgeGap, logSegmentBytes,
          retryCacheExpiry, callTimeout, snapshotOnStop, closeThreshold, groupCommit, limits);
    }
  }

  private final Config config;
  private final RaftServer raft;
  private final Server grpc;
  private final MetaStateMachine stateMachine;
  private final MetaSubmitter submitter;
  private final WatchService watch;
  private final SessionReaper reaper;
  private ChunkCollector collector;
  private io.shoalfs.meta.raft.GroupFormer former;
  private MetaMetrics metrics;
  private boolean closed;

  private MetaServer(Config config, RaftServer raft, Server grpc, MetaStateMachine stateMachine,
      MetaSubmitter submitter, WatchService watch, SessionReaper reaper) {
    this.watch = watch;
    this.reaper = reaper;
    this.config = config;
    this.raft = raft;
    this.grpc = grpc;
    this.stateMachine = stateMachine;
    this.submitter = submitter;
  }

  public static MetaServer start(Config cfg) throws IOException {
    return start(cfg, Tuning.DEFAULTS);
  }

  /** Starts Raft and the client API; returns once both listen (a leader may not be elected yet). */
  public static MetaServer start(Config cfg, Tuning tuning) throws IOException {
    HostPort raftAddr = cfg.peers().get(cfg.id());
    HostPort clientAddr = MetaAddresses.clientAddress(raftAddr);
    Path raftDir = cfg.dir().resolve("raft");
    Files.createDirectories(raftDir);
    MetaStateMachine sm = new MetaStateMachine(cfg.id(), cfg.dir().resolve("db"));
    RaftServer raft = RaftServer.newBuilder()
        .setServerId(RaftPeerId.valueOf(cfg.id()))
        .setGroup(RaftGroup.valueOf(GROUP_ID, peersOf(cfg)))
        .setProperties(properties(raftDir, raftAddr, tuning))
        .setParameters(io.shoalfs.raft.RaftDefaults.parameters())
        .setStateMachine(sm)
        .setOption(Files.isDirectory(raftDir.resolve(GROUP_ID.getUuid().toString()))
            ? RaftStorage.StartupOption.RECOVER : RaftStorage.StartupOption.FORMAT)
        .build();
    Server grpc = null;
    MetaSubmitter submitter = null;
    WatchService watch = new WatchService(raft, GROUP_ID, cfg.peers(), sm);
    SessionReaper reaper = null;
    MetaMetrics metrics = null;
    try {
      raft.start();
      metrics = new MetaMetrics(cfg.id(), raft, GROUP_ID, sm);
      submitter = new MetaSubmitter(raft, GROUP_ID, sm, cfg.peers(), tuning.callTimeout(), tuning.groupCommit());
      grpc = GrpcServers.startTcp(clientAddr, List.of(new MetaGrpcService(submitter).serveWatch(watch)
          .timedBy(metrics.group)),
          tuning.grpc());
      HistoryPurger purger = new HistoryPurger(raft, GROUP_ID, sm, submitter); // snapshot history, leader only
      reaper = SessionReaper.start(raft, GROUP_ID, sm, submitter, () -> {
        watch.check();
        purger.tick();
      });
    } catch (IOException | RuntimeException e) {
      GrpcServers.stop(grpc, 1000);
      if (metrics != null) {
        metrics.close();
      }
      if (reaper != null) {
        reaper.close();
      }
      if (submitter != null) {
        submitter.close();
      }
      closeQuietly(raft);
      throw e instanceof IOException io ? io : new IOException("meta " + cfg.id() + " failed to start: " + e, e);
    }
    LOG.info("meta {}: serving raft={} client={} dir={}", cfg.id(), raftAddr, clientAddr, cfg.dir());
    MetaServer server = new MetaServer(cfg, raft, grpc, sm, submitter, watch, reaper);
    server.metrics = metrics;
    // Garbage collection of chunk data, on the leader (like session expiry).
    server.former = io.shoalfs.meta.raft.GroupFormer.start(raft, GROUP_ID, sm, submitter);
    server.collector = ChunkCollector.start(raft, GROUP_ID, sm, submitter,
        new StorageChunkDeleter(() -> sm.readState(MetaOps::writeKey)), ChunkCollector.Tuning.DEFAULTS);
    return server;
  }

  private static List<RaftPeer> peersOf(Config cfg) {
    List<RaftPeer> out = new ArrayList<>();
    for (Map.Entry<String, HostPort> p : cfg.peers().entrySet()) {
      out.add(RaftPeer.newBuilder().setId(p.getKey()).setAddress(p.getValue().toString()).build());
    }
    return out;
  }

  static RaftProperties properties(Path raftDir, HostPort raftAddr, Tuning t) {
    RaftProperties p = RaftDefaults.base(raftDir, raftAddr.host(), raftAddr.port(), new RaftDefaults.Timing(
        t.electionTimeoutMin(), t.electionTimeoutMax(), t.closeThreshold(), t.callTimeout()));
    RaftServerConfigKeys.Snapshot.setAutoTriggerEnabled(p, true);
    RaftServerConfigKeys.Snapshot.setAutoTriggerThreshold(p, t.snapshotEvery());
    RaftServerConfigKeys.Snapshot.setTriggerWhenStopEnabled(p, t.snapshotOnStop());
    RaftServerConfigKeys.Snapshot.setCreationGap(p, Math.min(1024, t.snapshotEvery()));
    RaftServerConfigKeys.Snapshot.setRetentionFileNum(p, 2);
    // The snapshot is the durable base: the log before it may go even if a follower still needs it (that
    // follower then gets the snapshot), so a replica that is down for long cannot make the log grow forever.
    RaftServerConfigKeys.Log.setPurgeUptoSnapshotIndex(p, true);
    RaftServerConfigKeys.Log.setPurgeGap(p, t.purgeGap());
    RaftServerConfigKeys.Log.setSegmentSizeMax(p, SizeInBytes.valueOf(t.logSegmentBytes()));
    RaftServerConfigKeys.RetryCache.setExpiryTime(p, millis(t.retryCacheExpiry()));
    return p;
  }

  private static TimeDuration millis(Duration d) {
    return TimeDuration.valueOf(d.toMillis(), TimeUnit.MILLISECONDS);
  }

  public String id() {
    return config.id();
  }

  public HostPort raftAddress() {
    return config.peers().get(config.id());
  }

  public HostPort clientAddress() {
    return MetaAddresses.clientAddress(raftAddress());
  }

  /** True if this replica is the leader and has applied its term's first entry (it serves requests). */
  public boolean isLeaderReady() {
    try {
      DivisionInfo info = raft.getDivision(GROUP_ID).getInfo();
      return info.isLeader() && info.isLeaderReady();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * False once the Raft server stopped by itself, e.g. after an unexpected failure applying an entry (apply
   * never skips an entry; the replica stops instead).
   */
  public boolean isRunning() {
    try {
      return raft.getDivision(GROUP_ID).getInfo().isAlive();
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * What {@code /healthz} answers: healthy while the Raft server runs and knows a leader (a replica that is
   * alone without a quorum is running but cannot serve: not healthy, so a probe does not route clients to it).
   */
  public io.shoalfs.common.metrics.MetricsServer.Health health() {
    if (!isRunning()) {
      return io.shoalfs.common.metrics.MetricsServer.Health.failing("meta " + id() + ": the Raft server stopped");
    }
    Optional<String> leader = leaderId();
    return leader.map(l -> io.shoalfs.common.metrics.MetricsServer.Health.ok("meta " + id() + ": leader " + l
        + ", applied " + lastAppliedIndex())).orElseGet(() -> io.shoalfs.common.metrics.MetricsServer.Health
            .failing("meta " + id() + ": no leader known (no quorum yet?)"));
  }

  /** The leader this replica knows of, if any. */
  public Optional<String> leaderId() {
    try {
      RaftPeerId leader = raft.getDivision(GROUP_ID).getInfo().getLeaderId();
      return Optional.ofNullable(leader).map(RaftPeerId::toString);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** Index of the last log entry applied on this replica (diagnostics and tests). */
  public long lastAppliedIndex() {
    try {
      return raft.getDivision(GROUP_ID).getInfo().getLastAppliedIndex();
    } catch (IOException e) {
      return -1;
    }
  }

  /** The write batcher, for diagnostics and tests (entries vs calls submitted). */
  public GroupCommit groupCommit() {
    return submitter.groupCommit();
  }

  /**
   * How many copies chunks of the root volume and of subvolumes created without a replication get (1, 2 or 3):
   * placement on the leader; the group former forms groups of it.
   */
  public void setDefaultReplication(int replication) {
    stateMachine.placement().setDefaultReplication(replication);
  }

  /** How long a storage daemon may stay silent before its groups are re-formed without it (leader only). */
  public void setDaemonDeadAfter(Duration d) {
    former.setDeadAfter(d);
  }

  /** The storage group former (tests: members replaced). */
  public io.shoalfs.meta.raft.GroupFormer groupFormer() {
    return former;
  }

  /** The garbage collector of chunk data (diagnostics and tests: chunks deleted, rows released). */
  public ChunkCollector chunkCollector() {
    return collector;
  }

  /** Open watch streams on this replica (diagnostics and tests). */
  public int watchStreams() {
    return watch.streams();
  }

  /** The state machine, for diagnostics and tests (e.g. a local, non-linearizable read on a follower). */
  public MetaStateMachine stateMachine() {
    return stateMachine;
  }

  /** Stops the client API, then Raft (which snapshots and closes the database). Idempotent. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    GrpcServers.stop(grpc, 2000);
    metrics.close();
    collector.close();
    former.close();
    reaper.close();
    submitter.close();
    closeQuietly(raft);
    stateMachine.close();
    LOG.info("meta {}: stopped", config.id());
  }

  private static void closeQuietly(RaftServer raft) {
    try {
      raft.close();
    } catch (IOException | RuntimeException e) {
      LOG.warn("closing the Raft server failed: {}", e.toString());
    }
  }
}
