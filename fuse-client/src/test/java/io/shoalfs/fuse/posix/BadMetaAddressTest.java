package io.shoalfs.fuse.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.mount.FuseMounts;
import io.shoalfs.common.mount.MountInfo;
import io.shoalfs.common.net.Ports;
import io.shoalfs.fuse.MountMain;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Acceptance 8 of issue 5, last part: a mount whose {@code --meta} list has nothing that answers (unreachable, or
 * a port that accepts connections but is no metadata service, or a malformed list) fails within {@link #FAIL_BOUND} with one
 * {@code shoal:} line naming what was tried, and mounts nothing. Runs {@link MountMain} as its own process.
 */
@Tag("posix")
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class BadMetaAddressTest {
  /**
   * The bound for a --meta list where nothing answers: the client's own limit and 2 s for what a loaded machine
   * adds to a JVM's start beyond the start measured just before (tests run two JVMs at a time).
   */
  static final Duration FAIL_BOUND = MetaClient.NO_ANSWER_LIMIT.plusSeconds(2);
  /** A mount process still running after this is killed and the test fails (today: about 60 s). */
  private static final Duration KILL_AFTER = Duration.ofSeconds(30);

  @Test
  void unreachableMetaFailsFastWithOneLine() throws Exception {
    int port = Ports.freePort();
    check("127.0.0.1:" + port);
  }

  @Test
  void aMalformedListFailsFastWithOneLine() throws Exception {
    check("no-port-here");
  }

  @Test
  void aPortThatIsNoMetadataServiceFailsFastWithOneLine() throws Exception {
    try (ServerSocket silent = new ServerSocket(0)) {
      List<Socket> accepted = new ArrayList<>();
      Thread t = new Thread(() -> {
        try {
          while (true) {
            accepted.add(silent.accept()); // accept and never answer
          }
        } catch (Exception ignored) {
          // closed
        }
      });
      t.setDaemon(true);
      t.start();
      check("127.0.0.1:" + silent.getLocalPort());
      for (Socket s : accepted) {
        s.close();
      }
    }
  }

  private static void check(String meta) throws Exception {
    Path base = Files.createTempDirectory("shoal-posix-badmeta-");
    Path mp = Files.createDirectories(base.resolve("mnt"));
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> jvm = List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx128m", "-cp",
        System.getProperty("java.class.path"), MountMain.class.getName());
    try {
      // What starting the JVM and picocli costs here, so that only the client's own time is held to the bound.
      long h0 = System.nanoTime();
      ChildProcess.run(base, KILL_AFTER, cmd(jvm, "--help"));
      long startupMs = (System.nanoTime() - h0) / 1_000_000;
      long t0 = System.nanoTime();
      ChildProcess.Result r = ChildProcess.run(base, KILL_AFTER, cmd(jvm, "--meta", meta, mp.toString()));
      long tookMs = (System.nanoTime() - t0) / 1_000_000;
      System.out.printf("BadMetaAddressTest --meta %s: exit %d after %d ms (JVM start %d ms)%n%s%n", meta, r.exit(),
          tookMs, startupMs, r.output());
      assertNotEquals(0, r.exit(), "a mount with nothing answering at --meta must fail");
      List<String> shoalLines = r.output().lines().filter(l -> l.startsWith("shoal:")).toList();
      assertEquals(1, shoalLines.size(), "one 'shoal:' line: " + r.output());
      assertTrue(shoalLines.get(0).contains(meta.substring(meta.indexOf(':') + 1)),
          "the line names the address tried: " + shoalLines.get(0));
      assertTrue(tookMs - startupMs <= FAIL_BOUND.toMillis(), "failed after " + (tookMs - startupMs)
          + " ms (beyond JVM start); bound " + FAIL_BOUND.toMillis() + " ms");
      assertFalse(MountInfo.hasFuseMount(mp), "nothing mounted");
    } finally {
      FuseMounts.detach(mp);
      PosixVolume.deleteTree(base);
    }
  }

  private static String[] cmd(List<String> jvm, String... args) {
    List<String> all = new ArrayList<>(jvm);
    all.addAll(List.of(args));
    return all.toArray(String[]::new);
  }
}
