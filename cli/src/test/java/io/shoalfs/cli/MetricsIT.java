package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.net.Ports;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A metadata replica, a storage daemon and a mount as real processes, each with {@code --metrics-listen}: after
 * some I/O through the mount, each one's {@code /metrics} has the series docs/metrics.md documents, with
 * non-zero values where I/O happened, and {@code /healthz} answers 200.
 */
class MetricsIT {
  private static final int MIB = 1 << 20;
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  @TempDir Path tmp;

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void everyComponentServesItsDocumentedSeries() throws Exception {
    int raft = Ports.freePortPair();
    String meta = "127.0.0.1:" + raft;
    int metaHttp = Ports.freePort();
    int storageHttp = Ports.freePort();
    int mountHttp = Ports.freePort();
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    List<ShoalProcess> started = new ArrayList<>();
    try {
      ShoalProcess m = ShoalProcess.start(tmp, "meta", "--id", "m1", "--peers", "m1=" + meta, "--dir",
          tmp.resolve("meta").toString(), "--metrics-listen", "127.0.0.1:" + metaHttp);
      started.add(m);
      m.awaitLine("ready: meta m1", 90);
      ShoalProcess s = ShoalProcess.start(tmp, "storage", "--id", "s1", "--meta", meta, "--dir",
          tmp.resolve("storage").toString(), "--listen", "127.0.0.1:" + Ports.freePort(), "--capacity", "2Gi",
          "--metrics-listen", "127.0.0.1:" + storageHttp);
      started.add(s);
      s.awaitLine("ready: storage s1", 90);
      try (ShoalProcess create = ShoalProcess.start(tmp, "subvolume", "create", "vol-m", "--size", "1Gi", "--meta",
          meta)) {
        assertEquals(0, create.waitFor(120), create.lastErr(10));
      }
      ShoalProcess mount = ShoalProcess.start(tmp, "mount", "--meta", meta, "--subvolume", "vol-m",
          "--metrics-listen", "127.0.0.1:" + mountHttp, mnt.toString());
      started.add(mount);
      mount.awaitLine("ready: ", 90);

      byte[] data = new byte[8 * MIB];
      new Random(7).nextBytes(data);
      Files.write(mnt.resolve("f"), data);
      try (var ch = java.nio.channels.FileChannel.open(mnt.resolve("f"), java.nio.file.StandardOpenOption.WRITE)) {
        ch.force(true);
      }
      // Drop the kernel's page cache, so the read goes through the mount to the daemon.
      Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
      assertEquals(sha(data), sha(Files.readAllBytes(mnt.resolve("f"))));

      String mountText = scrape(mountHttp);
      String at = "mount=\"" + mnt.toRealPath() + "\"";
      assertAtLeast(mountText, "shoal_fuse_written_bytes_total{" + at + "}", data.length);
      assertAtLeast(mountText, "shoal_fuse_read_bytes_total{" + at + "}", 1);
      assertAtLeast(mountText, "shoal_fuse_requests_seconds_count{" + at + ",op=\"write\"}", 1);
      assertAtLeast(mountText, "shoal_client_meta_requests_seconds_count{" + at + ",op=\"create\"}", 1);
      assertAtLeast(mountText, "process_uptime_seconds", 0.001);
      assertTrue(mountText.contains("jvm_memory_used_bytes{"), "the JVM's own figures");

      String storageText = scrape(storageHttp);
      assertAtLeast(storageText, "shoal_storage_written_bytes_total{daemon=\"s1\"}", data.length);
      assertAtLeast(storageText, "shoal_storage_read_bytes_total{daemon=\"s1\"}", 1);
      assertAtLeast(storageText, "shoal_storage_requests_seconds_count{daemon=\"s1\",op=\"WriteChunk\"}", 1);
      assertAtLeast(storageText, "shoal_storage_requests_seconds_bucket{daemon=\"s1\",op=\"WriteChunk\",le=\"10.0\"}",
          1);
      assertAtLeast(storageText, "shoal_storage_used_bytes{daemon=\"s1\"}", data.length);
      assertAtLeast(storageText, "shoal_storage_capacity_bytes{daemon=\"s1\"}", 2L << 30);
      assertAtLeast(storageText, "shoal_rocksdb_estimate_num_keys{daemon=\"s1\",db=\"chunks\"}", 1);

      String metaText = scrape(metaHttp);
      assertAtLeast(metaText, "shoal_meta_requests_seconds_count{op=\"create\",replica=\"m1\"}", 1);
      assertAtLeast(metaText, "shoal_meta_requests_seconds_count{op=\"commit_write\",replica=\"m1\"}", 1);
      assertAtLeast(metaText, "shoal_raft_commit_index{replica=\"m1\"}", 1);
      assertAtLeast(metaText, "shoal_raft_applied_index{replica=\"m1\"}", 1);
      assertAtLeast(metaText, "shoal_raft_leader{replica=\"m1\"}", 1);
      assertTrue(value(metaText, "shoal_raft_commit_lag{replica=\"m1\"}") >= 0, "a lag is never negative");
      assertAtLeast(metaText, "shoal_rocksdb_estimate_num_keys{db=\"meta\",replica=\"m1\"}", 1);
      // Volume figures are refreshed every 5 s: wait for the write to show.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (value(scrape(metaHttp), "shoal_volume_used_bytes{replica=\"m1\",volume=\"vol-m\"}") < data.length
          && System.nanoTime() < deadline) {
        Thread.sleep(500);
      }
      metaText = scrape(metaHttp);
      assertAtLeast(metaText, "shoal_volume_used_bytes{replica=\"m1\",volume=\"vol-m\"}", data.length);
      assertAtLeast(metaText, "shoal_volume_capacity_bytes{replica=\"m1\",volume=\"vol-m\"}", 1L << 30);
      assertAtLeast(metaText, "shoal_volume_mounts{replica=\"m1\",volume=\"vol-m\"}", 1);

      for (int port : List.of(metaHttp, storageHttp, mountHttp)) {
        HttpResponse<String> h = get(port, "/healthz");
        assertEquals(200, h.statusCode(), "healthz on " + port + ": " + h.body());
        assertTrue(h.body().startsWith("ok: "), h.body());
      }
    } finally {
      for (ShoalProcess p : started.reversed()) {
        p.terminate();
        p.waitFor(30);
        p.close();
      }
      TestMounts.forceUnmount(mnt);
    }
  }

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private static String scrape(int port) throws Exception {
    HttpResponse<String> r = get(port, "/metrics");
    assertEquals(200, r.statusCode());
    assertTrue(r.headers().firstValue("Content-Type").orElse("").startsWith("text/plain"), r.headers().toString());
    return r.body();
  }

  /** The value of one series (its full name with labels as Prometheus prints them), or -1 when absent. */
  private static double value(String text, String series) {
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : -1;
  }

  private static void assertAtLeast(String text, String series, double min) {
    double v = value(text, series);
    if (v < min) {
      String name = series.contains("{") ? series.substring(0, series.indexOf('{')) : series;
      List<String> similar = text.lines().filter(l -> l.startsWith(name)).limit(10).toList();
      throw new AssertionError(series + " = " + v + ", expected >= " + min + "; lines of " + name + ": " + similar);
    }
  }

  private static String sha(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }
}
