package io.shoalfs.csi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.csi.core.MountProcesses;
import io.shoalfs.csi.core.Mounter;
import io.shoalfs.proto.csi.NodeGetVolumeStatsRequest;
import io.shoalfs.proto.csi.NodeGetVolumeStatsResponse;
import io.shoalfs.proto.csi.NodePublishVolumeRequest;
import io.shoalfs.proto.csi.NodeUnpublishVolumeRequest;
import io.shoalfs.proto.csi.VolumeUsage;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * CSI inline ephemeral volumes over the driver's real unix socket, as kubelet drives them (NodePublishVolume
 * with {@code csi.storage.k8s.io/ephemeral}, no stage, then NodeUnpublishVolume), against a real metadata
 * service and storage daemon, with real FUSE mount processes; the plugin killed with SIGKILL in the middle.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CsiEphemeralTest {
  private static final long MIB = 1 << 20;
  private static TestCluster cluster;

  @TempDir Path tmp;
  private final List<Process> plugins = new ArrayList<>();

  @BeforeAll
  static void startCluster() throws IOException {
    cluster = TestCluster.start();
  }

  @AfterAll
  static void stopCluster() throws IOException {
    if (cluster != null) {
      cluster.close();
    }
  }

  @AfterEach
  void cleanUp() throws Exception {
    try {
      for (Process p : plugins) {
        p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } finally {
      MountCleanup.under(tmp);
      // A failed test must not fail the next ones through the volume it left.
      for (String left : ephemeralSubvolumes()) {
        cluster.client().deleteSubvolume(left, true);
      }
    }
  }

  private static String kubeletVolumeId() {
    return "csi-" + UUID.randomUUID().toString().replace("-", "") + UUID.randomUUID().toString().replace("-", "");
  }

  private Path target(String pod, String volumeId) throws IOException {
    return Files.createDirectories(tmp.resolve("kubelet/pods/" + pod + "/volumes/kubernetes.io~csi/" + volumeId))
        .resolve("mount");
  }

  /** What kubelet sends for an inline volume: no staging path, its pod-info keys and the pod author's ones. */
  private static NodePublishVolumeRequest publish(String volumeId, Path target, Map<String, String> attributes) {
    Map<String, String> ctx = new HashMap<>(attributes);
    ctx.put("csi.storage.k8s.io/ephemeral", "true");
    ctx.put("csi.storage.k8s.io/pod.name", "writer");
    ctx.put("csi.storage.k8s.io/pod.namespace", "default");
    ctx.put("csi.storage.k8s.io/pod.uid", UUID.randomUUID().toString());
    ctx.put("csi.storage.k8s.io/serviceAccount.name", "default");
    return NodePublishVolumeRequest.newBuilder().setVolumeId(volumeId).setTargetPath(target.toString())
        .setVolumeCapability(Requests.rwx()).putAllVolumeContext(ctx).build();
  }

  private static NodeUnpublishVolumeRequest unpublish(String volumeId, Path target) {
    return NodeUnpublishVolumeRequest.newBuilder().setVolumeId(volumeId).setTargetPath(target.toString()).build();
  }

  private static List<String> ephemeralSubvolumes() throws Exception {
    return cluster.client().listSubvolumes().stream().map(Subvolume::getName).filter(n -> n.startsWith("eph-"))
        .toList();
  }

  /** Nothing of the volume is left: no subvolume, no mount, no mount process, no record. */
  private void assertNothingLeft(Path target) throws Exception {
    assertEquals(List.of(), ephemeralSubvolumes(), "no ephemeral subvolume is left");
    assertFalse(new Mounter().at(target).isPresent(), "target unmounted");
    assertFalse(Files.exists(target), "target removed");
    String prefix = tmp.toRealPath().toString();
    assertEquals(List.of(), MountCleanup.mountsUnder(prefix), "no mount left under the test directory");
    assertEquals(List.of(), MountCleanup.mountProcessesUnder(prefix), "no mount process left");
    for (String sub : List.of("state/ephemeral", "state/mounts")) {
      Path d = tmp.resolve(sub);
      if (Files.isDirectory(d)) {
        try (Stream<Path> files = Files.list(d)) {
          assertEquals(List.of(), files.filter(f -> !f.toString().endsWith(".log")).toList(), "no record in " + sub);
        }
      }
    }
  }

  @Test
  void publishMakesAQuotaedPerPodVolumeAndUnpublishDeletesIt() throws Exception {
    try (CsiHarness h = CsiHarness.start(tmp, cluster.metaAddrs())) {
      String id = kubeletVolumeId();
      Path target = target("pod-a", id);
      h.client.node().nodePublishVolume(publish(id, target, Map.of("size", "64Mi")));
      h.client.node().nodePublishVolume(publish(id, target, Map.of("size", "64Mi"))); // kubelet retries: idempotent

      Subvolume sub = cluster.client().listSubvolumes().stream().filter(s -> s.getName().startsWith("eph-"))
          .findFirst().orElseThrow();
      assertEquals(64 * MIB, sub.getCapacityBytes(), "the pod's size is the quota");
      Files.writeString(target.resolve("hello"), "from the pod");
      assertEquals("from the pod", Files.readString(target.resolve("hello")));

      NodeGetVolumeStatsResponse stats = h.client.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
          .setVolumeId(id).setVolumePath(target.toString()).build());
      assertFalse(stats.getVolumeCondition().getAbnormal(), stats.getVolumeCondition().getMessage());
      VolumeUsage bytes = stats.getUsageList().stream().filter(u -> u.getUnit() == VolumeUsage.Unit.BYTES)
          .findFirst().orElseThrow();
      assertEquals(64 * MIB, bytes.getTotal(), "stats report the quota");

      IOException full = assertThrows(IOException.class, () -> fill(target.resolve("big"), 96 * MIB));
      assertTrue(String.valueOf(full.getMessage()).toLowerCase().contains("quota"), "EDQUOT: " + full);

      h.client.node().nodeUnpublishVolume(unpublish(id, target));
      assertNothingLeft(target);
      h.client.node().nodeUnpublishVolume(unpublish(id, target)); // repeated: still a success
    }
  }

  @Test
  void aPodMayNotSetAnAdministratorsAttributes() throws Exception {
    try (CsiHarness h = CsiHarness.start(tmp, cluster.metaAddrs())) {
      String id = kubeletVolumeId();
      Path target = target("pod-b", id);
      for (Map<String, String> bad : List.of(Map.of("replication", "3"), Map.of("subvolume", "someone-elses"),
          Map.of("size", "lots"), Map.of("size", "0"))) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
            () -> h.client.node().nodePublishVolume(publish(id, target, bad)));
        assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), bad + ": " + e.getStatus());
        String named = bad.keySet().iterator().next();
        assertTrue(e.getStatus().getDescription().contains("'" + named + "'"), "names " + named + ": "
            + e.getStatus().getDescription());
      }
      assertNothingLeft(target);
    }
  }

  @Test
  void aPublishThatFailsHalfWayLeavesNothingBehind() throws Exception {
    try (CsiHarness h = CsiHarness.start(tmp, cluster.metaAddrs())) {
      String id = kubeletVolumeId();
      // The subvolume is made and mounted, then the bind fails: the target's parent is a file.
      Path notADir = Files.writeString(tmp.resolve("not-a-directory"), "x");
      Path target = notADir.resolve("mount");
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> h.client.node().nodePublishVolume(publish(id, target, Map.of())));
      assertEquals(Status.Code.INTERNAL, e.getStatus().getCode(), e.getStatus().toString());
      assertNothingLeft(target);
    }
  }

  @Test
  void aPluginKilledBetweenPublishAndUnpublishStillCleansUp() throws Exception {
    Path socket = tmp.resolve("plugin/csi.sock");
    int metricsPort = io.shoalfs.common.net.Ports.freePort();
    Process plugin = startPlugin(socket, "1", "--metrics-listen", "127.0.0.1:" + metricsPort);
    String id = kubeletVolumeId();
    Path target = target("pod-c", id);
    try (CsiClient c = new CsiClient(socket)) {
      c.node().nodePublishVolume(publish(id, target, Map.of("size", "32Mi")));
    }
    // The plugin's own figures: one live mount on this node, the publish timed.
    String metrics = get(metricsPort, "/metrics");
    assertTrue(metrics.contains("\nshoal_csi_mounts{node=\"node-1\"} 1.0\n"), metrics);
    assertTrue(java.util.regex.Pattern.compile("(?m)^shoal_csi_requests_seconds_count\\{node=\"node-1\","
        + "op=\"NodePublishVolume\"\\} 1(\\.0)?$").matcher(metrics).find(), "the publish is timed: " + metrics);
    assertTrue(get(metricsPort, "/healthz").startsWith("ok: "));
    Files.writeString(target.resolve("before"), "written before the plugin died");
    plugin.destroyForcibly().waitFor(10, TimeUnit.SECONDS); // SIGKILL

    // The pod's mount is served by its own process: it keeps working while no plugin runs.
    Files.writeString(target.resolve("during"), "written while no plugin ran");
    assertEquals("written before the plugin died", Files.readString(target.resolve("before")));

    startPlugin(socket, "2");
    try (CsiClient c = new CsiClient(socket)) {
      c.node().nodeUnpublishVolume(unpublish(id, target));
    }
    assertNothingLeft(target);
  }

  @Test
  void aPluginKilledInTheMiddleOfAPublishTearsItDownWhenItStartsAgain() throws Exception {
    Path socket = tmp.resolve("plugin/csi.sock");
    Process plugin = startPlugin(socket, "1");
    String id = kubeletVolumeId();
    Path target = target("pod-d", id);
    String prefix = tmp.toRealPath().toString();
    try (CsiClient c = new CsiClient(socket)) {
      CompletableFuture<Void> call = CompletableFuture.runAsync(
          () -> c.node().nodePublishVolume(publish(id, target, Map.of())));
      // The publish is under way once its mount process exists: it waits for that mount to serve.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (MountCleanup.mountProcessesUnder(prefix).isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertFalse(MountCleanup.mountProcessesUnder(prefix).isEmpty(), "a mount process started");
      plugin.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      assertThrows(Exception.class, call::join, "kubelet sees the publish fail");
    }
    assertFalse(ephemeralSubvolumes().isEmpty(), "the killed publish had made the subvolume");

    startPlugin(socket, "2"); // its start tears the unfinished publish down
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline && (!ephemeralSubvolumes().isEmpty()
        || !MountCleanup.mountProcessesUnder(prefix).isEmpty() || !MountCleanup.mountsUnder(prefix).isEmpty())) {
      Thread.sleep(200);
    }
    try {
      assertNothingLeft(target);
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; restarted plugin's log:\n"
          + Files.readString(tmp.resolve("plugin-2.out")), e);
    }
  }

  /** Writes {@code bytes} in 1 MiB pieces and syncs; the quota's EDQUOT comes from a write, the sync or close. */
  private static void fill(Path f, long bytes) throws IOException {
    ByteBuffer mib = ByteBuffer.wrap("x".repeat((int) MIB).getBytes(StandardCharsets.US_ASCII));
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      for (long done = 0; done < bytes; done += MIB) {
        mib.rewind();
        ch.write(mib);
      }
      ch.force(true);
    }
  }

  private static String get(int port, String path) throws Exception {
    java.net.http.HttpResponse<String> r = java.net.http.HttpClient.newHttpClient().send(
        java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + path)).build(),
        java.net.http.HttpResponse.BodyHandlers.ofString());
    return r.body();
  }

  private Process startPlugin(Path socket, String run, String... extra) throws Exception {
    List<String> cmd = new ArrayList<>(MountProcesses.currentJava());
    cmd.add(CsiMain.class.getName());
    cmd.addAll(List.of("--endpoint", "unix://" + socket, "--node-id", "node-1", "--meta", cluster.metaAddrs(),
        "--node", "--state-dir", tmp.resolve("state").toString()));
    cmd.addAll(List.of(extra));
    Path out = tmp.resolve("plugin-" + run + ".out");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
    plugins.add(p);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      if (Files.readString(out).contains("ready: csi unix://" + socket)) {
        return p;
      }
      if (!p.isAlive()) {
        throw new AssertionError("plugin exited with " + p.exitValue() + ": " + Files.readString(out));
      }
      Thread.sleep(50);
    }
    throw new AssertionError("plugin not ready in 60 s: " + Files.readString(out));
  }
}
