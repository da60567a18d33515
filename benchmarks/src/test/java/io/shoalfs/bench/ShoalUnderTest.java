package io.shoalfs.bench;

import io.shoalfs.common.mount.FuseMounts;
import io.shoalfs.common.mount.MountInfo;
import io.shoalfs.storage.testing.TestCluster;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A real Shoal for the benchmark to measure: the in-process metadata service and storage daemon of the storage
 * daemon's test-jar, and a separate {@code shoal mount} process (MountMain, as the CSI node plugin starts it),
 * so that {@code --jfr PID} has another JVM to record, as it does against {@code bin/shoal local}.
 */
final class ShoalUnderTest implements AutoCloseable {
  private static final long READY_SECONDS = 60;

  private final TestCluster cluster;
  private final Process mount;
  private final Path mountPoint;

  private ShoalUnderTest(TestCluster cluster, Process mount, Path mountPoint) {
    this.cluster = cluster;
    this.mount = mount;
    this.mountPoint = mountPoint;
  }

  static ShoalUnderTest start(Path mountPoint) throws Exception {
    Files.createDirectories(mountPoint);
    TestCluster cluster = TestCluster.start();
    Process p = null;
    try {
      List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
          "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp", System.getProperty("java.class.path"),
          "io.shoalfs.fuse.MountMain", "--meta", cluster.metaAddrs(), mountPoint.toString());
      p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = CompletableFuture.supplyAsync(() -> {
        try {
          return out.readLine();
        } catch (IOException e) {
          return null;
        }
      }).get(READY_SECONDS, TimeUnit.SECONDS);
      if (line == null || !line.startsWith("ready: ") || !MountInfo.hasFuseMount(mountPoint)) {
        throw new IllegalStateException("shoal mount did not become ready: " + line);
      }
      return new ShoalUnderTest(cluster, p, mountPoint);
    } catch (Exception e) {
      if (p != null) {
        p.destroyForcibly();
      }
      FuseMounts.detach(mountPoint);
      cluster.close();
      throw e;
    }
  }

  Path mountPoint() {
    return mountPoint;
  }

  long mountPid() {
    return mount.pid();
  }

  @Override
  public void close() throws Exception {
    try {
      mount.destroy(); // SIGTERM: the mount unmounts and exits
      if (!mount.waitFor(30, TimeUnit.SECONDS)) {
        mount.destroyForcibly();
        mount.waitFor(10, TimeUnit.SECONDS);
      }
    } finally {
      FuseMounts.detach(mountPoint);
      cluster.close();
    }
  }
}
