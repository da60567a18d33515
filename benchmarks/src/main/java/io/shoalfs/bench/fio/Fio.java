package io.shoalfs.bench.fio;

import io.shoalfs.common.cli.UserError;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/** The fio binary: found on PATH, run on one job file with its parameters in the environment. */
public final class Fio {
  public static final String NOT_FOUND = "fio not found: install fio (apt-get install fio)";

  private final Path binary;
  /** The run in progress, so a SIGTERM to `shoal bench` does not leave fio writing on its own. */
  private final AtomicReference<Process> running = new AtomicReference<>();

  private Fio(Path binary) {
    this.binary = binary;
  }

  public Path binary() {
    return binary;
  }

  /** Finds fio on {@code pathVariable} (a PATH value) or fails with {@link #NOT_FOUND}. */
  public static Fio locate(String pathVariable) {
    if (pathVariable != null) {
      for (String dir : pathVariable.split(File.pathSeparator)) {
        if (dir.isEmpty()) {
          continue;
        }
        Path candidate = Path.of(dir, "fio");
        if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return new Fio(candidate);
        }
      }
    }
    throw new UserError(NOT_FOUND);
  }

  /** One completed run: the parsed report and the command line that produced it (environment first). */
  public record Run(FioOutput output, String commandLine) {}

  /**
   * Runs {@code jobFile} with {@code env} added to the environment, writing fio's JSON report to
   * {@code jsonOut}. Waits at most {@code timeout}; fio is killed when that passes or this thread is
   * interrupted.
   */
  public Run run(Path jobFile, Map<String, String> env, Path jsonOut, Duration timeout) throws IOException {
    List<String> command = List.of(binary.toString(), "--output-format=json", "--output=" + jsonOut, jobFile.toString());
    // fio's messages (its report goes to jsonOut); the last line is the reason given when it fails.
    Path messages = Files.createTempFile("shoal-bench-fio", ".log");
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(messages.toFile());
    pb.environment().putAll(env);
    String commandLine = commandLine(env, command);
    Process process = pb.start();
    running.set(process);
    try {
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new UserError("fio did not finish within " + timeout.toSeconds() + "s: " + commandLine, 1);
      }
      if (process.exitValue() != 0) {
        throw new UserError("fio failed (exit " + process.exitValue() + "): " + lastLine(messages) + " [" + commandLine + "]", 1);
      }
      String json = Files.readString(jsonOut, StandardCharsets.UTF_8);
      return new Run(FioOutput.parse(json), commandLine);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError("interrupted while fio ran", 1);
    } finally {
      stop(process);
      running.set(null);
      Files.deleteIfExists(messages);
    }
  }

  /** Stops the fio run in progress, if any (for a shutdown hook). */
  public void stopRunning() {
    Process p = running.get();
    if (p != null) {
      stop(p);
    }
  }

  private static void stop(Process process) {
    if (!process.isAlive()) {
      return;
    }
    // fio forks a worker per job: stop the workers too, then fio itself, and wait a bounded time.
    process.descendants().forEach(ProcessHandle::destroyForcibly);
    process.destroyForcibly();
    try {
      process.waitFor(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** A copy-pasteable shell line: VAR=value ... fio args. */
  static String commandLine(Map<String, String> env, List<String> command) {
    List<String> parts = new ArrayList<>();
    new TreeMap<>(env).forEach((k, v) -> parts.add(k + "=" + shellQuote(v)));
    command.forEach(c -> parts.add(shellQuote(c)));
    return String.join(" ", parts);
  }

  private static String shellQuote(String s) {
    if (s.matches("[A-Za-z0-9_./=:,+@%-]+")) {
      return s;
    }
    return "'" + s.replace("'", "'\\''") + "'";
  }

  private static String lastLine(Path file) {
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
      return lines.isEmpty() ? "no message" : lines.getLast().trim();
    } catch (IOException e) {
      return "no message";
    }
  }
}
