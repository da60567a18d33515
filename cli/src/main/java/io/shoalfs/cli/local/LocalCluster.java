package io.shoalfs.cli.local;

import io.shoalfs.common.cli.UserError;
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
 */
public final class LocalCluster implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LocalCluster.class);
  private static final long START_TIMEOUT_SECONDS = 120;
  private static final long STOP_GRACE_SECONDS = 20;

  public record Options(Path dir, Path mount, int metaReplicas, int storageDaemons, Path libfuse) {}

  private final Options options;
  private final ClusterLayout layout;
  private final List<Component> metas = new ArrayList<>();
  private final List<Component> storages = new ArrayList<>();
  private Component mount;
  private volatile boolean stopping;
  private boolean closed;

  public LocalCluster(Options options, ClusterLayout layout) {
    this.options = options;
    this.layout = layout;
  }

  /** Starts everything; prints {@code meta: ADDRS} and {@code ready: MOUNT} to {@code out} as they happen. */
  public void start(PrintStream out) throws IOException {
    Path logs = options.dir().resolve("logs");
    for (int i = 0; i < layout.metaPorts().size(); i++) {
      String id = ClusterLayout.metaId(i);
      metas.add(Component.start("meta-" + id, command("meta", "--id", id, "--peers", layout.metaPeers(),
          "--dir", options.dir().resolve("meta").resolve(id).toString()), logs));
    }
    for (Component c : metas) {
      LOG.info("{} ready: {}", c.name(), c.awaitReady(START_TIMEOUT_SECONDS));
    }
    out.println("meta: " + layout.metaAddrs());
    out.flush();
    for (int i = 0; i < layout.storagePorts().size(); i++) {
      String id = ClusterLayout.storageId(i);
      storages.add(Component.start("storage-" + id, command("storage", "--id", id, "--meta", layout.metaAddrs(),
          "--dir", options.dir().resolve("storage").resolve(id).toString(),
          "--listen", ClusterLayout.HOST + ":" + layout.storagePorts().get(i)), logs));
    }
    for (Component c : storages) {
      LOG.info("{} ready: {}", c.name(), c.awaitReady(START_TIMEOUT_SECONDS));
    }
    mount = Component.start("mount", command("mount", "--meta", layout.metaAddrs(), options.mount().toString()), logs);
    LOG.info("mount ready: {}", mount.awaitReady(START_TIMEOUT_SECONDS));
    out.println("ready: " + options.mount());
    out.flush();
  }

  /** Completes when any component exits on its own (not while stopping). */
  public CompletableFuture<Component> anyExit() {
    List<CompletableFuture<Component>> exits = new ArrayList<>();
    for (Component c : all()) {
      exits.add(c.process().onExit().thenApply(p -> c));
    }
    CompletableFuture<Component> first = new CompletableFuture<>();
    for (CompletableFuture<Component> f : exits) {
      f.thenAccept(c -> {
        if (!stopping) {
          first.complete(c);
        }
      });
    }
    return first;
  }

  private List<Component> all() {
    List<Component> all = new ArrayList<>(metas);
    all.addAll(storages);
    if (mount != null) {
      all.add(mount);
    }
    return all;
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
      mount.stop(STOP_GRACE_SECONDS);
    }
    // If the mount process died hard, the kernel still has the mount: detach it so nothing hangs on it.
    if (Preflight.isMounted(options.mount())) {
      LOG.warn("{} is still mounted after the mount process ended; detaching it", options.mount());
      runQuietly("fusermount3", "-u", "-z", options.mount().toString());
      if (Preflight.isMounted(options.mount())) {
        runQuietly("umount", "-l", options.mount().toString());
      }
    }
    stopAll(storages, "storage daemons");
    stopAll(metas, "metadata replicas");
  }

  private static void stopAll(List<Component> components, String what) {
    if (components.isEmpty()) {
      return;
    }
    LOG.info("stopping {}", what);
    List<Component> reversed = new ArrayList<>(components);
    Collections.reverse(reversed);
    for (Component c : reversed) {
      c.process().destroy();
    }
    for (Component c : reversed) {
      c.stop(STOP_GRACE_SECONDS);
    }
  }

  private static void runQuietly(String... cmd) {
    try {
      new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start().waitFor(10, TimeUnit.SECONDS);
    } catch (IOException e) {
      LOG.debug("{} not available: {}", cmd[0], e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
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
