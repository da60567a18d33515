package io.shoalfs.cli.local;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One component process of a local cluster (a metadata replica, a storage daemon, the mount). Its stderr and
 * stdout go to {@code DIR/logs/NAME.log}; the first stdout line starting with {@code ready:} marks it ready.
 */
public final class Component {
  private final String name;
  private final Process process;
  private final Path log;
  private final CompletableFuture<String> ready = new CompletableFuture<>();

  private Component(String name, Process process, Path log) {
    this.name = name;
    this.process = process;
    this.log = log;
  }

  public static Component start(String name, List<String> command, Path logDir) throws IOException {
    Files.createDirectories(logDir);
    Path log = logDir.resolve(name + ".log");
    Files.writeString(log, "---- start " + java.time.Instant.now() + ": " + String.join(" ", command) + "\n",
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    ProcessBuilder pb = new ProcessBuilder(command)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Component c = new Component(name, pb.start(), log);
    c.pumpStdout();
    c.process.onExit().thenRun(() ->
        c.ready.completeExceptionally(new IOException(name + " exited with code " + c.process.exitValue())));
    return c;
  }

  private void pumpStdout() {
    Thread t = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
              new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
          OutputStream out = Files.newOutputStream(log, StandardOpenOption.APPEND)) {
        String line;
        while ((line = r.readLine()) != null) {
          out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
          out.flush();
          if (line.startsWith("ready:")) {
            ready.complete(line.substring("ready:".length()).trim());
          }
        }
      } catch (IOException ignored) {
        // the process is gone; onExit reports it
      }
    }, name + "-stdout");
    t.setDaemon(true);
    t.start();
  }

  /** Waits for the ready line; throws with the log's last lines if the process exits or time runs out. */
  public String awaitReady(long timeoutSeconds) throws IOException {
    try {
      return ready.get(timeoutSeconds, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new IOException(name + " was not ready after " + timeoutSeconds + " s" + tail());
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage() + tail());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while starting " + name);
    }
  }

  private String tail() {
    try {
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      List<String> last = new ArrayList<>();
      for (int i = lines.size() - 1; i >= 0 && last.size() < 1; i--) {
        if (!lines.get(i).isBlank()) {
          last.add(0, lines.get(i).trim());
        }
      }
      return "; last log line: " + String.join(" | ", last) + " (see " + log + ")";
    } catch (IOException e) {
      return " (see " + log + ")";
    }
  }

  public String name() {
    return name;
  }

  public Process process() {
    return process;
  }

  public Path log() {
    return log;
  }

  /** SIGTERM, wait up to {@code graceSeconds}, then SIGKILL (also any descendants). */
  public void stop(long graceSeconds) {
    if (!process.isAlive()) {
      return;
    }
    process.destroy();
    try {
      if (!process.waitFor(graceSeconds, TimeUnit.SECONDS)) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
