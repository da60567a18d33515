package io.shoalfs.fuse;

import io.shoalfs.common.cli.Signals;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.metrics.MetricsServer;
import io.shoalfs.common.net.HostPort;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code shoal mount}: one FUSE client in the foreground. Prints {@code ready: MOUNTPOINT} once the mount
 * serves requests, then runs until SIGTERM or SIGINT (or until the mount is unmounted from outside), unmounts
 * and exits 0.
 */
@Command(name = "mount", mixinStandardHelpOptions = true,
    description = "Mount a Shoal volume with FUSE and serve it in the foreground until SIGTERM/SIGINT.")
public final class MountCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(MountCommand.class);

  @Option(names = "--meta", required = true, paramLabel = "ADDRS",
      description = "Metadata replicas as HOST:PORT,... (the addresses given to 'shoal meta --peers').")
  String meta;

  @Option(names = "--subvolume", paramLabel = "NAME", description = "Subvolume to mount (default: the root volume).")
  String subvolume;

  @Option(names = "-o", paramLabel = "OPT[,OPT...]", split = ",",
      description = "Extra mount options: libfuse3's (appended to fsname=shoal,subtype=shoal,allow_other,"
          + "default_permissions) and Shoal's kernel cache timeouts attr_timeout=S (1), entry_timeout=S (1), "
          + "negative_timeout=S (0.5).")
  List<String> options = new ArrayList<>();

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz (default: off).")
  String metricsListen;

  @Parameters(index = "0", paramLabel = "MOUNTPOINT", description = "An existing empty directory.")
  Path mountPoint;

  @Override
  public Integer call() throws Exception {
    CountDownLatch stop = new CountDownLatch(1);
    // Our handlers replace the JVM's (which would exit with 128+signal): a stop is an orderly return, exit 0.
    // Installed before mounting, so a signal during mount() unmounts right after it instead of leaking it.
    try (AutoCloseable restore = Signals.onTerminate(stop::countDown)) {
      return serve(stop);
    }
  }

  private int serve(CountDownLatch stop) throws InterruptedException {
    HostPort metricsAddr;
    try {
      metricsAddr = metricsListen == null ? null : HostPort.parse(metricsListen);
    } catch (IllegalArgumentException e) {
      throw new UserError("--metrics-listen: " + e.getMessage());
    }
    ShoalMount mount;
    try {
      mount = ShoalMount.mount(meta, subvolume, mountPoint, options);
    } catch (ShoalMount.BadRequestException e) {
      throw new UserError(e.getMessage());
    } catch (IOException e) {
      throw new UserError(e.getMessage(), 1);
    }
    // Safety net for a JVM exit that does not come through our signal handlers.
    Thread hook = new Thread(mount::close, "shoal-mount-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    MetricsServer http = null;
    try {
      if (metricsAddr != null) {
        try {
          http = MetricsServer.start(metricsAddr, mount::health);
        } catch (IOException e) {
          throw new UserError("--metrics-listen " + metricsAddr + ": " + e.getMessage(), 1);
        }
      }
      if (stop.getCount() > 0) {
        System.out.println("ready: " + mountPoint.toAbsolutePath().normalize());
        System.out.flush();
      }
      while (!stop.await(200, TimeUnit.MILLISECONDS)) {
        if (!mount.isServing()) {
          LOG.info("{} was unmounted from outside; stopping", mount.mountPoint());
          break;
        }
      }
      LOG.info("stopping: unmounting {}", mount.mountPoint());
    } finally {
      if (http != null) {
        http.close();
      }
      mount.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // The JVM is already shutting down; the hook finds the mount closed.
      }
    }
    return 0;
  }
}
