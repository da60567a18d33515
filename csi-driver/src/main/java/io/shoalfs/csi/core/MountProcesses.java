package io.shoalfs.csi.core;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts and stops the FUSE mount processes. DESIGN decision 8: a mount must outlive the node plugin (a plugin
 * upgrade must not cut pods off their volumes), so each mount is its own JVM, started under setsid(1) so it
 * leaves the plugin's process group and session, with its output in a file instead of a pipe to the plugin.
 */
public final class MountProcesses {
  private static final Logger LOG = LoggerFactory.getLogger(MountProcesses.class);
  public static final String MAIN_CLASS = "io.shoalfs.fuse.MountMain";
  /** JVM flags a mount process needs as much as the plugin does; agents, debuggers and the like are dropped. */
  private static final List<String> INHERITED_FLAGS = List.of("--enable-native-access",
      "--sun-misc-unsafe-memory-access", "--add-opens", "--add-exports", "--add-modules", "-Djava.library.path",
      "-Djnr.", "-Djna.", "-Xmx", "-Xms", "-Xss", "-XX:MaxDirectMemorySize");
  private static final List<String> TWO_TOKEN_FLAGS = List.of("--add-opens", "--add-exports", "--add-modules");

  private final List<String> javaCommand;
  private final String metaAddrs;

  /**
   * @param javaCommand the java binary, JVM flags and class path to start {@link #MAIN_CLASS} with
   * @param metaAddrs ADDRS of the metadata service, handed to every mount
   */
  public MountProcesses(List<String> javaCommand, String metaAddrs) {
    this.javaCommand = List.copyOf(javaCommand);
    this.metaAddrs = metaAddrs;
  }

  /** The same java binary, safe JVM flags and class path as this JVM: mounts run the code the plugin ships. */
  public static List<String> currentJava() {
    String java = ProcessHandle.current().info().command()
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> cmd = new ArrayList<>();
    cmd.add(java);
    List<String> args = ManagementFactory.getRuntimeMXBean().getInputArguments();
    for (int i = 0; i < args.size(); i++) {
      String a = args.get(i);
      if (INHERITED_FLAGS.stream().anyMatch(a::startsWith)) {
        cmd.add(a);
        if (TWO_TOKEN_FLAGS.contains(a) && i + 1 < args.size()) {
          cmd.add(args.get(++i));
        }
      }
    }
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    return cmd;
  }

  /**
   * Starts a mount of the subvolume at the mount point; output goes to the log file, which each start truncates
   * so a mount the CO retries forever cannot grow it without bound.
   */
  public Process start(String subvolume, Path mountPoint, Path logFile) throws CsiError.Internal {
    List<String> cmd = new ArrayList<>();
    cmd.add("setsid");
    cmd.addAll(javaCommand);
    cmd.addAll(List.of(MAIN_CLASS, "--meta", metaAddrs, "--subvolume", subvolume, mountPoint.toString()));
    try {
      Files.createDirectories(logFile.getParent());
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.to(logFile.toFile()))
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
      LOG.info("started mount process {} for subvolume {} at {} (log {})", p.pid(), subvolume, mountPoint, logFile);
      return p;
    } catch (IOException e) {
      throw new CsiError.Internal("cannot start the mount process: " + e.getMessage(), e);
    }
  }

  /**
   * Waits for a process to exit; after {@code grace} sends SIGTERM, after {@code grace} more SIGKILL. Returns
   * false only if it survives SIGKILL for another {@code grace} (unkillable, e.g. stuck in the kernel).
   */
  public static boolean stop(ProcessHandle p, Duration grace) {
    if (waitExit(p, grace)) {
      return true;
    }
    LOG.info("mount process {} still running after {}: SIGTERM", p.pid(), grace);
    p.destroy();
    if (waitExit(p, grace)) {
      return true;
    }
    LOG.warn("mount process {} ignored SIGTERM: SIGKILL", p.pid());
    p.destroyForcibly();
    return waitExit(p, grace);
  }

  private static boolean waitExit(ProcessHandle p, Duration d) {
    try {
      p.onExit().get(d.toMillis(), TimeUnit.MILLISECONDS);
      return true;
    } catch (java.util.concurrent.TimeoutException e) {
      return !p.isAlive();
    } catch (java.util.concurrent.ExecutionException e) {
      return !p.isAlive();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !p.isAlive();
    }
  }

  /** The live process with this pid and start time; empty if it exited (or the pid now names another). */
  public static Optional<ProcessHandle> find(long pid, long startMillis) {
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(h -> h.info().startInstant().map(t -> t.toEpochMilli() == startMillis).orElse(true));
  }

  /** The last lines of a log, for an error message that says why a mount failed. */
  public static String tail(Path log, int lines) {
    try {
      List<String> all = Files.readAllLines(log);
      return String.join(" | ", all.subList(Math.max(0, all.size() - lines), all.size()));
    } catch (IOException e) {
      return "(no log: " + e.getMessage() + ")";
    }
  }
}
