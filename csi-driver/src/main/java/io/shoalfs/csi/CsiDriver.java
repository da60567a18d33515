package io.shoalfs.csi;

import io.grpc.BindableService;
import io.shoalfs.client.MetaClient;
import io.shoalfs.common.metrics.GrpcTiming;
import io.shoalfs.common.metrics.MeterGroup;
import io.shoalfs.common.metrics.MetricsServer;
import io.shoalfs.csi.core.CsiError;
import io.shoalfs.csi.core.EphemeralVolumes;
import io.shoalfs.csi.core.Feature;
import io.shoalfs.csi.core.MetaProbe;
import io.shoalfs.csi.core.MetaVolumeBackend;
import io.shoalfs.csi.core.MountProcesses;
import io.shoalfs.csi.core.MountRecords;
import io.shoalfs.csi.core.MountStats;
import io.shoalfs.csi.core.Mounter;
import io.shoalfs.csi.core.NodeVolumes;
import io.shoalfs.csi.core.Snapshots;
import io.shoalfs.csi.core.VolumeBackend;
import io.shoalfs.csi.core.VolumeLocks;
import io.shoalfs.csi.core.Volumes;
import io.shoalfs.csi.grpc.ControllerService;
import io.shoalfs.csi.grpc.CsiServer;
import io.shoalfs.csi.grpc.GroupControllerService;
import io.shoalfs.csi.grpc.IdentityService;
import io.shoalfs.csi.grpc.NodeService;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;

/**
 * Wires the CSI services for one driver instance and owns what they need (metadata clients, the server). Closing
 * it stops serving and removes the socket; it deliberately leaves FUSE mounts alone (DESIGN decision 8).
 */
public final class CsiDriver implements AutoCloseable {
  /**
   * @param socket the unix socket to serve on
   * @param nodeId this node's id (NodeGetInfo)
   * @param metaAddrs ADDRS of the metadata service
   * @param controller serve the Controller service
   * @param node serve the Node service
   * @param stateDir where the node keeps its mount records and mount logs
   * @param mountTimeout how long a new FUSE mount may take to serve
   * @param mountJava java binary, flags and class path for mount processes
   * @param ephemeralSize the byte quota of an inline ephemeral volume whose attributes give no {@code size}
   */
  public record Config(Path socket, String nodeId, String metaAddrs, boolean controller, boolean node,
      Path stateDir, Duration mountTimeout, List<String> mountJava, long ephemeralSize) {
    /** With the default size of inline ephemeral volumes. */
    public Config(Path socket, String nodeId, String metaAddrs, boolean controller, boolean node, Path stateDir,
        Duration mountTimeout, List<String> mountJava) {
      this(socket, nodeId, metaAddrs, controller, node, stateDir, mountTimeout, mountJava,
          Volumes.DEFAULT_CAPACITY);
    }
  }

  private final MetaClient meta;
  private final MetaProbe probe;
  private final CsiServer server;

  private final MeterGroup metrics;

  private CsiDriver(MetaClient meta, MetaProbe probe, CsiServer server, MeterGroup metrics) {
    this.metrics = metrics;
    this.meta = meta;
    this.probe = probe;
    this.server = server;
  }

  public static CsiDriver start(Config cfg) throws IOException {
    if (!cfg.controller() && !cfg.node()) {
      throw new IllegalArgumentException("serve at least one of --controller and --node");
    }
    MetaClient meta = MetaClient.connect(cfg.metaAddrs());
    MeterGroup metrics = new MeterGroup("node", cfg.nodeId());
    MetaProbe probe = new MetaProbe(cfg.metaAddrs());
    VolumeLocks locks = new VolumeLocks();
    VolumeBackend backend = new MetaVolumeBackend(meta);
    Set<Feature> features = backend.features();
    Volumes volumes = new Volumes(meta, backend);
    List<BindableService> services = new ArrayList<>();
    services.add(new IdentityService(version(), cfg.controller(), probe::ready, features));
    if (cfg.controller()) {
      Snapshots snapshots = new Snapshots(backend, volumes);
      services.add(new ControllerService(volumes, snapshots, locks, features));
      services.add(new GroupControllerService(snapshots, locks, features));
    }
    if (cfg.node()) {
      MountProcesses processes = new MountProcesses(cfg.mountJava(), cfg.metaAddrs());
      MountRecords records = new MountRecords(cfg.stateDir());
      NodeVolumes nodeVolumes = new NodeVolumes(volumes, new Mounter(), processes, records, cfg.mountTimeout(),
          new MountStats(MountStats.DEFAULT_TIMEOUT));
      metrics.gauge("shoal.csi.mounts", "volumes staged on this node whose mount process runs", records,
          CsiDriver::liveMounts);
      EphemeralVolumes ephemeral = new EphemeralVolumes(nodeVolumes, volumes, cfg.stateDir(), cfg.ephemeralSize());
      services.add(new NodeService(cfg.nodeId(), nodeVolumes, ephemeral, locks, features));
      // Publishes a killed plugin left half-done: torn down in the background (kubelet retries them).
      Thread.ofPlatform().daemon().name("csi-ephemeral-recovery").start(() -> ephemeral.recoverUntilDone(locks));
    }
    try {
      return new CsiDriver(meta, probe, CsiServer.start(cfg.socket(), services,
          new GrpcTiming(metrics, "shoal.csi.requests", "CSI calls by method, arrival to reply")), metrics);
    } catch (IOException | RuntimeException e) {
      metrics.close();
      probe.close();
      meta.close();
      throw e;
    }
  }

  private static double liveMounts(MountRecords records) {
    try {
      return records.list().stream().filter(r -> MountProcesses.find(r.pid(), r.startMillis()).isPresent()).count();
    } catch (CsiError.Internal e) {
      return Double.NaN;
    }
  }

  /** What {@code /healthz} answers: healthy while the metadata service answers the driver's probe. */
  public MetricsServer.Health health() {
    return probe.ready() ? MetricsServer.Health.ok("serving " + socket())
        : MetricsServer.Health.failing("the metadata service does not answer");
  }

  /** The build's version, from a resource Maven fills in; never empty. */
  public static String version() {
    try (InputStream in = CsiDriver.class.getResourceAsStream("version.properties")) {
      if (in == null) {
        throw new IllegalStateException("version.properties is missing from the build");
      }
      Properties p = new Properties();
      p.load(in);
      String v = p.getProperty("version", "");
      if (v.isEmpty() || v.startsWith("${")) {
        throw new IllegalStateException("version.properties was not filtered by the build: '" + v + "'");
      }
      return v;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public Path socket() {
    return server.socket();
  }

  @Override
  public void close() {
    metrics.close();
    server.close();
    probe.close();
    meta.close();
  }
}
