package io.shoalfs.bench.jfr;

import io.shoalfs.common.cli.UserError;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * JFR recordings of other JVMs (a {@code shoal mount}, a {@code shoal meta} replica) through {@code jcmd}:
 * {@code JFR.start} before one part of the benchmark on Shoal, {@code JFR.stop filename=...} after it. The
 * mount is another process, so this is the only way the benchmark can profile it.
 */
public final class Jfr {
  private static final Logger LOG = LoggerFactory.getLogger(Jfr.class);
  /** jcmd attaches and returns within a second or two; a hung attach must not hang the benchmark. */
  static final Duration JCMD_TIMEOUT = Duration.ofSeconds(60);

  private final Path jcmd;
  private final List<Long> pids;

  private Jfr(Path jcmd, List<Long> pids) {
    this.jcmd = jcmd;
    this.pids = List.copyOf(pids);
  }

  /**
   * The jcmd of the JDK running this benchmark (so its version matches a Shoal JVM started the same way), for
   * live processes {@code pids}; one-line errors otherwise.
   */
  public static Jfr forPids(List<Long> pids) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    if (!Files.isExecutable(jcmd)) {
      throw new UserError("--jfr needs jcmd, which this Java runtime lacks (" + jcmd + "): run with a JDK");
    }
    for (long pid : pids) {
      if (ProcessHandle.of(pid).filter(ProcessHandle::isAlive).isEmpty()) {
        throw new UserError("--jfr: no running process with pid " + pid);
      }
    }
    return new Jfr(jcmd, pids);
  }

  public List<Long> pids() {
    return pids;
  }

  /** Starts recording {@code name} (JFR's "profile" settings: method samples every 10-20 ms) in every process. */
  public void start(String name) throws IOException {
    for (long pid : pids) {
      jcmd(pid, "JFR.start", "name=" + name, "settings=profile");
    }
  }

  /** Stops {@code name} in every process, writing {@code dir/NAME-PID.jfr}; returns the files, in pid order. */
  public List<Path> stop(String name, Path dir) throws IOException {
    Files.createDirectories(dir);
    List<Path> files = new ArrayList<>();
    IOException first = null;
    for (long pid : pids) {
      Path file = dir.resolve(name + "-" + pid + ".jfr").toAbsolutePath();
      try {
        jcmd(pid, "JFR.stop", "name=" + name, "filename=" + file);
        files.add(file);
      } catch (IOException e) {
        first = first == null ? e : first;
      }
    }
    if (first != null) {
      throw first;
    }
    return files;
  }

  private void jcmd(long pid, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(jcmd.toString(), Long.toString(pid)));
    cmd.addAll(List.of(args));
    Path out = Files.createTempFile("shoal-bench-jcmd", ".out");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
      if (!p.waitFor(JCMD_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException(String.join(" ", cmd) + " did not finish within " + JCMD_TIMEOUT.toSeconds() + " s");
      }
      String text = Files.readString(out, StandardCharsets.UTF_8);
      // jcmd exits 0 even when the diagnostic command failed; the failure is in its output.
      if (p.exitValue() != 0 || text.contains("Exception") || text.contains("Could not")) {
        throw new IOException(String.join(" ", cmd) + " failed: " + text.strip().replace('\n', ' '));
      }
      LOG.info("{}: {}", String.join(" ", cmd), text.strip().replace('\n', ' '));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", cmd));
    } finally {
      Files.deleteIfExists(out);
    }
  }
}
