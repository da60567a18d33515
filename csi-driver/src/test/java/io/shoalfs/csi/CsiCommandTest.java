package io.shoalfs.csi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.net.Ports;
import io.shoalfs.csi.core.MountProcesses;
import io.shoalfs.csi.grpc.CsiServer;
import io.shoalfs.proto.csi.GetPluginInfoRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code shoal csi} as a real process: its flags, its ready line, and a clean SIGTERM. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class CsiCommandTest {
  @TempDir
  Path tmp;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process p : started) {
      p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
    }
  }

  private Process csi(String... args) throws Exception {
    return csi(java.util.Map.of(), args);
  }

  private Process csi(java.util.Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(MountProcesses.currentJava());
    cmd.add(CsiMain.class.getName());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(tmp.resolve("stderr.txt").toFile())
        .redirectOutput(tmp.resolve("stdout.txt").toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    started.add(p);
    return p;
  }

  private String stderr() throws Exception {
    return Files.readString(tmp.resolve("stderr.txt"));
  }

  /** The ready line, waited for (bounded) while the process lives. */
  private List<String> awaitStdout(Process p) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && p.isAlive()) {
      List<String> lines = Files.readAllLines(tmp.resolve("stdout.txt"));
      if (!lines.isEmpty()) {
        return lines;
      }
      Thread.sleep(50);
    }
    return Files.readAllLines(tmp.resolve("stdout.txt"));
  }

  @Test
  void servesUntilSigtermThenExitsZeroAndRemovesTheSocket() throws Exception {
    Path socket = tmp.resolve("plugin/csi.sock");
    Process p = csi("--endpoint", "unix://" + socket, "--node-id", "n1", "--meta",
        "127.0.0.1:" + Ports.freePortPair(), "--controller", "--node", "--state-dir", tmp.resolve("state").toString());
    List<String> out = awaitStdout(p);
    assertEquals(List.of("ready: csi unix://" + socket), out, "stderr: " + stderr());
    assertTrue(CsiServer.SOCKET_MODE.containsAll(Files.getPosixFilePermissions(socket)));
    try (CsiClient c = new CsiClient(socket)) {
      assertEquals("csi.shoalfs.io", c.identity().getPluginInfo(GetPluginInfoRequest.getDefaultInstance()).getName());
    }
    p.destroy(); // SIGTERM
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), "stops within 30 s");
    assertEquals(0, p.exitValue(), "stderr: " + stderr());
    assertFalse(Files.exists(socket), "socket removed");
    assertEquals(List.of("ready: csi unix://" + socket), Files.readAllLines(tmp.resolve("stdout.txt")),
        "exactly one line on stdout");
  }

  @Test
  void logsAtTheLevelTheEnvironmentGives() throws Exception {
    Path socket = tmp.resolve("plugin/csi.sock");
    Process p = csi(java.util.Map.of("SHOAL_LOG_LEVEL", "warn"), "--endpoint", "unix://" + socket, "--node-id",
        "n1", "--meta", "127.0.0.1:" + Ports.freePortPair(), "--node", "--state-dir", tmp.resolve("state").toString());
    assertEquals(List.of("ready: csi unix://" + socket), awaitStdout(p), "stderr: " + stderr());
    p.destroy();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    // At info the driver logs "listening on unix://..." and "stopped serving": at warn, neither.
    assertFalse(stderr().contains("[INFO]"), "no INFO line at SHOAL_LOG_LEVEL=warn: " + stderr());
  }

  @Test
  void refusesToServeNothing() throws Exception {
    Process p = csi("--endpoint", "unix://" + tmp.resolve("x.sock"), "--node-id", "n1", "--meta", "127.0.0.1:9860");
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue());
    List<String> err = Files.readAllLines(tmp.resolve("stderr.txt"));
    assertEquals(1, err.size(), "one-line error: " + err);
    assertTrue(err.get(0).contains("--controller"), err.get(0));
  }

  @Test
  void refusesNonUnixEndpoints() throws Exception {
    Process p = csi("--endpoint", "tcp://127.0.0.1:1234", "--node-id", "n1", "--meta", "127.0.0.1:9860", "--node");
    assertTrue(p.waitFor(30, TimeUnit.SECONDS));
    assertEquals(2, p.exitValue());
    List<String> err = Files.readAllLines(tmp.resolve("stderr.txt"));
    assertEquals(1, err.size(), "one-line error: " + err);
    assertTrue(err.get(0).contains("unix://"), err.get(0));
  }
}
