package io.shoalfs.storage;

import io.grpc.Server;
import io.shoalfs.client.MetaClient;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.common.Sizes;
import io.shoalfs.common.metrics.GrpcTiming;
import io.shoalfs.common.metrics.MeterGroup;
import io.shoalfs.common.metrics.MetricsServer;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.proto.meta.DaemonRegistration;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.storage.core.WriteAuthority;
import io.shoalfs.storage.grpc.StorageGrpcService;
import io.shoalfs.storage.raft.StorageGroups;
import io.shoalfs.storage.store.ChunkStore;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One storage daemon: the chunk store under {@code dir/db}, served by the storage gRPC API on {@code listen},
 * registered with the metadata service so clients can find it.
 *
 * <p>Registration runs in the background and retries until it succeeds or the server closes: a daemon may start
 * before the metadata replicas have elected a leader, and it serves requests meanwhile.
 */
public final class StorageServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(StorageServer.class);

  /** Bound on one registration attempt (MetaClient's own retries and leader following included). */
  static final Duration REGISTER_ATTEMPT = Duration.ofSeconds(3);
  static final Duration BACKOFF_MIN = Duration.ofMillis(100);
  static final Duration BACKOFF_MAX = Duration.ofSeconds(5);
  /** Between two scrub passes over every block of the daemon's replicated groups. */
  static final Duration SCRUB_PERIOD = Duration.ofHours(1);
  /** Running calls get this long to finish when the daemon stops. */
  static final long GRPC_GRACE_MILLIS = 5_000;

  /**
   * @param metaAddrs ADDRS: the metadata replicas' Raft addresses, as users type them
   * @param listen where the storage API listens; also the address registered for clients unless
   *     {@code advertise} is given, so then it must be one they can reach (not 0.0.0.0)
   * @param capacityBytes bytes of chunk data to accept; 0 = the free space of {@code dir}'s filesystem at start
   * @param raftListen where this daemon's Raft server for storage groups listens (null: it joins no group and
   *     serves only single-daemon groups)
   * @param advertise the storage API's address as clients dial it (a Service name, a proxy); null: listen
   */
  public record Config(String id, String metaAddrs, Path dir, HostPort listen, long capacityBytes,
      HostPort raftListen, HostPort advertise) {
    public Config(String id, String metaAddrs, Path dir, HostPort listen, long capacityBytes) {
      this(id, metaAddrs, dir, listen, capacityBytes, null, null);
    }

    public Config(String id, String metaAddrs, Path dir, HostPort listen, long capacityBytes, HostPort raftListen) {
      this(id, metaAddrs, dir, listen, capacityBytes, raftListen, null);
    }

    /** The address registered with the metadata service for clients. */
    public HostPort advertised() {
      return advertise == null ? listen : advertise;
    }

    public Config {
      Objects.requireNonNull(dir, "dir");
      Objects.requireNonNull(listen, "listen");
      if (id == null || id.isBlank()) {
        throw new IllegalArgumentException("storage daemon needs an id");
      }
      if (capacityBytes < 0) {
        throw new IllegalArgumentException("capacity must not be negative, got " + capacityBytes);
      }
      MetaAddresses.clientAddresses(metaAddrs);
    }
  }

  private final Config cfg;
  private final ChunkStore store;
  private final Server grpc;
  private final MetaClient meta;
  private final Thread registrar;
  private final CountDownLatch registered = new CountDownLatch(1);
  private final CountDownLatch closing = new CountDownLatch(1);
  private final AtomicBoolean closed = new AtomicBoolean();
  private final AtomicLong attempts = new AtomicLong();

  private final String diskId;
  private final StorageGroups groups;

  private final WriteAuthority authority;
  private MeterGroup metrics;

  private StorageServer(Config cfg, ChunkStore store, Server grpc, String diskId, StorageGroups groups,
      WriteAuthority authority) {
    this.cfg = cfg;
    this.authority = authority;
    this.diskId = diskId;
    this.groups = groups;
    this.store = store;
    this.grpc = grpc;
    this.meta = new MetaClient(MetaAddresses.clientAddresses(cfg.metaAddrs()), REGISTER_ATTEMPT);
    this.registrar = Thread.ofPlatform().daemon().name("storage-register-" + cfg.id()).unstarted(this::register);
  }

  /** Opens the store, starts serving, and begins registering; returns once the gRPC server listens. */
  /** The configuration it was started with (to start it again on the same directory and address). */
  public Config config() {
    return cfg;
  }

  public static StorageServer start(Config cfg) throws IOException {
    // A daemon whose capacity is its disk's free space shares that disk with any other daemon on it: the pool
    // counts it once (`shoal local` runs several daemons on one disk). A configured capacity is an allotment.
    String diskId = cfg.capacityBytes() == 0 ? diskId(cfg.dir()) : "";
    if (cfg.capacityBytes() == 0) {
      cfg = new Config(cfg.id(), cfg.metaAddrs(), cfg.dir(), cfg.listen(), freeSpace(cfg.dir()), cfg.raftListen(),
          cfg.advertise());
    }
    WriteAuthority authority = new WriteAuthority(storedWriteKey(cfg.dir()));
    ChunkStore store = ChunkStore.open(cfg.dir().resolve("db"), cfg.capacityBytes());
    StorageGroups groups = null;
    MeterGroup metrics = null;
    Server grpc;
    try {
      if (cfg.raftListen() != null) {
        groups = StorageGroups.start(cfg.id(), cfg.dir().resolve("raft"), cfg.raftListen(), store);
        groups.startScrub(SCRUB_PERIOD);
      }
      metrics = metrics(cfg.id(), store, groups);
      StorageGrpcService service = new StorageGrpcService(cfg.id(), store, groups, authority).countedBy(metrics);
      grpc = GrpcServers.startTcp(cfg.listen(), List.of(service),
          new GrpcTiming(metrics, "shoal.storage.requests", "storage API calls by method, arrival to reply"));
    } catch (IOException | RuntimeException e) {
      if (metrics != null) {
        metrics.close();
      }
      if (groups != null) {
        groups.close();
      }
      store.close();
      throw new IOException("cannot listen on " + cfg.listen() + ": " + e.getMessage(), e);
    }
    LOG.info("storage {} listening on {} (capacity {}, used {}, data in {})", cfg.id(), cfg.listen(),
        Sizes.format(store.capacityBytes()), Sizes.format(store.usedBytes()), cfg.dir());
    StorageServer server = new StorageServer(cfg, store, grpc, diskId, groups, authority);
    server.metrics = metrics;
    server.registrar.start();
    return server;
  }

  /** Which disk {@code dir} is on: this host's name and the filesystem's device number. */
  static String diskId(Path dir) throws IOException {
    Files.createDirectories(dir);
    Object dev = Files.getAttribute(dir, "unix:dev");
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.net.UnknownHostException e) {
      host = "localhost"; // no name for this host: daemons of one host still agree
    }
    return host + ":" + dev;
  }

  /** The default capacity: what the filesystem holding {@code dir} has free now (it does not follow later changes). */
  public static long freeSpace(Path dir) throws IOException {
    Files.createDirectories(dir);
    long free = Files.getFileStore(dir).getUsableSpace();
    if (free <= 0) {
      throw new IOException("the filesystem holding " + dir + " has no free space; give a capacity");
    }
    return free;
  }

  /** The file in the data directory that names the cluster this daemon's data belongs to. */
  static final String CLUSTER_FILE = "cluster-id";

  private volatile String refused;

  /** Why the metadata service refused this daemon for good (another cluster's data), or null. */
  public String refusal() {
    return refused;
  }

  private String storedClusterId() {
    try {
      Path f = cfg.dir().resolve(CLUSTER_FILE);
      return Files.exists(f) ? Files.readString(f).trim() : "";
    } catch (IOException e) {
      return "";
    }
  }

  /**
   * The file in the data directory that keeps the cluster's write key (chunk tokens), so a daemon restarted while
   * the metadata service is away still takes writes. Readable by its owner only.
   */
  public static final String WRITE_KEY_FILE = "write-key";

  /** The write key kept in {@code dir}, or null (a new daemon; an unreadable or damaged file is ignored). */
  public static byte[] storedWriteKey(Path dir) {
    try {
      Path f = dir.resolve(WRITE_KEY_FILE);
      byte[] key = Files.exists(f) ? HexFormat.of().parseHex(Files.readString(f).trim()) : null;
      return key != null && key.length == ChunkTokens.KEY_BYTES ? key : null;
    } catch (IOException | IllegalArgumentException e) {
      LOG.warn("ignoring the write key in {}: {}", dir, e.getMessage());
      return null;
    }
  }

  /** Writes {@code key} into {@code dir} (owner-only permissions, replaced atomically). */
  public static void storeWriteKey(Path dir, byte[] key) throws IOException {
    Files.createDirectories(dir);
    Path tmp = dir.resolve(WRITE_KEY_FILE + ".tmp");
    Files.deleteIfExists(tmp);
    Files.createFile(tmp, java.nio.file.attribute.PosixFilePermissions.asFileAttribute(
        java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")));
    Files.writeString(tmp, HexFormat.of().formatHex(key) + "\n");
    Files.move(tmp, dir.resolve(WRITE_KEY_FILE), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * After a registration: remember the cluster in the data directory (a later start proves it) and take the
   * cluster's write key (kept there too).
   */
  private void remember(DaemonRegistration reg) {
    try {
      Path f = cfg.dir().resolve(CLUSTER_FILE);
      if (!Files.exists(f) && !reg.getClusterId().isEmpty()) {
        Files.writeString(f, reg.getClusterId() + "\n");
      }
    } catch (IOException e) {
      LOG.warn("storage {}: cannot record the cluster id in {}: {}", cfg.id(), cfg.dir(), e.getMessage());
    }
    if (reg.getWriteKey().isEmpty()) {
      LOG.warn("storage {}: the metadata service gave no write key; writes are refused until it does", cfg.id());
      return;
    }
    byte[] key = reg.getWriteKey().toByteArray();
    authority.set(key);
    if (!java.util.Arrays.equals(key, storedWriteKey(cfg.dir()))) {
      try {
        storeWriteKey(cfg.dir(), key);
      } catch (IOException e) {
        LOG.warn("storage {}: cannot keep the write key in {} (a restart then waits for registration before it takes "
            + "writes): {}", cfg.id(), cfg.dir(), e.getMessage());
      }
    }
  }

  private void register() {
    StorageDaemon self = StorageDaemon.newBuilder().setClusterId(storedClusterId())
        .setId(cfg.id()).setAddress(cfg.advertised().toString()).setCapacityBytes(cfg.capacityBytes()).setDiskId(diskId)
        .setRaftAddress(cfg.raftListen() == null ? "" : cfg.raftListen().toString())
        .build();
    try {
      registerUntilClosed(self);
    } finally {
      // Also closes channels the client opened while close() ran (e.g. toward a leader hint).
      meta.close();
    }
  }

  private void registerUntilClosed(StorageDaemon self) {
    long backoff = BACKOFF_MIN.toMillis();
    String lastProblem = null;
    while (!closed.get()) {
      attempts.incrementAndGet();
      try {
        remember(meta.registerDaemon(self));
        registered.countDown();
        LOG.info("storage {} registered with the metadata service as {}", cfg.id(), self.getAddress());
        return;
      } catch (io.shoalfs.client.MetaException e) {
        if (e.code() == io.shoalfs.proto.meta.Code.EPERM) {
          refused = e.getMessage();
          LOG.error("storage {} refused by the metadata service: {}", cfg.id(), e.getMessage());
          return;
        }
        String problem = e.getMessage();
        if (!closed.get() && !Objects.equals(problem, lastProblem)) {
          LOG.info("storage {} not registered yet, retrying: {}", cfg.id(), problem);
          lastProblem = problem;
        }
      } catch (Exception e) {
        // One line when the reason changes, not one per attempt: a daemon may wait minutes for the cluster.
        String problem = e.getMessage();
        if (!closed.get() && !Objects.equals(problem, lastProblem)) {
          LOG.info("storage {} not registered yet, retrying: {}", cfg.id(), problem);
          lastProblem = problem;
        }
      }
      try {
        if (closing.await(backoff, TimeUnit.MILLISECONDS)) {
          return;
        }
      } catch (InterruptedException e) {
        return;
      }
      backoff = Math.min(backoff * 2, BACKOFF_MAX.toMillis());
    }
  }

  /** Waits up to {@code timeout} for the metadata service to accept this daemon; true once it has. */
  public boolean awaitRegistered(Duration timeout) {
    try {
      return registered.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  public boolean isRegistered() {
    return registered.getCount() == 0;
  }

  /** How many times registration has been tried so far (tests and status). */
  public long registrationAttempts() {
    return attempts.get();
  }

  public String id() {
    return cfg.id();
  }

  /** This daemon's storage groups (null: started without a raft address). */
  public StorageGroups groups() {
    return groups;
  }

  /** This daemon's own chunk store (tests look at one member's copy of a replicated chunk). */
  public ChunkStore store() {
    return store;
  }

  /** The daemon's figures, tagged {@code daemon=ID}: capacity and use, its RocksDB, its storage groups. */
  private static MeterGroup metrics(String id, ChunkStore store, StorageGroups groups) {
    MeterGroup m = new MeterGroup("daemon", id);
    m.gauge("shoal.storage.capacity.bytes", "bytes of chunk data this daemon accepts", store,
        ChunkStore::capacityBytes);
    m.gauge("shoal.storage.used.bytes", "bytes of chunk data stored", store, ChunkStore::usedBytes);
    m.rocksdb("chunks", () -> store.rocks().db());
    if (groups != null) {
      m.gauge("shoal.storage.groups", "replicated storage groups this daemon is a member of", groups,
          StorageGroups::groupCount);
      m.gauge("shoal.storage.repaired.blocks", "blocks repaired from another member's copy since start", groups,
          StorageGroups::repairedBlocks);
    }
    return m;
  }

  /** What {@code /healthz} answers: healthy while serving and registered with the metadata service. */
  public MetricsServer.Health health() {
    if (closed.get()) {
      return MetricsServer.Health.failing("storage " + cfg.id() + " is stopping");
    }
    return isRegistered() ? MetricsServer.Health.ok("storage " + cfg.id() + " serving on " + cfg.listen())
        : MetricsServer.Health.failing("storage " + cfg.id() + " not registered with the metadata service yet");
  }

  public HostPort address() {
    return cfg.listen();
  }

  /** Stops registering, stops serving (running calls get a short grace), closes the store. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    LOG.info("storage {} stopping", cfg.id());
    closing.countDown();
    // Closing the client cancels a registration call in flight; the registrar then sees `closed` and ends
    // within one REGISTER_ATTEMPT at most, so close() need not wait for it.
    meta.close();
    GrpcServers.stop(grpc, GRPC_GRACE_MILLIS);
    if (groups != null) {
      groups.close();
    }
    metrics.close();
    store.close();
    LOG.info("storage {} stopped", cfg.id());
  }
}
