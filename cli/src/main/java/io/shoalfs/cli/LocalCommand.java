package io.shoalfs.cli;

import io.shoalfs.cli.local.ClusterLayout;
import io.shoalfs.cli.local.DirLock;
import io.shoalfs.cli.local.LocalCluster;
import io.shoalfs.cli.local.Preflight;
import io.shoalfs.common.cli.Signals;
import io.shoalfs.common.cli.UserError;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal local}: a whole cluster on this machine, each component its own process. */
@Command(
    name = "local",
    mixinStandardHelpOptions = true,
    description = {
      "Run a whole Shoal cluster on this machine: metadata replicas, storage daemons and a FUSE mount of the root",
      "volume, each its own process. Prints 'meta: ADDRS' and then 'ready: MOUNT'. Ctrl-C or SIGTERM unmounts",
      "and stops everything; data stays in --dir and is there again on the next start."
    })
public final class LocalCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCommand.class);

  @Option(names = "--dir", defaultValue = ".shoal", description = "Data directory (default: ${DEFAULT-VALUE}).")
  Path dir;

  @Option(names = "--mount", description = "Mount point: an existing empty directory (default: DIR/mnt, created).")
  Path mount;

  @Option(names = "--meta-replicas", defaultValue = "3", description = "Metadata replicas: 1, 3 or 5 (default: ${DEFAULT-VALUE}).")
  int metaReplicas;

  @Option(names = "--storage-daemons", defaultValue = "3", description = "Storage daemons (default: ${DEFAULT-VALUE}).")
  int storageDaemons;

  @Option(names = "--replication", paramLabel = "N",
      description = "Copies of each chunk: 1, 2 or 3 (default: 2 with 2 or more storage daemons, else 1).")
  Integer replicationOption;

  int replication;

  @Option(names = "--daemon-dead-after", defaultValue = "5m", paramLabel = "DURATION",
      description = "A storage daemon silent this long is replaced in its replicated groups (default: ${DEFAULT-VALUE}).")
  String daemonDeadAfter;

  @Override
  public Integer call() throws Exception {
    validate();
    Path data = dir.toAbsolutePath().normalize();
    Path mnt = (mount == null ? data.resolve("mnt") : mount).toAbsolutePath().normalize();
    Path libfuse = Preflight.libfuse(System.getenv());
    Preflight.devFuse();
    try {
      Files.createDirectories(data);
    } catch (IOException e) {
      throw new UserError("cannot create data directory " + data + ": " + e.getMessage());
    }
    try (DirLock lock = DirLock.acquire(data)) {
      Preflight.mountPoint(mnt, mount == null);
      ClusterLayout layout = ClusterLayout.loadOrCreate(data, metaReplicas, storageDaemons);
      LocalCluster.checkPorts(layout);
      return run(new LocalCluster(
          new LocalCluster.Options(data, mnt, metaReplicas, storageDaemons, libfuse, replication,
              daemonDeadAfter), layout));
    }
  }

  private int run(LocalCluster cluster) throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    Runnable onSignal = () -> {
      stop.countDown();
      // During start-up the main thread is busy waiting for components: stop them from here.
      cluster.close();
    };
    Signals.onTerminate(onSignal);
    Thread hook = new Thread(cluster::close, "shoal-local-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try {
      try {
        cluster.start(System.out);
      } catch (IOException e) {
        if (stop.getCount() == 0) {
          LOG.info("stopped during start-up");
          return 0;
        }
        throw new UserError("start-up failed: " + e.getMessage(), 1);
      }
      CompletableFuture<String> fatal = cluster.fatal();
      fatal.thenRun(stop::countDown);
      stop.await();
      if (fatal.isDone()) {
        cluster.close();
        throw new UserError(fatal.join(), 1);
      }
      cluster.close();
      LOG.info("stopped");
      return 0;
    } finally {
      cluster.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway
      }
    }
  }

  private void validate() {
    io.shoalfs.meta.MetaCommand.duration("--daemon-dead-after", daemonDeadAfter);
    if (metaReplicas < 1 || metaReplicas > 7 || metaReplicas % 2 == 0) {
      throw new UserError("--meta-replicas must be 1, 3, 5 or 7 (an odd number keeps a majority), got " + metaReplicas);
    }
    if (storageDaemons < 1 || storageDaemons > 32) {
      throw new UserError("--storage-daemons must be between 1 and 32, got " + storageDaemons);
    }
    replication = replicationOption != null ? replicationOption : storageDaemons >= 2 ? 2 : 1;
    if (replication < 1 || replication > storageDaemons) {
      throw new UserError("--replication must be between 1 and --storage-daemons (" + storageDaemons + "), got "
          + replication);
    }
    if (replication > 3) {
      throw new UserError("--replication must be 1, 2 or 3, got " + replication);
    }
  }
}
