package io.shoalfs.fuse.ll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** python3 (and shell tools) for what Java cannot do: mkfifo, xattrs, fcntl/flock locks, renameat2. */
final class Py {
  private Py() {}

  /** Runs a python3 script with args; returns stdout; fails the test on a non-zero exit or after 30 s. */
  static String run(String script, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
    cmd.addAll(List.of(args));
    return exec(cmd);
  }

  static String exec(List<String> cmd) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      boolean done = p.waitFor(30, TimeUnit.SECONDS);
      assertTrue(done, "timed out: " + cmd);
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(0, p.exitValue(), "exit status of " + cmd + "; stdout: " + out);
      return out;
    } finally {
      p.destroyForcibly();
    }
  }

  /** Starts a long-running python3 script (stdin/stdout piped); the caller destroys it in finally. */
  static Process start(String script, String... args) throws IOException {
    List<String> cmd = new ArrayList<>(List.of("python3", "-u", "-c", script));
    cmd.addAll(List.of(args));
    return new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
  }
}
