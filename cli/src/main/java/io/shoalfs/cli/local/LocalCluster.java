package io.shoalfs.cli.local;

import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.mount.FuseMounts;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the components of a local cluster as separate processes (the same commands a real cluster runs), in
 * dependency order, and stops them in reverse order: mount first (so it can flush), then storage, then metadata.
 * A component that dies is restarted (see {@link Supervised}); the cluster gives up only on a crash loop.
 */
public final class LocalCluster implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCluster.class);
  private static final long START_TIMEOUT_SECONDS = 120;
  private static final long STOP_GRACE_SECONDS = 20;

  public record Options(Path dir, Path mount, int metaReplicas, int storageDaemons, Path libfuse, int replication,
      String daemonDeadAfter) {
    public Options(Path dir, Path mount, int metaReplicas, int storageDaemons, Path libfuse) {
      this(dir, mount, metaReplicas, storageDaemons, libfuse, 1, "5m");
    }
  }

  private final Options options;
  private final ClusterLayout layout;
  private final Path logs;
  private final List<Supervised> metas = new ArrayList<>();
  private final List<Supervised> storages = new ArrayList<>();
  private Supervised mount;
  private final CompletableFuture<String> fatal = new CompletableFuture<>();
  private volatile boolean stopping;
  private boolean closed;

  public LocalCluster(Options options, ClusterLayout layout) {
    this.options = options;
    this.layout = layout;
    this.logs = options.dir().resolve("logs");
  }

  /** Starts everything; prints {@code meta: ADDRS} and {@code ready: MOUNT} to {@code out} as they happen. */
  public void start(PrintStream out) throws IOException {
    for (int i = 0; i < layout.metaPorts().size(); i++) {
      String id = ClusterLayout.metaId(i);
      metas.add(launch("meta-" + id, command("meta", "--id", id, "--peers", layout.metaPeers(),
          "--dir", options.dir().resolve("meta").resolve(id).toString(),
          "--replication", String.valueOf(options.replication()),
          "--daemon-dead-after", options.daemonDeadAfter())));
    }
    awaitReady(metas);
    out.println("meta: " + layout.metaAddrs());
    out.flush();
    for (int i = 0; i < layout.storagePorts().size(); i++) {
      String id = ClusterLayout.storageId(i);
      int port = layout.storagePorts().get(i);
      storages.add(launch("storage-" + id, command("storage", "--id", id, "--meta", layout.metaAddrs(),
          "--dir", options.dir().resolve("storage").resolve(id).toString(),
          "--listen", ClusterLayout.HOST + ":" + port, "--raft-listen", ClusterLayout.HOST + ":" + (port + 1))));
    }
    awaitReady(storages);
    if (options.replication() > 1) {
      awaitGroup(options.replication());
    }
    mount = launch("mount", command("mount", "--meta", layout.metaAddrs(), options.mount().toString()));
    awaitReady(List.of(mount));
    out.println("ready: " + options.mount());
    out.flush();
  }

  /** Completes, with a one-line reason, when a component keeps crashing and the cluster cannot go on. */
  public CompletableFuture<String> fatal() {
    return fatal;
  }

  /** Waits until the metadata leader formed a storage group of {@code r} daemons (the mount's first writes need it). */
  private void awaitGroup(int r) throws IOException {
    try (io.shoalfs.client.MetaClient client = io.shoalfs.client.MetaClient.connect(layout.metaAddrs())) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_TIMEOUT_SECONDS);
      while (System.nanoTime() < deadline && !stopping) {
        try {
          for (io.shoalfs.proto.meta.StorageGroup g : client.getLayout().getGroupsList()) {
            if (g.getReplicated() && g.getMembersCount() == r) {
              LOG.info("storage group {} formed", g.getGroupId());
              return;
            }
          }
        } catch (io.shoalfs.client.MetaException e) {
          // no leader yet: try again
        }
        try {
          Thread.sleep(200);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting for storage groups");
        }
      }
      throw new IOException("no storage group of " + r + " daemons was formed within " + START_TIMEOUT_SECONDS
          + " s; see " + logs.resolve("meta-m1.log"));
    }
  }

  private static void awaitReady(List<Supervised> slots) throws IOException {
    for (Supervised s : slots) {
      LOG.info("{} ready: {}", s.name(), s.current().awaitReady(START_TIMEOUT_SECONDS));
    }
  }

  private synchronized Supervised launch(String name, List<String> command) throws IOException {
    if (stopping) {
      throw new IOException("stopping");
    }
    Supervised s = new Supervised(name, command, logs);
    watch(s, s.start());
    return s;
  }

  private void watch(Supervised s, Component c) {
    c.process().onExit().thenRun(() -> Thread.ofVirtual().name("restart-" + s.name()).start(() -> restart(s, c)));
  }

  /** Replaces a dead component, after a backoff; gives up (fatal) on a crash loop. */
  private void restart(Supervised s, Component dead) {
    if (stopping) {
      return;
    }
    long backoff = s.nextBackoffMillis(System.nanoTime());
    int code = dead.process().exitValue();
    if (backoff < 0) {
      fatal.complete(s.name() + " exited with code " + code + " after " + Supervised.MAX_RESTARTS
          + " restarts within 10 minutes; stopped the cluster (see " + dead.log() + ")");
      return;
    }
    LOG.warn("{} exited with code {}; restarting in {} ms (restart {} of at most {} in 10 minutes)", s.name(), code,
        backoff, s.recentRestarts(), Supervised.MAX_RESTARTS);
    try {
      Thread.sleep(backoff);
      Component next;
      synchronized (this) {
        if (stopping) {
          return;
        }
        if (s == mount) {
          // The kernel keeps a dead FUSE mount ("Transport endpoint is not connected"): detach it first.
          detachMount();
        }
        next = s.start();
        watch(s, next);
      }
      LOG.info("{} restarted and ready: {}", s.name(), next.awaitReady(START_TIMEOUT_SECONDS));
    } catch (IOException e) {
      LOG.warn("{} restart failed: {}", s.name(), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public synchronized void close() {
    stopping = true;
    if (closed) {
      return;
    }
    closed = true;
    if (mount != null) {
      LOG.info("stopping mount");
      mount.current().stop(STOP_GRACE_SECONDS);
    }
    detachMount();
    stopAll(storages, "storage daemons");
    stopAll(metas, "metadata replicas");
  }

  /** If the mount process died hard, the kernel still has the mount: detach it so nothing hangs on it. */
  private void detachMount() {
    if (!FuseMounts.detach(options.mount())) {
      LOG.error("could not detach {}", options.mount());
    }
  }

  private static void stopAll(List<Supervised> slots, String what) {
    if (slots.isEmpty()) {
      return;
    }
    LOG.info("stopping {}", what);
    List<Component> reversed = new ArrayList<>();
    for (Supervised s : slots) {
      reversed.add(0, s.current());
    }
    for (Component c : reversed) {
      c.process().destroy();
    }
    for (Component c : reversed) {
      c.stop(STOP_GRACE_SECONDS);
    }
  }

  /**
   * The command line of a component: this JVM's java binary and class path, the JVM flags it was started with
   * that matter to components, and a parent watch so components never outlive a killed {@code shoal local}.
   */
  private List<String> command(String... args) {
    List<String> cmd = new ArrayList<>();
    if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      // Own session: a Ctrl-C in the terminal reaches only `shoal local`, which then stops components in order.
      cmd.add("/usr/bin/setsid");
    }
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("--enable-native-access") || a.startsWith("--sun-misc-unsafe-memory-access")
          || a.startsWith("-Dshoal.") && !a.startsWith("-Dshoal.parent.pid")) {
        cmd.add(a);
      }
    }
    cmd.add("-Xmx512m");
    cmd.add("-XX:+UseSerialGC");
    cmd.add("-Dshoal.parent.pid=" + ProcessHandle.current().pid());
    if (options.libfuse() != null) {
      cmd.add("-Djnr.ffi.library.path=" + options.libfuse().getParent());
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.shoalfs.cli.ShoalMain");
    Collections.addAll(cmd, args);
    return cmd;
  }

  /** Throws a UserError naming the busy ports if a restart cannot get the ports its cluster was created with. */
  public static void checkPorts(ClusterLayout layout) {
    List<Integer> busy = layout.busyPorts();
    if (!busy.isEmpty()) {
      throw new UserError("ports " + busy + " recorded for this cluster are in use by another program");
    }
  }
}
