package io.shoalfs.csi;

import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.Signals;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.metrics.MetricsServer;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.csi.core.MountProcesses;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal csi}: the CSI driver (Identity plus Controller and/or Node) on a unix socket. */
@Command(name = "csi", mixinStandardHelpOptions = true,
    description = "Serve the Shoal CSI driver (csi.shoalfs.io) on a unix socket.")
public final class CsiCommand implements Callable<Integer> {
  @Option(names = "--endpoint", required = true, paramLabel = "unix:///PATH",
      description = "Socket to serve on, e.g. unix:///csi/csi.sock (created with mode 0660).")
  String endpoint;

  @Option(names = "--node-id", required = true, paramLabel = "N", description = "This node's id (NodeGetInfo).")
  String nodeId;

  @Option(names = "--meta", required = true, paramLabel = "ADDRS",
      description = "Metadata replicas, HOST:PORT[,HOST:PORT...].")
  String meta;

  @Option(names = "--controller", description = "Serve the Controller service (provisioning).")
  boolean controller;

  @Option(names = "--node", description = "Serve the Node service (mounting on this node).")
  boolean node;

  @Option(names = "--state-dir", paramLabel = "DIR", defaultValue = "/var/lib/shoal/csi",
      description = "Where the node service keeps mount records and mount logs (default: ${DEFAULT-VALUE}).")
  Path stateDir;

  @Option(names = "--mount-timeout", paramLabel = "SECONDS", defaultValue = "60",
      description = "How long a new FUSE mount may take to serve before staging fails (default: ${DEFAULT-VALUE}).")
  int mountTimeoutSeconds;

  @Option(names = "--ephemeral-size", paramLabel = "SIZE", defaultValue = "1Gi",
      description = "Byte quota of an inline ephemeral volume whose attributes give no size (default: ${DEFAULT-VALUE}).")
  String ephemeralSize;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz (default: off).")
  String metricsListen;

  @Override
  public Integer call() throws Exception {
    if (!controller && !node) {
      throw new UserError("give --controller, --node or both");
    }
    if (!endpoint.startsWith("unix://") || endpoint.length() <= "unix://".length()) {
      throw new UserError("--endpoint must be unix:///PATH, got '" + endpoint + "'");
    }
    Path socket = Path.of(endpoint.substring("unix://".length()));
    if (!socket.isAbsolute()) {
      throw new UserError("--endpoint must be an absolute unix:///PATH, got '" + endpoint + "'");
    }
    if (mountTimeoutSeconds < 1) {
      throw new UserError("--mount-timeout must be at least 1 second");
    }
    long defaultEphemeral;
    try {
      defaultEphemeral = Sizes.parse(ephemeralSize);
    } catch (IllegalArgumentException e) {
      throw new UserError("--ephemeral-size: " + e.getMessage());
    }
    if (defaultEphemeral <= 0) {
      throw new UserError("--ephemeral-size must be positive");
    }
    HostPort metricsAddr;
    try {
      metricsAddr = metricsListen == null ? null : HostPort.parse(metricsListen);
    } catch (IllegalArgumentException e) {
      throw new UserError("--metrics-listen: " + e.getMessage());
    }
    CsiDriver driver = CsiDriver.start(new CsiDriver.Config(socket, nodeId, meta, controller, node, stateDir,
        Duration.ofSeconds(mountTimeoutSeconds), MountProcesses.currentJava(), defaultEphemeral));
    // SIGTERM: stop serving and remove the socket, but leave the FUSE mounts running (decision 8): pods keep
    // their volumes while the plugin restarts or upgrades.
    CountDownLatch stop = new CountDownLatch(1);
    try (AutoCloseable restore = Signals.onTerminate(stop::countDown);
        AutoCloseable http = metricsAddr == null ? null : MetricsServer.start(metricsAddr, driver::health)) {
      Thread hook = new Thread(driver::close, "csi-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      System.out.println("ready: csi unix://" + socket);
      System.out.flush();
      stop.await();
      driver.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway; close() is idempotent
      }
    }
    return 0;
  }
}
