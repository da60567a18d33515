package io.shoalfs.csi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.net.Ports;
import io.shoalfs.csi.core.MountProcesses;
import io.shoalfs.csi.grpc.CsiServer;
import io.shoalfs.proto.csi.ControllerExpandVolumeRequest;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.ControllerGetVolumeRequest;
import io.shoalfs.proto.csi.ControllerModifyVolumeRequest;
import io.shoalfs.proto.csi.ControllerPublishVolumeRequest;
import io.shoalfs.proto.csi.ControllerServiceCapability;
import io.shoalfs.proto.csi.CreateSnapshotRequest;
import io.shoalfs.proto.csi.CreateVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.DeleteSnapshotRequest;
import io.shoalfs.proto.csi.DeleteVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.DeleteVolumeRequest;
import io.shoalfs.proto.csi.GetCapacityRequest;
import io.shoalfs.proto.csi.GetPluginCapabilitiesRequest;
import io.shoalfs.proto.csi.GetPluginInfoRequest;
import io.shoalfs.proto.csi.GetPluginInfoResponse;
import io.shoalfs.proto.csi.GetSnapshotRequest;
import io.shoalfs.proto.csi.GetVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.ListSnapshotsRequest;
import io.shoalfs.proto.csi.ListVolumesRequest;
import io.shoalfs.proto.csi.NodeExpandVolumeRequest;
import io.shoalfs.proto.csi.NodeGetCapabilitiesRequest;
import io.shoalfs.proto.csi.NodeGetInfoRequest;
import io.shoalfs.proto.csi.NodeGetVolumeStatsRequest;
import io.shoalfs.proto.csi.NodeServiceCapability;
import io.shoalfs.proto.csi.NodeUnpublishVolumeRequest;
import io.shoalfs.proto.csi.NodeUnstageVolumeRequest;
import io.shoalfs.proto.csi.PluginCapability;
import io.shoalfs.proto.csi.ProbeRequest;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesRequest;
import io.shoalfs.proto.csi.VolumeCapability;
import io.shoalfs.proto.csi.VolumeContentSource;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Everything the driver decides before it talks to the metadata service: validation, error codes, identity,
 * the socket. The metadata address points at a closed port, so a call that wrongly got past validation would
 * hang on it and fail the test by its deadline.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class DriverWithoutMetaTest {
  @TempDir
  Path tmp;
  private CsiDriver driver;
  private CsiClient client;

  @BeforeEach
  void start() throws IOException {
    driver = startDriver(tmp.resolve("csi.sock"), true, true);
    client = new CsiClient(driver.socket());
  }

  private CsiDriver startDriver(Path socket, boolean controller, boolean node) throws IOException {
    return CsiDriver.start(new CsiDriver.Config(socket, "node-a", "127.0.0.1:" + Ports.freePortPair(), controller,
        node, tmp.resolve("state"), Duration.ofSeconds(60), MountProcesses.currentJava()));
  }

  @AfterEach
  void stop() throws InterruptedException {
    if (client != null) {
      client.close();
    }
    if (driver != null) {
      driver.close();
    }
  }

  /** One broken request per row, and the status code the spec demands for it. */
  static Stream<Arguments> badRequests() {
    Path abs = Path.of("/var/lib/kubelet/plugins/x");
    String id = "shoal:v1:pvc-1";
    return Stream.of(
        row("CreateVolume without name", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("", 1 << 20).build())),
        row("CreateVolume with a 129-byte name", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("n".repeat(129), 1 << 20).build())),
        row("CreateVolume with a control character in the name", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc\u0007x", 1 << 20).build())),
        row("CreateVolume without capabilities", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).clearVolumeCapabilities().build())),
        row("CreateVolume with block access", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).addVolumeCapabilities(Requests.block())
                .build())),
        row("CreateVolume with no access type", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).clearVolumeCapabilities()
                .addVolumeCapabilities(Requests.rwx().toBuilder().clearMount()).build())),
        row("CreateVolume with no access mode", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).clearVolumeCapabilities()
                .addVolumeCapabilities(Requests.rwx().toBuilder().clearAccessMode()).build())),
        row("CreateVolume with access mode UNKNOWN", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).clearVolumeCapabilities()
                .addVolumeCapabilities(Requests.rwx().toBuilder().setAccessMode(
                    VolumeCapability.AccessMode.getDefaultInstance())).build())),
        row("CreateVolume from a snapshot id that is not a Shoal snapshot", Status.Code.NOT_FOUND,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).setVolumeContentSource(
                io.shoalfs.proto.csi.VolumeContentSource.newBuilder().setSnapshot(
                    io.shoalfs.proto.csi.VolumeContentSource.SnapshotSource.newBuilder().setSnapshotId("s"))).build())),
        row("CreateVolume with negative required_bytes", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", -1).build())),
        row("CreateVolume with limit below required", Status.Code.OUT_OF_RANGE,
            c -> c.controller().createVolume(Requests.create("pvc-1", 2 << 20).setCapacityRange(
                io.shoalfs.proto.csi.CapacityRange.newBuilder().setRequiredBytes(2 << 20).setLimitBytes(1 << 20))
                .build())),
        row("DeleteVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().deleteVolume(DeleteVolumeRequest.getDefaultInstance())),
        row("ValidateVolumeCapabilities without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
                .addVolumeCapabilities(Requests.rwx()).build())),
        row("ValidateVolumeCapabilities without capabilities", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
                .setVolumeId(id).build())),
        row("ValidateVolumeCapabilities of a foreign volume id", Status.Code.NOT_FOUND,
            c -> c.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
                .setVolumeId("some-other-driver/vol").addVolumeCapabilities(Requests.rwx()).build())),
        row("CreateVolume from a volume while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).setVolumeContentSource(
                VolumeContentSource.newBuilder().setVolume(VolumeContentSource.VolumeSource.newBuilder()
                    .setVolumeId(id))).build())),
        row("CreateVolume with an empty content source", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20)
                .setVolumeContentSource(VolumeContentSource.getDefaultInstance()).build())),
        row("CreateVolume with a mutable parameter", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).putMutableParams("iops", "9").build())),
        row("ListVolumes with a token it did not make", Status.Code.ABORTED,
            c -> c.controller().listVolumes(ListVolumesRequest.newBuilder().setStartingToken("garbage").build())),
        row("ListVolumes with a damaged token", Status.Code.ABORTED,
            c -> c.controller().listVolumes(ListVolumesRequest.newBuilder().setStartingToken("p1.!!").build())),
        row("ListVolumes with negative max_entries", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().listVolumes(ListVolumesRequest.newBuilder().setMaxEntries(-1).build())),
        row("ControllerGetVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().controllerGetVolume(ControllerGetVolumeRequest.getDefaultInstance())),
        row("ControllerGetVolume of a foreign volume id", Status.Code.NOT_FOUND,
            c -> c.controller().controllerGetVolume(ControllerGetVolumeRequest.newBuilder().setVolumeId("vol-x")
                .build())),
        row("ControllerModifyVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().controllerModifyVolume(ControllerModifyVolumeRequest.getDefaultInstance())),
        row("ControllerModifyVolume of a parameter that cannot change live", Status.Code.INVALID_ARGUMENT,
            c -> c.controller().controllerModifyVolume(ControllerModifyVolumeRequest.newBuilder().setVolumeId(id)
                .putMutableParameters("iops", "100").build())),
        row("ControllerModifyVolume of a foreign volume id", Status.Code.NOT_FOUND,
            c -> c.controller().controllerModifyVolume(ControllerModifyVolumeRequest.newBuilder()
                .setVolumeId("vol-x").build())),
        row("ControllerPublishVolume (no attach step)", Status.Code.UNIMPLEMENTED,
            c -> c.controller().controllerPublishVolume(ControllerPublishVolumeRequest.newBuilder().setVolumeId(id)
                .setNodeId("node-a").setVolumeCapability(Requests.rwx()).build())),
        row("ControllerExpandVolume while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.controller().controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder().setVolumeId(id)
                .setCapacityRange(io.shoalfs.proto.csi.CapacityRange.newBuilder().setRequiredBytes(1 << 30))
                .build())),
        row("CreateSnapshot while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.controller().createSnapshot(CreateSnapshotRequest.newBuilder().setSourceVolumeId(id)
                .setName("snap-1").build())),
        row("DeleteSnapshot while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.controller().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId("shoal:s1:a@b")
                .build())),
        row("ListSnapshots while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.controller().listSnapshots(ListSnapshotsRequest.getDefaultInstance())),
        row("GetSnapshot while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.controller().getSnapshot(GetSnapshotRequest.newBuilder().setSnapshotId("shoal:s1:a@b").build())),
        row("CreateVolumeGroupSnapshot while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.group().createVolumeGroupSnapshot(CreateVolumeGroupSnapshotRequest.newBuilder().setName("g")
                .addSourceVolumeIds(id).build())),
        row("GetVolumeGroupSnapshot while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.group().getVolumeGroupSnapshot(GetVolumeGroupSnapshotRequest.newBuilder()
                .setGroupSnapshotId("shoal:g1:g").addSnapshotIds("shoal:s1:a@g").build())),
        row("DeleteVolumeGroupSnapshot while no metadata replica answers", Status.Code.UNAVAILABLE,
            c -> c.group().deleteVolumeGroupSnapshot(DeleteVolumeGroupSnapshotRequest.newBuilder()
                .setGroupSnapshotId("shoal:g1:g").addSnapshotIds("shoal:s1:a@g").build())),
        row("NodeGetVolumeStats without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumePath(abs.toString())
                .build())),
        row("NodeGetVolumeStats without volume path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(id).build())),
        row("NodeGetVolumeStats with a relative volume path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(id)
                .setVolumePath("pods/x").build())),
        row("NodeGetVolumeStats of a foreign volume id", Status.Code.NOT_FOUND,
            c -> c.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId("vol-x")
                .setVolumePath(abs.toString()).build())),
        row("NodeGetVolumeStats where nothing is mounted", Status.Code.NOT_FOUND,
            c -> c.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(id)
                .setVolumePath("/tmp/shoal-never-mounted").build())),
        row("NodeExpandVolume without volume path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(id).build())),
        row("NodeExpandVolume with limit below required", Status.Code.OUT_OF_RANGE,
            c -> c.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(id)
                .setVolumePath(abs.toString()).setCapacityRange(io.shoalfs.proto.csi.CapacityRange.newBuilder()
                    .setRequiredBytes(2 << 20).setLimitBytes(1 << 20)).build())),
        row("NodeExpandVolume with block access", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(id)
                .setVolumePath(abs.toString()).setVolumeCapability(Requests.block()).build())),
        row("NodeExpandVolume where nothing is mounted", Status.Code.NOT_FOUND,
            c -> c.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(id)
                .setVolumePath("/tmp/shoal-never-mounted").build())),
        row("NodeStageVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeStageVolume(Requests.stage("", abs).build())),
        row("NodeStageVolume without staging path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeStageVolume(Requests.stage(id, abs).clearStagingTargetPath().build())),
        row("NodeStageVolume with a relative staging path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeStageVolume(Requests.stage(id, Path.of("relative/dir")).build())),
        row("NodeStageVolume without capability", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeStageVolume(Requests.stage(id, abs).clearVolumeCapability().build())),
        row("NodeStageVolume with block access", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeStageVolume(Requests.stage(id, abs).setVolumeCapability(Requests.block()).build())),
        row("NodeStageVolume of a foreign volume id", Status.Code.NOT_FOUND,
            c -> c.node().nodeStageVolume(Requests.stage("vol-from-elsewhere", abs).build())),
        row("NodeUnstageVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder()
                .setStagingTargetPath(abs.toString()).build())),
        row("NodeUnstageVolume without staging path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(id).build())),
        row("NodePublishVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodePublishVolume(Requests.publish("", abs, abs.resolve("t")).build())),
        row("NodePublishVolume without staging path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodePublishVolume(Requests.publish(id, abs, abs.resolve("t")).clearStagingTargetPath()
                .build())),
        row("NodePublishVolume without target path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodePublishVolume(Requests.publish(id, abs, abs.resolve("t")).clearTargetPath().build())),
        row("NodePublishVolume without capability", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodePublishVolume(Requests.publish(id, abs, abs.resolve("t")).clearVolumeCapability()
                .build())),
        row("NodePublishVolume with block access", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodePublishVolume(Requests.publish(id, abs, abs.resolve("t"))
                .setVolumeCapability(Requests.block()).build())),
        row("NodePublishVolume of a volume that is not staged", Status.Code.FAILED_PRECONDITION,
            c -> c.node().nodePublishVolume(Requests.publish(id, Path.of("/tmp"), Path.of("/tmp/shoal-never"))
                .build())),
        row("NodeUnpublishVolume without volume id", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder()
                .setTargetPath(abs.toString()).build())),
        row("NodeUnpublishVolume without target path", Status.Code.INVALID_ARGUMENT,
            c -> c.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(id).build())));
  }

  private static Arguments row(String name, Status.Code code, Consumer<CsiClient> call) {
    return Arguments.of(Named.of(name, call), code);
  }

  @ParameterizedTest(name = "{0} -> {1}")
  @MethodSource("badRequests")
  void badRequestGetsItsCode(Consumer<CsiClient> call, Status.Code expected) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> call.accept(client));
    assertEquals(expected, e.getStatus().getCode(), e.getStatus().getDescription());
    assertFalse(e.getStatus().getDescription() == null || e.getStatus().getDescription().isBlank(),
        "the spec requires a human-readable message");
  }

  @Test
  void pluginInfoNamesTheDriverAndItsVersion() {
    GetPluginInfoResponse info = client.identity().getPluginInfo(GetPluginInfoRequest.getDefaultInstance());
    assertEquals("csi.shoalfs.io", info.getName());
    assertFalse(info.getVendorVersion().isEmpty());
    assertFalse(info.getVendorVersion().contains("${"), "the build filtered the version in");
    assertEquals(CsiDriver.version(), info.getVendorVersion());
  }

  @Test
  void capabilitiesFollowTheServedServices() throws Exception {
    assertTrue(client.identity().getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance())
        .getCapabilitiesList().stream()
        .anyMatch(c -> c.getService().getType() == PluginCapability.Service.Type.CONTROLLER_SERVICE));
    assertEquals(ControllerServiceCapability.RPC.Type.CREATE_DELETE_VOLUME, client.controller()
        .controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance())
        .getCapabilities(0).getRpc().getType());
    assertEquals(NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME, client.node()
        .nodeGetCapabilities(NodeGetCapabilitiesRequest.getDefaultInstance()).getCapabilities(0).getRpc().getType());
    assertEquals("node-a", client.node().nodeGetInfo(NodeGetInfoRequest.getDefaultInstance()).getNodeId());

    Path nodeOnlySocket = tmp.resolve("node-only.sock");
    try (CsiDriver nodeOnly = startDriver(nodeOnlySocket, false, true); CsiClient c = new CsiClient(nodeOnlySocket)) {
      // No controller or group controller service on a node-only plugin (online expansion may be listed).
      assertTrue(c.identity().getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance())
          .getCapabilitiesList().stream().noneMatch(cap -> cap.hasService()), "no services on a node-only plugin");
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> c.controller().createVolume(Requests.create("pvc-1", 1 << 20).build()));
      assertEquals(Status.Code.UNIMPLEMENTED, e.getStatus().getCode());
    }
  }

  /** Capacity for block volumes is none, answered without asking the metadata service. */
  @Test
  void capacityForBlockIsZero() {
    assertEquals(0, client.controller().getCapacity(GetCapacityRequest.newBuilder()
        .addVolumeCapabilities(Requests.block()).build()).getAvailableCapacity());
  }

  @Test
  void probeIsNotReadyWithoutMetadataService() {
    assertFalse(client.identity().probe(ProbeRequest.getDefaultInstance()).getReady().getValue());
  }

  @Test
  void socketIsGroupOnlyAndRemovedOnClose() throws Exception {
    Path socket = driver.socket();
    assertTrue(Files.readAttributes(socket, java.nio.file.attribute.BasicFileAttributes.class).isOther(), "a socket");
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(socket);
    assertTrue(CsiServer.SOCKET_MODE.containsAll(mode), "mode " + mode + " is 0660 or stricter");
    assertFalse(mode.contains(PosixFilePermission.OTHERS_READ) || mode.contains(PosixFilePermission.OTHERS_WRITE));
    client.close();
    client = null;
    driver.close();
    driver = null;
    assertFalse(Files.exists(socket), "socket removed on close");
  }

  @Test
  void staleSocketIsReplacedButOtherFilesAreNot() throws Exception {
    Path stale = tmp.resolve("stale.sock");
    try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      ch.bind(UnixDomainSocketAddress.of(stale));
    }
    assertTrue(Files.exists(stale), "a crashed server leaves its socket file behind");
    try (CsiDriver second = startDriver(stale, true, false); CsiClient c = new CsiClient(stale)) {
      assertEquals("csi.shoalfs.io", c.identity().getPluginInfo(GetPluginInfoRequest.getDefaultInstance()).getName());
    }
    Path regular = tmp.resolve("data.txt");
    Files.writeString(regular, "not a socket");
    assertThrows(IOException.class, () -> startDriver(regular, true, false));
    assertEquals("not a socket", Files.readString(regular));
  }

  @Test
  void unpublishAndUnstageOfWhatIsGoneSucceed() {
    Path target = tmp.resolve("pods/p1/volume");
    client.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId("shoal:v1:pvc-1")
        .setTargetPath(target.toString()).build());
    client.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId("shoal:v1:pvc-1")
        .setStagingTargetPath(tmp.resolve("staging/pvc-1").toString()).build());
    // Deleting a volume id that cannot exist is a success too (the spec's idempotency rule).
    client.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId("not-ours").build());
  }

  /** Secrets reach the log only as ***stripped***, on the success and on the failure path alike. */
  @Test
  void secretsAreNeverLogged() {
    String secret = "hunter2-" + System.nanoTime();
    PrintStream original = System.err;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      assertThrows(StatusRuntimeException.class, () -> client.controller().createVolume(Requests.create("pvc-s", 1)
          .putSecrets("password", secret).clearVolumeCapabilities().addVolumeCapabilities(Requests.block()).build()));
      assertThrows(StatusRuntimeException.class, () -> client.node().nodeStageVolume(
          Requests.stage("foreign", tmp.resolve("s")).putSecrets("token", secret).build()));
      assertThrows(StatusRuntimeException.class, () -> client.node().nodePublishVolume(
          Requests.publish("shoal:v1:pvc-s", tmp.resolve("s"), tmp.resolve("t")).putSecrets("token", secret).build()));
    } finally {
      System.setErr(original);
    }
    String log = captured.toString(StandardCharsets.UTF_8);
    original.print(log);
    assertTrue(log.contains("csi.v1.Controller/CreateVolume"), "the call was logged: " + log);
    assertTrue(log.contains("csi.v1.Node/NodeStageVolume"), log);
    assertTrue(log.contains("***stripped***"), log);
    assertTrue(log.contains("password"), "secret names stay visible: " + log);
    assertFalse(log.contains(secret), "a secret value was logged: " + log);
  }
}
