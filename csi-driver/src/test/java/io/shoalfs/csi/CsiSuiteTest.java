package io.shoalfs.csi;

import static io.shoalfs.csi.CsiHarness.MIB;
import static io.shoalfs.csi.CsiHarness.code;
import static io.shoalfs.csi.CsiHarness.name;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.common.net.Ports;
import io.shoalfs.csi.core.MountRecords;
import io.shoalfs.csi.core.Mounter;
import io.shoalfs.proto.csi.CapacityRange;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.ControllerGetVolumeRequest;
import io.shoalfs.proto.csi.ControllerGetVolumeResponse;
import io.shoalfs.proto.csi.ControllerModifyVolumeRequest;
import io.shoalfs.proto.csi.ControllerServiceCapability;
import io.shoalfs.proto.csi.CreateVolumeResponse;
import io.shoalfs.proto.csi.DeleteVolumeRequest;
import io.shoalfs.proto.csi.GetCapacityRequest;
import io.shoalfs.proto.csi.GetPluginCapabilitiesRequest;
import io.shoalfs.proto.csi.GroupControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.ListVolumesRequest;
import io.shoalfs.proto.csi.ListVolumesResponse;
import io.shoalfs.proto.csi.NodeExpandVolumeRequest;
import io.shoalfs.proto.csi.NodeGetCapabilitiesRequest;
import io.shoalfs.proto.csi.NodeGetVolumeStatsRequest;
import io.shoalfs.proto.csi.NodeGetVolumeStatsResponse;
import io.shoalfs.proto.csi.NodeServiceCapability;
import io.shoalfs.proto.csi.PluginCapability;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesRequest;
import io.shoalfs.proto.csi.Volume;
import io.shoalfs.proto.csi.VolumeUsage;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CSI suite of issue 6 for everything the metadata API backs today, over the driver's real unix socket,
 * against a real metadata service and storage daemon, with real FUSE mount processes: each RPC driven the way
 * the external-provisioner, the resizer, the health monitor and kubelet drive it, every call repeated (the CO
 * retries whatever it did not see answered), and the error cases of the spec's tables. The snapshot, clone and
 * expansion RPCs have their cases in {@link CsiSnapshotSuiteTest}.
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CsiSuiteTest {
  private static TestCluster cluster;

  @TempDir
  Path tmp;
  private CsiHarness h;

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
    h = CsiHarness.start(tmp, cluster.metaAddrs());
  }

  @AfterEach
  void stopDriver() throws Exception {
    if (h != null) {
      h.close();
    }
  }

  private Set<ControllerServiceCapability.RPC.Type> controllerCaps() {
    return h.client.controller().controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance())
        .getCapabilitiesList().stream().map(c -> c.getRpc().getType()).collect(Collectors.toSet());
  }

  @Test
  void capabilitiesAdvertiseWhatWorksAndNothingElse() {
    Set<ControllerServiceCapability.RPC.Type> controller = controllerCaps();
    assertTrue(controller.containsAll(Set.of(ControllerServiceCapability.RPC.Type.CREATE_DELETE_VOLUME,
        ControllerServiceCapability.RPC.Type.LIST_VOLUMES, ControllerServiceCapability.RPC.Type.GET_CAPACITY,
        ControllerServiceCapability.RPC.Type.GET_VOLUME, ControllerServiceCapability.RPC.Type.VOLUME_CONDITION)),
        controller.toString());
    assertFalse(controller.contains(ControllerServiceCapability.RPC.Type.PUBLISH_UNPUBLISH_VOLUME));
    assertFalse(controller.contains(ControllerServiceCapability.RPC.Type.MODIFY_VOLUME), "nothing can change live");
    Set<NodeServiceCapability.RPC.Type> node = h.client.node()
        .nodeGetCapabilities(NodeGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList().stream()
        .map(c -> c.getRpc().getType()).collect(Collectors.toSet());
    assertTrue(node.containsAll(Set.of(NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
        NodeServiceCapability.RPC.Type.GET_VOLUME_STATS, NodeServiceCapability.RPC.Type.VOLUME_CONDITION)));
    List<PluginCapability> plugin = h.client.identity()
        .getPluginCapabilities(GetPluginCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList();
    boolean groups = !h.client.group().groupControllerGetCapabilities(
        GroupControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList().isEmpty();
    assertEquals(groups, plugin.stream().anyMatch(
        c -> c.getService().getType() == PluginCapability.Service.Type.GROUP_CONTROLLER_SERVICE));
    boolean expand = controller.contains(ControllerServiceCapability.RPC.Type.EXPAND_VOLUME);
    assertEquals(expand, plugin.stream().anyMatch(c -> c.hasVolumeExpansion()
        && c.getVolumeExpansion().getType() == PluginCapability.VolumeExpansion.Type.ONLINE));
    assertEquals(expand, node.contains(NodeServiceCapability.RPC.Type.EXPAND_VOLUME));
    // Snapshots and CLONE_VOLUME come together with their RPCs; LIST_SNAPSHOTS never without CREATE_DELETE.
    assertEquals(controller.contains(ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT),
        controller.contains(ControllerServiceCapability.RPC.Type.LIST_SNAPSHOTS));
  }

  /** One capacity_range per row: what CreateVolume provisions for it, or the code it fails with. */
  @Test
  void createVolumeHonoursTheCapacityRange() {
    record Row(long required, long limit, long expected, Status.Code code) {}
    List<Row> rows = List.of(
        new Row(10 * MIB, 0, 10 * MIB, null),
        new Row(0, 20 * MIB, 20 * MIB, null),
        new Row(10 * MIB, 20 * MIB, 10 * MIB, null),
        new Row(10 * MIB, 10 * MIB, 10 * MIB, null),
        new Row(0, 0, 1L << 30, null),
        new Row(20 * MIB, 10 * MIB, 0, Status.Code.OUT_OF_RANGE),
        new Row(-1, 0, 0, Status.Code.INVALID_ARGUMENT),
        new Row(0, -1, 0, Status.Code.INVALID_ARGUMENT));
    for (Row r : rows) {
      String pv = name();
      var req = Requests.create(pv, 0).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(r.required())
          .setLimitBytes(r.limit())).build();
      for (int attempt = 0; attempt < 2; attempt++) {
        if (r.code() != null) {
          assertEquals(r.code(), code(() -> h.client.controller().createVolume(req)), r.toString());
          continue;
        }
        CreateVolumeResponse resp = h.client.controller().createVolume(req);
        assertEquals(r.expected(), resp.getVolume().getCapacityBytes(), r.toString());
        assertEquals("shoal:v1:" + pv, resp.getVolume().getVolumeId());
      }
      if (r.code() == null) {
        assertEquals(r.expected(), subvolumeCapacity(pv), "the subvolume's quota is what was reported");
        delete("shoal:v1:" + pv);
      } else {
        assertFalse(exists(pv), "a refused request creates nothing");
      }
    }
  }

  private long subvolumeCapacity(String pv) {
    try {
      return cluster.client().getSubvolume(pv).getCapacityBytes();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private boolean exists(String pv) {
    try {
      cluster.client().getSubvolume(pv);
      return true;
    } catch (io.shoalfs.client.MetaException e) {
      return false;
    }
  }

  /**
   * The StorageClass `replication` parameter (the chart sets it) becomes the subvolume's replication; a bad value
   * is INVALID_ARGUMENT and creates nothing; the same name with another replication is ALREADY_EXISTS.
   */
  @Test
  void createVolumeTakesTheReplicationParameter() throws Exception {
    for (String bad : List.of("4", "0", "two", "-1")) {
      String pv = name();
      var req = Requests.create(pv, 10 * MIB).putParameters("replication", bad).build();
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> h.client.controller().createVolume(req));
      assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode(), bad);
      assertTrue(e.getStatus().getDescription().contains("replication"), e.getStatus().getDescription());
      assertFalse(exists(pv), "a refused request creates nothing");
    }
    String pv = name();
    var three = Requests.create(pv, 10 * MIB).putParameters("replication", "3").build();
    Volume v = h.client.controller().createVolume(three).getVolume();
    assertEquals(v, h.client.controller().createVolume(three).getVolume(), "a retry is the same volume");
    assertEquals(3, cluster.client().getSubvolume(pv).getReplication());
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> h.client.controller().createVolume(
        Requests.create(pv, 10 * MIB).putParameters("replication", "2").build())));
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> h.client.controller().createVolume(
        Requests.create(pv, 10 * MIB).build())), "no parameter is the cluster's default, not 3");
    assertEquals(3, cluster.client().getSubvolume(pv).getReplication(), "no request changed it");
    delete(v.getVolumeId());
    String plain = name();
    Volume d = h.client.controller().createVolume(Requests.create(plain, 10 * MIB).build()).getVolume();
    assertEquals(0, cluster.client().getSubvolume(plain).getReplication(), "without the parameter: the default");
    delete(d.getVolumeId());
  }

  /** Same name, different request: compatible ones are the same volume, incompatible ones ALREADY_EXISTS. */
  @Test
  void sameNameWithAnIncompatibleRequestIsAlreadyExists() {
    String pv = name();
    Volume v = h.create(pv, 10 * MIB);
    record Row(long required, long limit, Status.Code code) {}
    for (Row r : List.of(new Row(10 * MIB, 0, null), new Row(5 * MIB, 20 * MIB, null), new Row(0, 10 * MIB, null),
        new Row(20 * MIB, 0, Status.Code.ALREADY_EXISTS), new Row(0, 5 * MIB, Status.Code.ALREADY_EXISTS),
        new Row(11 * MIB, 12 * MIB, Status.Code.ALREADY_EXISTS))) {
      var req = Requests.create(pv, 0).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(r.required())
          .setLimitBytes(r.limit())).build();
      for (int attempt = 0; attempt < 2; attempt++) {
        if (r.code() == null) {
          assertEquals(v, h.client.controller().createVolume(req).getVolume(), r.toString());
        } else {
          assertEquals(r.code(), code(() -> h.client.controller().createVolume(req)), r.toString());
        }
      }
    }
    assertEquals(10 * MIB, subvolumeCapacity(pv), "no request changed the volume");
    delete(v.getVolumeId());
  }

  /**
   * DeleteVolume as external-provisioner drives it: FAILED_PRECONDITION while a mount session of the volume is
   * still live (a mount process killed a moment ago holds its session until the 5 s lease runs out) is retried.
   */
  private void delete(String id) {
    long deadline = System.nanoTime() + java.time.Duration.ofSeconds(30).toNanos();
    while (true) {
      try {
        h.client.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
        return;
      } catch (io.grpc.StatusRuntimeException e) {
        if (e.getStatus().getCode() != Status.Code.FAILED_PRECONDITION || System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(500);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }

  @Test
  void deleteVolumeIsIdempotentAndLaterCallsSeeNotFound() {
    String pv = name();
    Volume v = h.create(pv, 10 * MIB);
    delete(v.getVolumeId());
    delete(v.getVolumeId());
    delete("shoal:v1:" + name());
    delete("a-volume-of-another-driver");
    assertFalse(exists(pv));
    String id = v.getVolumeId();
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.controller().controllerGetVolume(
        ControllerGetVolumeRequest.newBuilder().setVolumeId(id).build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.controller().validateVolumeCapabilities(
        ValidateVolumeCapabilitiesRequest.newBuilder().setVolumeId(id).addVolumeCapabilities(Requests.rwx())
            .build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.controller().controllerModifyVolume(
        ControllerModifyVolumeRequest.newBuilder().setVolumeId(id).build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.node().nodeStageVolume(
        Requests.stage(id, h.staging(pv)).build())));
  }

  /** Walks every page; returns the ids in listing order. Each page is asked for twice and must come back equal. */
  private List<String> listAll(int maxEntries, String prefix) {
    List<String> ids = new ArrayList<>();
    String token = "";
    for (int pages = 0; pages < 10_000; pages++) {
      ListVolumesRequest req = ListVolumesRequest.newBuilder().setMaxEntries(maxEntries).setStartingToken(token)
          .build();
      ListVolumesResponse page = h.client.controller().listVolumes(req);
      assertEquals(page, h.client.controller().listVolumes(req), "the same page again");
      assertTrue(maxEntries == 0 || page.getEntriesCount() <= maxEntries);
      for (ListVolumesResponse.Entry e : page.getEntriesList()) {
        assertTrue(e.getStatus().hasVolumeCondition(), "VOLUME_CONDITION is advertised: every entry has one");
        if (e.getVolume().getVolumeId().startsWith("shoal:v1:" + prefix)) {
          ids.add(e.getVolume().getVolumeId());
        }
      }
      token = page.getNextToken();
      if (token.isEmpty()) {
        return ids;
      }
    }
    throw new AssertionError("ListVolumes never ended");
  }

  @Test
  void listVolumesPaginatesWithTokensThatSurviveDeletes() {
    String prefix = "pvc-list-" + System.nanoTime() + "-";
    List<String> made = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      made.add(h.create(prefix + i, (i + 1) * MIB).getVolumeId());
    }
    assertEquals(made, listAll(2, prefix), "every volume once, in name order, two per page");
    assertEquals(made, listAll(0, prefix), "no limit: one page");
    assertEquals(made, listAll(1, prefix));

    // A token names the last entry it returned: deleting that entry does not break the listing.
    ListVolumesResponse first = h.client.controller().listVolumes(ListVolumesRequest.newBuilder().setMaxEntries(1)
        .build());
    String token = first.getNextToken();
    assertFalse(token.isEmpty());
    delete(first.getEntries(0).getVolume().getVolumeId());
    ListVolumesResponse next = h.client.controller().listVolumes(ListVolumesRequest.newBuilder().setMaxEntries(1)
        .setStartingToken(token).build());
    assertNotEquals(first.getEntries(0).getVolume().getVolumeId(), next.getEntries(0).getVolume().getVolumeId());

    // An entry carries the capacity and a normal condition with the usage in it.
    ListVolumesResponse all = h.client.controller().listVolumes(ListVolumesRequest.getDefaultInstance());
    ListVolumesResponse.Entry e = all.getEntriesList().stream()
        .filter(x -> x.getVolume().getVolumeId().equals(made.get(2))).findFirst().orElseThrow();
    assertEquals(3 * MIB, e.getVolume().getCapacityBytes());
    assertEquals(prefix + 2, e.getVolume().getVolumeContextOrThrow("shoal.io/subvolume"));
    assertFalse(e.getStatus().getVolumeCondition().getAbnormal(), e.toString());

    for (String bad : List.of("garbage", "p1.", "p1.%%%", "p1." + b64("../etc"), "p1." + b64("pvc/x"),
        "p2." + first.getNextToken().substring(3))) {
      assertEquals(Status.Code.ABORTED, code(() -> h.client.controller().listVolumes(ListVolumesRequest.newBuilder()
          .setStartingToken(bad).build())), bad);
    }
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.controller().listVolumes(
        ListVolumesRequest.newBuilder().setMaxEntries(-2).build())));
    made.forEach(this::delete);
  }

  private static String b64(String s) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void getCapacityIsThePoolLessWhatVolumesUse() throws Exception {
    GetCapacityRequest req = GetCapacityRequest.newBuilder().addVolumeCapabilities(Requests.rwx()).build();
    long before = h.client.controller().getCapacity(req).getAvailableCapacity();
    assertTrue(before > 0 && before <= TestCluster.STORAGE_CAPACITY, "available " + before);
    assertEquals(before, h.client.controller().getCapacity(req).getAvailableCapacity(), "nothing changed");
    assertFalse(h.client.controller().getCapacity(req).hasMaximumVolumeSize(), "no per-volume maximum exists");
    assertEquals(0, h.client.controller().getCapacity(GetCapacityRequest.newBuilder()
        .addVolumeCapabilities(Requests.block()).build()).getAvailableCapacity(), "no capacity for block volumes");

    Volume v = h.create(name(), 64 * MIB);
    Path staging = h.stage(v);
    Files.write(staging.resolve("data"), new byte[8 * (int) MIB]);
    long after = waitFor(() -> h.client.controller().getCapacity(req).getAvailableCapacity(),
        a -> before - a >= 8 * MIB);
    assertTrue(before - after >= 8 * MIB, "8 MiB written: " + before + " -> " + after);
    h.unstage(v.getVolumeId(), staging);
    delete(v.getVolumeId());
  }

  /** Polls until the condition holds or 30 s pass; returns the last value. */
  private static <T> T waitFor(java.util.concurrent.Callable<T> get, java.util.function.Predicate<T> ok)
      throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    T v = get.call();
    while (!ok.test(v) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      v = get.call();
    }
    return v;
  }

  @Test
  void controllerGetVolumeReportsCapacityUsageAndCondition() throws Exception {
    Volume v = h.create(name(), 32 * MIB);
    Path staging = h.stage(v);
    Files.write(staging.resolve("a"), new byte[(int) MIB]);
    Files.createDirectories(staging.resolve("dir/sub"));
    ControllerGetVolumeRequest req = ControllerGetVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).build();
    ControllerGetVolumeResponse r = waitFor(() -> h.client.controller().controllerGetVolume(req),
        x -> leadingNumber(x.getStatus().getVolumeCondition().getMessage()) >= MIB);
    assertEquals(v.getVolumeId(), r.getVolume().getVolumeId());
    assertEquals(32 * MIB, r.getVolume().getCapacityBytes());
    assertFalse(r.getStatus().getVolumeCondition().getAbnormal());
    String msg = r.getStatus().getVolumeCondition().getMessage();
    assertTrue(leadingNumber(msg) >= MIB && msg.contains(" of " + 32 * MIB + " bytes and 4 of "), msg);
    assertEquals(r, h.client.controller().controllerGetVolume(req), "asked again, the same answer");
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.controller().controllerGetVolume(
        ControllerGetVolumeRequest.newBuilder().setVolumeId("shoal:v1:" + name()).build())));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.controller().controllerGetVolume(
        ControllerGetVolumeRequest.getDefaultInstance())));
    h.unstage(v.getVolumeId(), staging);
    delete(v.getVolumeId());
  }

  /** The used bytes a condition message starts with ("N of M bytes ..."). */
  private static long leadingNumber(String msg) {
    int end = msg.indexOf(' ');
    try {
      return Long.parseLong(end < 0 ? msg : msg.substring(0, end));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  @Test
  void controllerModifyVolumeChangesNothingAndNamesWhatItCannotChange() {
    Volume v = h.create(name(), 10 * MIB);
    ControllerModifyVolumeRequest none = ControllerModifyVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
        .build();
    h.client.controller().controllerModifyVolume(none);
    h.client.controller().controllerModifyVolume(none);
    var e = org.junit.jupiter.api.Assertions.assertThrows(io.grpc.StatusRuntimeException.class,
        () -> h.client.controller().controllerModifyVolume(none.toBuilder().putMutableParameters("iops", "100")
            .build()));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("'iops'"), e.getStatus().getDescription());
    assertEquals(10 * MIB, subvolumeCapacity(v.getVolumeContextOrThrow("shoal.io/subvolume")));
    // ValidateVolumeCapabilities does not confirm parameters that cannot be set, and says which.
    var validated = h.client.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).addVolumeCapabilities(Requests.rwx()).putMutableParams("iops", "100").build());
    assertFalse(validated.hasConfirmed());
    assertTrue(validated.getMessage().contains("'iops'"), validated.getMessage());
    delete(v.getVolumeId());
  }

  private NodeGetVolumeStatsResponse stats(String id, Path path) {
    return h.client.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder().setVolumeId(id)
        .setVolumePath(path.toString()).build());
  }

  private static VolumeUsage usage(NodeGetVolumeStatsResponse r, VolumeUsage.Unit unit) {
    return r.getUsageList().stream().filter(u -> u.getUnit() == unit).findFirst().orElseThrow();
  }

  @Test
  void nodeGetVolumeStatsReportsTheQuotaAndTheUsage() throws Exception {
    Volume v = h.create(name(), 64 * MIB);
    Path staging = h.stage(v);
    Path target = h.publish(v, staging, "pod-a");
    Files.write(target.resolve("f"), new byte[3 * (int) MIB]);
    Files.createDirectory(target.resolve("d"));
    for (Path p : List.of(target, staging)) {
      NodeGetVolumeStatsResponse r = waitFor(() -> stats(v.getVolumeId(), p),
          x -> !x.getUsageList().isEmpty() && usage(x, VolumeUsage.Unit.BYTES).getUsed() >= 3 * MIB);
      assertFalse(r.getVolumeCondition().getAbnormal(), r.toString());
      VolumeUsage bytes = usage(r, VolumeUsage.Unit.BYTES);
      assertEquals(64 * MIB, bytes.getTotal(), "the quota is the size");
      assertTrue(bytes.getUsed() >= 3 * MIB && bytes.getUsed() < 64 * MIB, bytes.toString());
      assertEquals(bytes.getTotal() - bytes.getUsed(), bytes.getAvailable());
      VolumeUsage inodes = usage(r, VolumeUsage.Unit.INODES);
      assertEquals(3, inodes.getUsed(), "root, f and d");
      assertEquals(inodes.getTotal() - 3, inodes.getAvailable());
      assertEquals(r, stats(v.getVolumeId(), p), "asked again, the same answer");
    }
    // Unknown volume at the path, another volume's id, and a path where nothing is mounted: NOT_FOUND.
    assertEquals(Status.Code.NOT_FOUND, code(() -> stats("shoal:v1:" + name(), target)));
    assertEquals(Status.Code.NOT_FOUND, code(() -> stats(v.getVolumeId(), tmp.resolve("kubelet/pods"))));
    assertEquals(Status.Code.NOT_FOUND, code(() -> stats(v.getVolumeId(), tmp.resolve("nowhere"))));
    h.unpublish(v.getVolumeId(), target);
    assertEquals(Status.Code.NOT_FOUND, code(() -> stats(v.getVolumeId(), target)), "unpublished");
    h.unstage(v.getVolumeId(), staging);
    delete(v.getVolumeId());
  }

  /** A dead mount (its FUSE process killed) is reported as an abnormal condition; staging again heals it. */
  @Test
  void aDeadMountIsAnAbnormalCondition() throws Exception {
    Volume v = h.create(name(), 16 * MIB);
    Path staging = h.stage(v);
    Path target = h.publish(v, staging, "pod-a");
    assertFalse(stats(v.getVolumeId(), target).getVolumeCondition().getAbnormal());
    long pid = new MountRecords(tmp.resolve("state")).load(Mounter.normalize(staging)).orElseThrow().pid();
    ProcessHandle p = ProcessHandle.of(pid).orElseThrow();
    p.destroyForcibly();
    p.onExit().get(30, TimeUnit.SECONDS);
    for (Path path : List.of(target, staging)) {
      NodeGetVolumeStatsResponse r = stats(v.getVolumeId(), path);
      assertTrue(r.getVolumeCondition().getAbnormal(), r.toString());
      assertTrue(r.getVolumeCondition().getMessage().contains("not running"), r.toString());
      assertEquals(0, r.getUsageCount(), "no figures from a dead mount");
    }
    h.client.node().nodeStageVolume(Requests.stage(v.getVolumeId(), staging).build());
    NodeGetVolumeStatsResponse healed = stats(v.getVolumeId(), staging);
    assertFalse(healed.getVolumeCondition().getAbnormal(), "restaged: healthy again: " + healed);
    h.unpublish(v.getVolumeId(), target);
    h.unstage(v.getVolumeId(), staging);
    delete(v.getVolumeId());
  }

  /**
   * The acceptance bound: NodeGetVolumeStats answers within 2 s even when the metadata service hangs. The driver
   * and its mount reach the metadata service through a relay that the test freezes.
   */
  @Test
  void nodeGetVolumeStatsAnswersWithinTwoSecondsWhenTheMetadataServiceHangs() throws Exception {
    h.close();
    h = null;
    HostPort real = MetaAddresses.clientAddresses(cluster.metaAddrs()).get(0);
    int raftPort = Ports.freePortPair();
    try (FreezableProxy proxy = new FreezableProxy(raftPort + MetaAddresses.CLIENT_PORT_OFFSET,
        new InetSocketAddress(real.host(), real.port()))) {
      h = CsiHarness.start(tmp, "127.0.0.1:" + raftPort);
      Volume v = h.create(name(), 16 * MIB);
      Path staging = h.stage(v);
      Path target = h.publish(v, staging, "pod-a");
      assertFalse(stats(v.getVolumeId(), target).getVolumeCondition().getAbnormal());
      proxy.freeze();
      try {
        for (int i = 0; i < 4; i++) {
          long start = System.nanoTime();
          NodeGetVolumeStatsResponse r = stats(v.getVolumeId(), i % 2 == 0 ? target : staging);
          long ms = (System.nanoTime() - start) / 1_000_000;
          System.out.println("NodeGetVolumeStats with the metadata service frozen: " + ms + " ms: "
              + r.getVolumeCondition().getMessage());
          assertTrue(ms < 2000, "answered in " + ms + " ms");
          assertTrue(r.getVolumeCondition().getAbnormal(), r.toString());
        }
      } finally {
        proxy.thaw();
      }
      NodeGetVolumeStatsResponse healed = waitFor(() -> stats(v.getVolumeId(), target),
          r -> !r.getVolumeCondition().getAbnormal());
      assertFalse(healed.getVolumeCondition().getAbnormal(), "healthy again once the service answers: " + healed);
      h.unpublish(v.getVolumeId(), target);
      h.unstage(v.getVolumeId(), staging);
      delete(v.getVolumeId());
      h.close();
      h = null;
    }
  }

  @Test
  void nodeExpandVolumeReportsTheCapacity() throws Exception {
    Volume v = h.create(name(), 16 * MIB);
    Path staging = h.stage(v);
    Path target = h.publish(v, staging, "pod-a");
    for (Path p : List.of(staging, target)) {
      NodeExpandVolumeRequest req = NodeExpandVolumeRequest.newBuilder().setVolumeId(v.getVolumeId())
          .setVolumePath(p.toString()).setStagingTargetPath(staging.toString())
          .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(16 * MIB))
          .setVolumeCapability(Requests.rwx()).build();
      assertEquals(16 * MIB, h.client.node().nodeExpandVolume(req).getCapacityBytes());
      assertEquals(16 * MIB, h.client.node().nodeExpandVolume(req).getCapacityBytes());
      assertEquals(16 * MIB, h.client.node().nodeExpandVolume(req.toBuilder().clearCapacityRange().build())
          .getCapacityBytes());
      assertEquals(Status.Code.OUT_OF_RANGE, code(() -> h.client.node().nodeExpandVolume(req.toBuilder()
          .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(32 * MIB)).build())),
          "only the controller can raise the quota");
      assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.node().nodeExpandVolume(req.toBuilder()
          .setVolumeId("shoal:v1:" + name()).build())));
    }
    h.unpublish(v.getVolumeId(), target);
    h.unstage(v.getVolumeId(), staging);
    delete(v.getVolumeId());
  }

  /** The spec's unknown-id cases with a live metadata service: NOT_FOUND, or success for deletes. */
  @Test
  void unknownVolumeIdsAreNotFound() throws Exception {
    String unknown = "shoal:v1:" + name();
    Path somewhere = h.staging("x");
    Set<Status.Code> codes = new HashSet<>();
    codes.add(code(() -> h.client.controller().controllerGetVolume(ControllerGetVolumeRequest.newBuilder()
        .setVolumeId(unknown).build())));
    codes.add(code(() -> h.client.controller().validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest
        .newBuilder().setVolumeId(unknown).addVolumeCapabilities(Requests.rwx()).build())));
    codes.add(code(() -> h.client.controller().controllerModifyVolume(ControllerModifyVolumeRequest.newBuilder()
        .setVolumeId(unknown).build())));
    codes.add(code(() -> h.client.node().nodeStageVolume(Requests.stage(unknown, somewhere).build())));
    codes.add(code(() -> stats(unknown, somewhere)));
    codes.add(code(() -> h.client.node().nodeExpandVolume(NodeExpandVolumeRequest.newBuilder().setVolumeId(unknown)
        .setVolumePath(somewhere.toString()).build())));
    assertEquals(Set.of(Status.Code.NOT_FOUND), codes);
    delete(unknown);
  }
}
