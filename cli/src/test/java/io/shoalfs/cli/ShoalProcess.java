package io.shoalfs.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A real {@code bin/shoal} process for end-to-end tests: its stdout and stderr lines, signals, cleanup. */
final class ShoalProcess implements AutoCloseable {
  final Process process;
  final List<String> out = new CopyOnWriteArrayList<>();
  final List<String> err = new CopyOnWriteArrayList<>();
  private final List<ProcessHandle> seen = new CopyOnWriteArrayList<>();

  private ShoalProcess(Process process) {
    this.process = process;
    pump(process.getInputStream(), out);
    pump(process.getErrorStream(), err);
  }

  static Path projectRoot() {
    String root = System.getProperty("shoal.project.root");
    Path p = root != null ? Path.of(root) : Path.of("..");
    if (!Files.isExecutable(p.resolve("bin/shoal"))) {
      throw new IllegalStateException("bin/shoal not found under " + p.toAbsolutePath());
    }
    return p.toAbsolutePath().normalize();
  }

  static ShoalProcess start(Path workDir, Map<String, String> env, String... args) throws IOException {
    return startProgram(projectRoot().resolve("bin/shoal"), workDir, env, args);
  }

  /** Runs {@code program} (a {@code bin/shoal} somewhere else, such as an image's layout) with {@code args}. */
  static ShoalProcess startProgram(Path program, Path workDir, Map<String, String> env, String... args)
      throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(program.toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
    pb.environment().putAll(env);
    return new ShoalProcess(pb.start());
  }

  static ShoalProcess start(Path workDir, String... args) throws IOException {
    return start(workDir, Map.of(), args);
  }

  private static void pump(java.io.InputStream in, List<String> sink) {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          sink.add(line);
        }
      } catch (IOException ignored) {
        // process ended
      }
    });
    t.setDaemon(true);
    t.start();
  }

  /** Waits for a stdout line starting with {@code prefix}; fails early if the process exits. */
  String awaitLine(String prefix, long timeoutSeconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (System.nanoTime() < deadline) {
      rememberDescendants();
      for (String l : out) {
        if (l.startsWith(prefix)) {
          return l;
        }
      }
      if (!process.isAlive()) {
        throw new AssertionError("shoal exited with " + process.exitValue() + " before '" + prefix + "'; stdout="
            + out + " stderr=" + lastErr(20));
      }
      Thread.sleep(100);
    }
    throw new AssertionError("no '" + prefix + "' line after " + timeoutSeconds + " s; stdout=" + out + " stderr="
        + lastErr(20));
  }

  /** Runs to completion (for commands that should fail fast); returns the exit code. */
  int waitFor(long timeoutSeconds) throws InterruptedException {
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      close();
      throw new AssertionError("shoal did not exit within " + timeoutSeconds + " s");
    }
    Thread.sleep(200); // let the pumps drain
    return process.exitValue();
  }

  void rememberDescendants() {
    process.descendants().forEach(p -> {
      if (!seen.contains(p)) {
        seen.add(p);
      }
    });
  }

  /** Every process this one started (as far as seen) that is still alive. */
  List<ProcessHandle> liveDescendants() {
    return seen.stream().filter(ProcessHandle::isAlive).toList();
  }

  void terminate() {
    rememberDescendants();
    process.destroy();
  }

  String lastErr(int n) {
    return String.join("\n", err.subList(Math.max(0, err.size() - n), err.size()));
  }

  /** Kills whatever is left, forcibly: the test's safety net. */
  @Override
  public void close() {
    rememberDescendants();
    process.destroyForcibly();
    for (ProcessHandle p : seen) {
      p.destroyForcibly();
    }
  }
}
