package io.shoalfs.csi;

import io.shoalfs.storage.testing.TestCluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.client.MetaException;
import io.shoalfs.csi.core.MountProcesses;
import io.shoalfs.csi.core.MountRecords;
import io.shoalfs.csi.core.Mounter;
import io.shoalfs.proto.csi.CapacityRange;
import io.shoalfs.proto.csi.DeleteVolumeRequest;
import io.shoalfs.proto.csi.GetPluginInfoRequest;
import io.shoalfs.proto.csi.NodeUnpublishVolumeRequest;
import io.shoalfs.proto.csi.NodeUnstageVolumeRequest;
import io.shoalfs.proto.csi.ProbeRequest;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesRequest;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesResponse;
import io.shoalfs.proto.csi.Volume;
import io.shoalfs.proto.meta.Code;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The driver driven over its unix socket the way the external-provisioner and kubelet drive it, against a real
 * metadata service and storage daemon, with real FUSE mount processes and real bind mounts.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CsiEndToEndTest {
  private static final long MIB = 1 << 20;
  private static TestCluster cluster;

  @TempDir
  Path tmp;
  private CsiDriver driver;
  private CsiClient client;

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

  @BeforeEach
  void startDriver() throws IOException {
    driver = driver();
    client = new CsiClient(driver.socket());
  }

  private CsiDriver driver() throws IOException {
    return CsiDriver.start(new CsiDriver.Config(tmp.resolve("plugin/csi.sock"), "node-1", cluster.metaAddrs(), true,
        true, tmp.resolve("state"), Duration.ofSeconds(60), MountProcesses.currentJava()));
  }

  @AfterEach
  void cleanUp() throws Exception {
    try {
      if (client != null) {
        client.close();
      }
      if (driver != null) {
        driver.close();
      }
    } finally {
      MountCleanup.under(tmp);
    }
  }

  private Path staging(String pv) throws IOException {
    // The CO creates the staging directory; the driver creates target paths.
    return Files.createDirectories(tmp.resolve("kubelet/plugins/kubernetes.io/csi/csi.shoalfs.io/" + pv
        + "/globalmount"));
  }

  private Path target(String pod, String pv) throws IOException {
    Path parent = Files.createDirectories(tmp.resolve("kubelet/pods/" + pod + "/volumes/kubernetes.io~csi/" + pv));
    return parent.resolve("mount");
  }

  private Volume create(String name, long bytes) {
    return client.controller().createVolume(Requests.create(name, bytes).build()).getVolume();
  }

  private static String name() {
    return "pvc-" + UUID.randomUUID();
  }

  private boolean mounted(Path p) throws Exception {
    return new Mounter().at(p).isPresent();
  }

  /** The acceptance scenario of the walking-skeleton issue. */
  @Test
  void provisionStagePublishTwiceShareDataAndTearDown() throws Exception {
    assertEquals("csi.shoalfs.io", client.identity().getPluginInfo(GetPluginInfoRequest.getDefaultInstance())
        .getName());
    assertTrue(client.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue());

    String pv = name();
    Volume vol = client.controller().createVolume(Requests.create(pv, 64 * MIB)
        .putParameters("csi.storage.k8s.io/pvc/name", "data").putSecrets("token", "s3cr3t").build()).getVolume();
    assertEquals("shoal:v1:" + pv, vol.getVolumeId());
    assertEquals(64 * MIB, vol.getCapacityBytes());
    String id = vol.getVolumeId();

    Path staging = staging(pv);
    client.node().nodeStageVolume(Requests.stage(id, staging).putAllVolumeContext(vol.getVolumeContextMap()).build());
    assertTrue(new Mounter().at(staging).orElseThrow().isFuse(), "FUSE mount at the staging path");

    Path podA = target("pod-a", pv);
    Path podB = target("pod-b", pv);
    client.node().nodePublishVolume(Requests.publish(id, staging, podA).build());
    client.node().nodePublishVolume(Requests.publish(id, staging, podB).build());

    Files.writeString(podA.resolve("hello.txt"), "written in pod a");
    assertEquals("written in pod a", Files.readString(podB.resolve("hello.txt")));
    // The file lives in the volume's subvolume, not in the root volume.
    long subRoot = cluster.client().getSubvolume(pv).getRootIno();
    assertEquals(16, cluster.client().lookup(subRoot, "hello.txt").getSize());

    client.node().nodeUnpublishVolume(unpublish(id, podA));
    client.node().nodeUnpublishVolume(unpublish(id, podB));
    assertFalse(Files.exists(podA) || Files.exists(podB), "target paths removed");
    client.node().nodeUnstageVolume(unstage(id, staging));
    assertFalse(mounted(staging));
    assertTrue(MountCleanup.mountProcessesUnder(tmp.toRealPath().toString()).isEmpty(), "mount process ended");
    client.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
    MetaException gone = assertThrows(MetaException.class, () -> cluster.client().getSubvolume(pv));
    assertEquals(Code.ENOENT, gone.code());

    assertTrue(MountCleanup.mountsUnder(tmp.toRealPath().toString()).isEmpty(), "no mount left behind");
  }

  @Test
  void createAndDeleteAreIdempotent() {
    String pv = name();
    Volume first = create(pv, 10 * MIB);
    Volume again = create(pv, 10 * MIB);
    assertEquals(first.getVolumeId(), again.getVolumeId());
    assertEquals(first.getCapacityBytes(), again.getCapacityBytes());
    // A range the existing volume satisfies is the same volume...
    Volume within = client.controller().createVolume(Requests.create(pv, 5 * MIB)
        .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(5 * MIB).setLimitBytes(20 * MIB)).build())
        .getVolume();
    assertEquals(first.getVolumeId(), within.getVolumeId());
    // ...a range it does not is ALREADY_EXISTS.
    StatusRuntimeException bigger = assertThrows(StatusRuntimeException.class, () -> create(pv, 20 * MIB));
    assertEquals(Status.Code.ALREADY_EXISTS, bigger.getStatus().getCode());

    DeleteVolumeRequest del = DeleteVolumeRequest.newBuilder().setVolumeId(first.getVolumeId()).build();
    client.controller().deleteVolume(del);
    client.controller().deleteVolume(del);
    StatusRuntimeException gone = assertThrows(StatusRuntimeException.class,
        () -> client.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
            .setVolumeId(first.getVolumeId()).addVolumeCapabilities(Requests.rwx()).build()));
    assertEquals(Status.Code.NOT_FOUND, gone.getStatus().getCode());
  }

  @Test
  void noCapacityRangeGetsTheDefaultAndCapabilitiesAreValidated() {
    String pv = name();
    Volume v = client.controller().createVolume(Requests.create(pv, 0).clearCapacityRange().build()).getVolume();
    assertEquals(1L << 30, v.getCapacityBytes());
    ValidateVolumeCapabilitiesResponse ok = client.controller().validateVolumeCapabilities(
        ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(v.getVolumeId())
            .addVolumeCapabilities(Requests.rwx()).build());
    assertTrue(ok.hasConfirmed());
    assertEquals(Requests.rwx(), ok.getConfirmed().getVolumeCapabilities(0));
    ValidateVolumeCapabilitiesResponse block = client.controller().validateVolumeCapabilities(
        ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(v.getVolumeId())
            .addVolumeCapabilities(Requests.block()).build());
    assertFalse(block.hasConfirmed());
    assertTrue(block.getMessage().contains("block"), block.getMessage());
    client.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).build());
  }

  @Test
  void nodeCallsAreIdempotent() throws Exception {
    String pv = name();
    String id = create(pv, 10 * MIB).getVolumeId();
    Path staging = staging(pv);
    MountRecords records = new MountRecords(tmp.resolve("state"));

    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    long pid = records.load(Mounter.normalize(staging)).orElseThrow().pid();
    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    assertEquals(pid, records.load(Mounter.normalize(staging)).orElseThrow().pid(), "no second mount process");

    Path t = target("pod-a", pv);
    client.node().nodePublishVolume(Requests.publish(id, staging, t).build());
    client.node().nodePublishVolume(Requests.publish(id, staging, t).build());
    assertEquals(2, MountCleanup.mountsUnder(tmp.toRealPath().toString()).size(), "staging + one bind, no stacking");
    StatusRuntimeException ro = assertThrows(StatusRuntimeException.class,
        () -> client.node().nodePublishVolume(Requests.publish(id, staging, t).setReadonly(true).build()));
    assertEquals(Status.Code.ALREADY_EXISTS, ro.getStatus().getCode());

    client.node().nodeUnpublishVolume(unpublish(id, t));
    client.node().nodeUnpublishVolume(unpublish(id, t));
    client.node().nodeUnstageVolume(unstage(id, staging));
    client.node().nodeUnstageVolume(unstage(id, staging));
    assertTrue(MountCleanup.mountsUnder(tmp.toRealPath().toString()).isEmpty());
    assertFalse(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "mount process ended");
    client.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
  }

  @Test
  void readOnlyPublishRefusesWrites() throws Exception {
    String pv = name();
    String id = create(pv, 10 * MIB).getVolumeId();
    Path staging = staging(pv);
    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    Path rw = target("writer", pv);
    Path ro = target("reader", pv);
    client.node().nodePublishVolume(Requests.publish(id, staging, rw).build());
    client.node().nodePublishVolume(Requests.publish(id, staging, ro).setReadonly(true).build());
    Files.writeString(rw.resolve("f"), "data");
    assertEquals("data", Files.readString(ro.resolve("f")));
    assertThrows(IOException.class, () -> Files.writeString(ro.resolve("g"), "nope"));
    assertTrue(new Mounter().at(ro).orElseThrow().readOnly());
    client.node().nodeUnpublishVolume(unpublish(id, ro));
    client.node().nodeUnpublishVolume(unpublish(id, rw));
    client.node().nodeUnstageVolume(unstage(id, staging));
  }

  /** DESIGN decision 8: stopping the plugin leaves mounts serving, and a new plugin picks them up. */
  @Test
  void mountsOutliveThePluginAndANewPluginTakesThemOver() throws Exception {
    String pv = name();
    String id = create(pv, 10 * MIB).getVolumeId();
    Path staging = staging(pv);
    Path t = target("pod-a", pv);
    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    client.node().nodePublishVolume(Requests.publish(id, staging, t).build());
    Files.writeString(t.resolve("before"), "restart");

    client.close();
    driver.close();
    client = null;
    driver = null;
    assertEquals("restart", Files.readString(t.resolve("before")), "the pod still reads its volume");

    driver = driver();
    client = new CsiClient(driver.socket());
    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    client.node().nodePublishVolume(Requests.publish(id, staging, t).build());
    client.node().nodeUnpublishVolume(unpublish(id, t));
    client.node().nodeUnstageVolume(unstage(id, staging));
    assertTrue(MountCleanup.mountsUnder(tmp.toRealPath().toString()).isEmpty());
    assertTrue(MountCleanup.mountProcessesUnder(tmp.toRealPath().toString()).isEmpty());
  }

  /**
   * The plugin as a real process, stopped the way a supervisor stops it: SIGTERM to its whole process group.
   * It exits 0 and removes its socket, and the FUSE mount it started keeps serving, because mount processes run
   * in their own session (setsid). A new plugin then finds the mount through its state directory.
   */
  @Test
  void sigtermToThePluginProcessGroupLeavesMountsServing() throws Exception {
    client.close();
    driver.close();
    client = null;
    driver = null;
    Path socket = tmp.resolve("proc/csi.sock");
    List<String> cmd = new ArrayList<>(List.of("setsid"));
    cmd.addAll(MountProcesses.currentJava());
    cmd.addAll(List.of(CsiMain.class.getName(), "--endpoint", "unix://" + socket, "--node-id", "node-1",
        "--meta", cluster.metaAddrs(), "--controller", "--node", "--state-dir", tmp.resolve("state").toString()));
    Path out = tmp.resolve("csi.out");
    Process plugin = new ProcessBuilder(cmd).redirectOutput(out.toFile())
        .redirectError(tmp.resolve("csi.err").toFile()).start();
    String pv = name();
    Path staging = staging(pv);
    Path t = target("pod-a", pv);
    String id;
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (Files.readAllLines(out).isEmpty() && plugin.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertEquals(List.of("ready: csi unix://" + socket), Files.readAllLines(out),
          Files.readString(tmp.resolve("csi.err")));
      try (CsiClient c = new CsiClient(socket)) {
        id = c.controller().createVolume(Requests.create(pv, 10 * MIB).build()).getVolume().getVolumeId();
        c.node().nodeStageVolume(Requests.stage(id, staging).build());
        c.node().nodePublishVolume(Requests.publish(id, staging, t).build());
      }
      Files.writeString(t.resolve("f"), "still here");

      // setsid made the plugin a process group leader: pgid == pid.
      new ProcessBuilder("kill", "-TERM", "--", "-" + plugin.pid()).start().waitFor(10, TimeUnit.SECONDS);
      assertTrue(plugin.waitFor(30, TimeUnit.SECONDS), "plugin stops within 30 s");
      assertEquals(0, plugin.exitValue(), Files.readString(tmp.resolve("csi.err")));
    } finally {
      plugin.destroyForcibly();
    }
    assertFalse(Files.exists(socket), "socket removed");
    assertEquals("still here", Files.readString(t.resolve("f")), "the pod's mount survived the plugin");
    assertEquals(1, MountCleanup.mountProcessesUnder(tmp.toRealPath().toString()).size());

    driver = driver();
    client = new CsiClient(driver.socket());
    client.node().nodeUnpublishVolume(unpublish(id, t));
    client.node().nodeUnstageVolume(unstage(id, staging));
    assertTrue(MountCleanup.mountsUnder(tmp.toRealPath().toString()).isEmpty());
    assertTrue(MountCleanup.mountProcessesUnder(tmp.toRealPath().toString()).isEmpty());
  }

  @Test
  void stagingAgainAfterTheMountProcessDiedRemounts() throws Exception {
    String pv = name();
    String id = create(pv, 10 * MIB).getVolumeId();
    Path staging = staging(pv);
    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    Files.writeString(staging.resolve("kept"), "survives");
    MountRecords records = new MountRecords(tmp.resolve("state"));
    long pid = records.load(Mounter.normalize(staging)).orElseThrow().pid();
    ProcessHandle h = ProcessHandle.of(pid).orElseThrow();
    h.destroyForcibly();
    h.onExit().get(30, TimeUnit.SECONDS);

    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    assertNotEquals(pid, records.load(Mounter.normalize(staging)).orElseThrow().pid());
    assertEquals("survives", Files.readString(staging.resolve("kept")));
    client.node().nodeUnstageVolume(unstage(id, staging));
  }

  @Test
  void stagingAVolumeThatDoesNotExistIsNotFound() throws Exception {
    Path staging = staging("pvc-missing");
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> client.node().nodeStageVolume(Requests.stage("shoal:v1:pvc-missing", staging).build()));
    assertEquals(Status.Code.NOT_FOUND, e.getStatus().getCode());
    assertFalse(mounted(staging));
  }

  /** A second call for a volume while the first is still mounting it is ABORTED; the CO retries it later. */
  @Test
  void concurrentCallsOnOneVolumeAreAborted() throws Exception {
    String pv = name();
    String id = create(pv, 10 * MIB).getVolumeId();
    Path staging = staging(pv);
    MountRecords records = new MountRecords(tmp.resolve("state"));
    java.util.concurrent.CompletableFuture<Void> first = java.util.concurrent.CompletableFuture.runAsync(
        () -> client.node().nodeStageVolume(Requests.stage(id, staging).build()));
    // The record is written as soon as the mount process starts, while the first call still holds the lock.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (records.load(Mounter.normalize(staging)).isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertFalse(first.isDone(), "the mount takes a JVM start; the first call is still waiting for it");
    StatusRuntimeException second = assertThrows(StatusRuntimeException.class,
        () -> client.node().nodeStageVolume(Requests.stage(id, staging).build()));
    assertEquals(Status.Code.ABORTED, second.getStatus().getCode());
    first.get(90, TimeUnit.SECONDS);
    client.node().nodeStageVolume(Requests.stage(id, staging).build());
    client.node().nodeUnstageVolume(unstage(id, staging));
  }

  /** A mount process that dies at start fails staging with INTERNAL and the end of its log, and leaves nothing. */
  @Test
  void aMountProcessThatDiesFailsStagingWithItsLog() throws Exception {
    String pv = name();
    String id = create(pv, 10 * MIB).getVolumeId();
    Path staging = staging(pv);
    String java = MountProcesses.currentJava().get(0);
    Path badSocket = tmp.resolve("bad/csi.sock");
    try (CsiDriver bad = CsiDriver.start(new CsiDriver.Config(badSocket, "node-1", cluster.metaAddrs(), false, true,
        tmp.resolve("state-bad"), Duration.ofSeconds(60), List.of(java, "-cp", tmp.resolve("no-classes").toString())));
        CsiClient c = new CsiClient(badSocket)) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> c.node().nodeStageVolume(Requests.stage(id, staging).build()));
      assertEquals(Status.Code.INTERNAL, e.getStatus().getCode());
      assertTrue(e.getStatus().getDescription().contains(MountProcesses.MAIN_CLASS), e.getStatus().getDescription());
    }
    assertFalse(mounted(staging));
    assertTrue(new MountRecords(tmp.resolve("state-bad")).load(Mounter.normalize(staging)).isEmpty());
    assertTrue(MountCleanup.mountProcessesUnder(tmp.toRealPath().toString()).isEmpty());
  }

  private static NodeUnpublishVolumeRequest unpublish(String id, Path target) {
    return NodeUnpublishVolumeRequest.newBuilder().setVolumeId(id).setTargetPath(target.toString()).build();
  }

  private static NodeUnstageVolumeRequest unstage(String id, Path staging) {
    return NodeUnstageVolumeRequest.newBuilder().setVolumeId(id).setStagingTargetPath(staging.toString()).build();
  }
}
