package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.Ports;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.Subvolume;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code meta} as its own process: the ready line, a SIGKILL (RocksDB runs without its WAL, so the restart must
 * rebuild from the Raft log), and a SIGTERM that stops it cleanly with exit 0.
 */
class MetaProcessTest {
  @TempDir Path tmp;
  private final List<Process> processes = new ArrayList<>();

  @AfterEach
  void killLeftovers() throws InterruptedException {
    for (Process p : processes) {
      if (p.isAlive()) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  /** A started replica process and the lines it printed on stdout. */
  record Replica(Process process, BlockingQueue<String> stdout) {}

  private Replica start(int port) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (arg.startsWith("--enable-native-access") || arg.startsWith("--sun-misc-unsafe-memory-access")) {
        cmd.add(arg);
      }
    }
    cmd.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"), MetaMain.class.getName(),
        "--id", "a", "--peers", "a=127.0.0.1:" + port, "--dir", tmp.resolve("a").toString()));
    Process p = new ProcessBuilder(cmd)
        .redirectError(ProcessBuilder.Redirect.appendTo(tmp.resolve("stderr.log").toFile()))
        .start();
    processes.add(p);
    BlockingQueue<String> lines = new ArrayBlockingQueue<>(100);
    Thread.ofVirtual().start(() -> {
      try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line; (line = r.readLine()) != null; ) {
          lines.offer(line);
        }
      } catch (IOException e) {
        // The process went away: nothing more to read.
      }
    });
    return new Replica(p, lines);
  }

  private static void awaitReady(Replica r, int port) throws InterruptedException {
    String line = r.stdout().poll(60, TimeUnit.SECONDS);
    assertEquals("ready: meta a raft=127.0.0.1:" + port + " client=127.0.0.1:" + (port + 1), line);
  }

  @Test
  @Timeout(150)
  void survivesSigkillAndStopsOnSigterm() throws Exception {
    int port = Ports.freePortPair();
    Replica first = start(port);
    awaitReady(first, port);
    Map<String, Trees.Node> tree;
    StatFsReply fs;
    Subvolume sv;
    try (MetaClient c = MetaClient.connect("127.0.0.1:" + port)) {
      sv = RestartTest.writeTree(c, "p");
      tree = Trees.dump(c, Layout.ROOT_INO);
      fs = c.statFs(sv.getRootIno());
    }
    first.process().destroyForcibly(); // SIGKILL: no snapshot, no flush
    assertTrue(first.process().waitFor(30, TimeUnit.SECONDS));

    Replica second = start(port);
    awaitReady(second, port);
    try (MetaClient c = MetaClient.connect("127.0.0.1:" + port)) {
      assertEquals(tree, Trees.dump(c, Layout.ROOT_INO), "everything acknowledged before the kill is there");
      assertEquals(fs, c.statFs(sv.getRootIno()));
    }
    second.process().destroy(); // SIGTERM
    assertTrue(second.process().waitFor(60, TimeUnit.SECONDS), "stops on SIGTERM");
    assertEquals(0, second.process().exitValue());
    assertTrue(second.stdout().isEmpty(), "only the ready line goes to stdout: " + second.stdout());
    String log = Files.readString(tmp.resolve("stderr.log"));
    assertTrue(log.contains("meta a: leader is now a"), "one line per leader change on stderr");
    assertTrue(log.contains("meta a: stopped"), log);
  }
}
