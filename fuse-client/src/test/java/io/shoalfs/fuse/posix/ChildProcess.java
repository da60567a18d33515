package io.shoalfs.fuse.posix;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/** A real child process with its output lines (stdout and stderr, merged), for the POSIX tests. */
final class ChildProcess implements AutoCloseable {
  /** How long close() lets a process end after SIGTERM before SIGKILL. */
  private static final Duration TERM_WAIT = Duration.ofSeconds(20);
  /** Lines kept per process: a bound, in case a tool is chattier than expected. */
  private static final int MAX_LINES = 20_000;

  private final Process process;
  private final String name;
  private final List<String> lines = new CopyOnWriteArrayList<>();
  private final Thread pump;

  private ChildProcess(Process process, List<String> cmd) {
    this.process = process;
    this.name = describe(cmd);
    this.pump = new Thread(() -> pump(process.getInputStream()), "pump-" + cmd.get(0));
    pump.setDaemon(true);
    pump.start();
  }

  static ChildProcess start(Path cwd, List<String> cmd) throws IOException {
    return start(cwd, Map.of(), cmd);
  }

  static ChildProcess start(Path cwd, Map<String, String> env, List<String> cmd) throws IOException {
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(cwd.toFile()).redirectErrorStream(true);
    pb.environment().putAll(env);
    return new ChildProcess(pb.start(), cmd);
  }

  /** The result of {@link #run}: exit code and all output. */
  record Result(int exit, String output, List<String> cmd) {
    Result ok() {
      if (exit != 0) {
        throw new AssertionError(describe(cmd) + " exited " + exit + ":\n" + tail(output));
      }
      return this;
    }
  }

  /** Runs a command to completion within {@code timeout} (then it is killed and the call fails). */
  static Result run(Path cwd, Map<String, String> env, Duration timeout, String... cmd)
      throws IOException, InterruptedException {
    try (ChildProcess p = start(cwd, env, List.of(cmd))) {
      if (!p.process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new AssertionError(describe(List.of(cmd)) + " did not finish within " + timeout + ":\n"
            + tail(p.output()));
      }
      p.pump.join(5_000);
      return new Result(p.process.exitValue(), p.output(), List.of(cmd));
    }
  }

  static Result run(Path cwd, Duration timeout, String... cmd) throws IOException, InterruptedException {
    return run(cwd, Map.of(), timeout, cmd);
  }

  private void pump(InputStream in) {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (lines.size() < MAX_LINES) {
          lines.add(line);
        }
      }
    } catch (IOException ignored) {
      // the process ended
    }
  }

  List<String> lines() {
    return lines;
  }

  String output() {
    return String.join("\n", lines);
  }

  boolean isAlive() {
    return process.isAlive();
  }

  /** Waits for an output line starting with {@code prefix}; fails if the process exits first or time runs out. */
  String awaitLine(String prefix, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int seen = 0;
    while (true) {
      List<String> snapshot = new ArrayList<>(lines);
      for (int i = seen; i < snapshot.size(); i++) {
        if (snapshot.get(i).startsWith(prefix)) {
          return snapshot.get(i);
        }
      }
      seen = snapshot.size();
      if (!process.isAlive()) {
        pump.join(2_000);
        for (String l : lines) {
          if (l.startsWith(prefix)) {
            return l;
          }
        }
        throw new AssertionError(name + " exited " + process.exitValue() + " before a '" + prefix + "' line:\n"
            + tail(output()));
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no '" + prefix + "' line from " + name + " within " + timeout + ":\n"
            + tail(output()));
      }
      Thread.sleep(5);
    }
  }

  /** True if some output line starts with {@code prefix} by now. */
  boolean hasLine(String prefix) {
    return lines.stream().anyMatch(l -> l.startsWith(prefix));
  }

  void send(String line) throws IOException {
    OutputStream out = process.getOutputStream();
    out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
    out.flush();
  }

  int waitFor(Duration timeout) throws InterruptedException {
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      throw new AssertionError(name + " did not exit within " + timeout + ":\n" + tail(output()));
    }
    pump.join(2_000);
    return process.exitValue();
  }

  /** SIGKILL, and wait until it is gone. */
  void kill() throws InterruptedException {
    process.destroyForcibly();
    process.waitFor(10, TimeUnit.SECONDS);
  }

  /** SIGTERM, a bounded wait, then SIGKILL of it and anything it started. */
  @Override
  public void close() {
    List<ProcessHandle> kids = process.descendants().toList();
    process.destroy();
    try {
      if (!process.waitFor(TERM_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    kids.forEach(ProcessHandle::destroyForcibly);
  }

  /** The command for a message, with very long arguments (a class path) shortened. */
  static String describe(List<String> cmd) {
    return String.join(" ", cmd.stream().map(a -> a.length() <= 200 ? a : "<" + a.length() + " chars>").toList());
  }

  static String tail(String s) {
    return s.length() <= 6000 ? s : "..." + s.substring(s.length() - 6000);
  }
}
