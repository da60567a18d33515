package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.cli.local.Preflight;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded cluster end to end, as a user runs it: {@code bin/shoal local} as a real process, ordinary file
 * I/O through its FUSE mount, SIGTERM, and a restart on the same data directory.
 */
class LocalClusterIT {
  private static final int BIG_FILE_BYTES = 24 << 20;
  private static final int SMALL_FILES = 200;
  private static final long START_SECONDS = 300;

  @TempDir Path tmp;

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void dataWrittenThroughTheMountSurvivesARestartOverMutualTls() throws Exception {
    long seed = Long.getLong("shoal.seed", System.nanoTime());
    System.out.println("LocalClusterIT seed=" + seed + " (replay with -Dshoal.seed=" + seed + ")");
    Random random = new Random(seed);
    Path data = tmp.resolve("data");
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    byte[] big = new byte[BIG_FILE_BYTES];
    random.nextBytes(big);
    Map<String, byte[]> small = smallFiles(random);

    // Every component of both runs gets the cluster's certificate: every gRPC and Ratis port runs mutual TLS.
    MutualTls tls = MutualTls.make(tmp.resolve("certs"));
    ShoalProcess first = null;
    ShoalProcess second = null;
    try {
      first = ShoalProcess.start(tmp, tls.env(), "local", "--dir", data.toString(), "--mount", mnt.toString());
      awaitStarted(first, mnt);
      writeBig(mnt.resolve("big.bin"), big);
      for (var e : small.entrySet()) {
        Path p = mnt.resolve(e.getKey());
        Files.createDirectories(p.getParent());
        Files.write(p, e.getValue());
      }
      verify(mnt, big, small);
      stopAndCheckClean(first, mnt);

      second = ShoalProcess.start(tmp, tls.env(), "local", "--dir", data.toString(), "--mount", mnt.toString());
      awaitStarted(second, mnt);
      verify(mnt, big, small);
      tls.assertEveryPortRefusesStrangers(data);
      stopAndCheckClean(second, mnt);
    } finally {
      if (first != null) {
        first.close();
      }
      if (second != null) {
        second.close();
      }
      TestMounts.forceUnmount(mnt);
    }
  }

  static void awaitStarted(ShoalProcess shoal, Path mnt) throws InterruptedException {
    String meta = shoal.awaitLine("meta: ", START_SECONDS);
    assertTrue(meta.matches("meta: 127\\.0\\.0\\.1:\\d+(,127\\.0\\.0\\.1:\\d+)*"), meta);
    String ready = shoal.awaitLine("ready: ", START_SECONDS);
    assertEquals("ready: " + mnt, ready);
    assertTrue(shoal.out.indexOf(meta) < shoal.out.indexOf(ready), "meta line comes before the ready line");
    assertTrue(Preflight.isMounted(mnt), mnt + " is mounted once ready");
  }

  /** SIGTERM: exit 0, the mount gone, no component process left. */
  static void stopAndCheckClean(ShoalProcess shoal, Path mnt) throws InterruptedException {
    shoal.rememberDescendants();
    List<ProcessHandle> components = shoal.liveDescendants();
    assertTrue(components.size() >= 3, "components run as their own processes: " + components);
    shoal.terminate();
    assertEquals(0, shoal.waitFor(120), "exit code after SIGTERM; stderr:\n" + shoal.lastErr(30));
    assertFalse(Preflight.isMounted(mnt), "no mount left at " + mnt);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!shoal.liveDescendants().isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertEquals(List.of(), shoal.liveDescendants(), "no component process left");
  }

  private static Map<String, byte[]> smallFiles(Random random) {
    Map<String, byte[]> files = new TreeMap<>();
    for (int i = 0; i < SMALL_FILES; i++) {
      String path = "tree/d" + (i % 7) + "/e" + (i % 3) + "/" + (i % 2 == 0 ? "f/" : "") + "file-" + i + ".txt";
      byte[] content = new byte[random.nextInt(20_000)];
      random.nextBytes(content);
      files.put(path, content);
    }
    return files;
  }

  private static void writeBig(Path file, byte[] big) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      for (int off = 0; off < big.length; off += 1 << 20) {
        out.write(big, off, Math.min(1 << 20, big.length - off));
      }
    }
  }

  private static void verify(Path mnt, byte[] big, Map<String, byte[]> small) throws IOException {
    assertEquals(big.length, Files.size(mnt.resolve("big.bin")));
    byte[] back = new byte[big.length];
    try (InputStream in = Files.newInputStream(mnt.resolve("big.bin"))) {
      int off = 0;
      int n;
      while (off < back.length && (n = in.read(back, off, back.length - off)) > 0) {
        off += n;
      }
      assertEquals(big.length, off);
    }
    assertArrayEquals(big, back, "64 MiB file reads back byte-exact");
    for (var e : small.entrySet()) {
      assertArrayEquals(e.getValue(), Files.readAllBytes(mnt.resolve(e.getKey())), e.getKey());
    }
    try (Stream<Path> walk = Files.walk(mnt.resolve("tree"))) {
      assertEquals(small.size(), walk.filter(Files::isRegularFile).count(), "no extra or missing files");
    }
  }
}
