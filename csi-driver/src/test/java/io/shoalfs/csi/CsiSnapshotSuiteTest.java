package io.shoalfs.csi;

import static io.shoalfs.csi.CsiHarness.MIB;
import static io.shoalfs.csi.CsiHarness.code;
import static io.shoalfs.csi.CsiHarness.name;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.grpc.Status;
import io.shoalfs.proto.csi.CapacityRange;
import io.shoalfs.proto.csi.ControllerExpandVolumeRequest;
import io.shoalfs.proto.csi.ControllerExpandVolumeResponse;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.ControllerServiceCapability;
import io.shoalfs.proto.csi.CreateSnapshotRequest;
import io.shoalfs.proto.csi.CreateVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.DeleteSnapshotRequest;
import io.shoalfs.proto.csi.DeleteVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.DeleteVolumeRequest;
import io.shoalfs.proto.csi.GetSnapshotRequest;
import io.shoalfs.proto.csi.GetVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.GroupControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.GroupControllerServiceCapability;
import io.shoalfs.proto.csi.ListSnapshotsRequest;
import io.shoalfs.proto.csi.ListSnapshotsResponse;
import io.shoalfs.proto.csi.NodeGetVolumeStatsRequest;
import io.shoalfs.proto.csi.Snapshot;
import io.shoalfs.proto.csi.Volume;
import io.shoalfs.proto.csi.VolumeContentSource;
import io.shoalfs.proto.csi.VolumeGroupSnapshot;
import io.shoalfs.proto.csi.VolumeUsage;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * The CSI suite's cases for snapshots, restores, clones, expansion and group snapshots, driven as the
 * external-snapshotter, -provisioner and -resizer drive them, over the real socket against a real cluster.
 *
 * <p>They need metadata-service operations that land with branches {@code snap} and {@code quota}. Each case
 * starts with an assumption on the capability the driver advertises, so with this build (nothing advertised)
 * they are reported as skipped with the reason, and they run by themselves once the integrator adds the feature
 * in {@code MetaVolumeBackend.FEATURES}. To run them against the UNIMPLEMENTED stubs (and watch them fail), set
 * {@code -Dshoal.csi.runUnadvertised=true} (or the environment variable {@code SHOAL_CSI_RUN_UNADVERTISED=true}).
 */
@Timeout(value = 300, unit = TimeUnit.SECONDS)
class CsiSnapshotSuiteTest {
  private static final boolean RUN_UNADVERTISED = Boolean.getBoolean("shoal.csi.runUnadvertised")
      || "true".equals(System.getenv("SHOAL_CSI_RUN_UNADVERTISED"));
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

  /** Runs the rest of the case only if the driver advertises the capability (or the stubs are to be run). */
  private void assumeAdvertised(ControllerServiceCapability.RPC.Type cap) {
    Set<ControllerServiceCapability.RPC.Type> caps = h.client.controller()
        .controllerGetCapabilities(ControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList()
        .stream().map(c -> c.getRpc().getType()).collect(Collectors.toSet());
    assumeTrue(RUN_UNADVERTISED || caps.contains(cap), "the driver does not advertise " + cap
        + " (waits for the metadata service's operation; -Dshoal.csi.runUnadvertised=true runs it anyway)");
  }

  private void assumeGroupSnapshots() {
    boolean advertised = h.client.group().groupControllerGetCapabilities(
        GroupControllerGetCapabilitiesRequest.getDefaultInstance()).getCapabilitiesList().stream()
        .anyMatch(c -> c.getRpc().getType()
            == GroupControllerServiceCapability.RPC.Type.CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT);
    assumeTrue(RUN_UNADVERTISED || advertised, "the driver does not advertise group snapshots (waits for the "
        + "metadata service's atomic multi-subvolume snapshot; -Dshoal.csi.runUnadvertised=true runs it anyway)");
  }

  private Snapshot snapshot(String sourceId, String name) {
    return h.client.controller().createSnapshot(CreateSnapshotRequest.newBuilder().setSourceVolumeId(sourceId)
        .setName(name).putParameters("csi.storage.k8s.io/volumesnapshot/name", "snap").build()).getSnapshot();
  }

  private void deleteSnapshot(String id) {
    h.client.controller().deleteSnapshot(DeleteSnapshotRequest.newBuilder().setSnapshotId(id).build());
  }

  private void deleteVolume(String id) {
    h.client.controller().deleteVolume(DeleteVolumeRequest.newBuilder().setVolumeId(id).build());
  }

  private static VolumeContentSource fromSnapshot(String id) {
    return VolumeContentSource.newBuilder().setSnapshot(VolumeContentSource.SnapshotSource.newBuilder()
        .setSnapshotId(id)).build();
  }

  private static VolumeContentSource fromVolume(String id) {
    return VolumeContentSource.newBuilder().setVolume(VolumeContentSource.VolumeSource.newBuilder()
        .setVolumeId(id)).build();
  }

  private Volume createFrom(String name, long bytes, VolumeContentSource src) {
    return h.client.controller().createVolume(Requests.create(name, bytes).setVolumeContentSource(src).build())
        .getVolume();
  }

  /** Stages the volume, runs the body on its staging path, unstages. */
  private void onMount(Volume v, IoBody body) throws Exception {
    Path staging = h.stage(v);
    try {
      body.run(staging);
    } finally {
      h.unstage(v.getVolumeId(), staging);
    }
  }

  @FunctionalInterface
  private interface IoBody {
    void run(Path root) throws Exception;
  }

  /** Writes and fsyncs: a snapshot is of what the metadata service has, not of a mount's dirty pages. */
  private static void write(Path p, String s) throws IOException {
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(p,
        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE,
        java.nio.file.StandardOpenOption.TRUNCATE_EXISTING)) {
      ch.write(java.nio.ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
      ch.force(true);
    }
  }

  @Test
  void createSnapshotIsIdempotentAndReadyAtOnce() throws Exception {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT);
    Volume v = h.create(name(), 16 * MIB);
    Volume other = h.create(name(), 16 * MIB);
    String snapName = "snapshot-" + java.util.UUID.randomUUID();
    Snapshot s = snapshot(v.getVolumeId(), snapName);
    assertTrue(s.getReadyToUse(), "O(1) snapshot: ready at once");
    assertEquals(v.getVolumeId(), s.getSourceVolumeId());
    assertTrue(s.getCreationTime().getSeconds() > 0);
    assertTrue(s.getSizeBytes() == 0 || s.getSizeBytes() >= 16 * MIB, "size is the source's capacity or unknown");
    assertTrue(s.getSnapshotId().getBytes(StandardCharsets.UTF_8).length <= 128);
    assertEquals(s, snapshot(v.getVolumeId(), snapName), "the same name again: the same snapshot");
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> snapshot(other.getVolumeId(), snapName)),
        "the same name for another volume");
    assertEquals(Status.Code.NOT_FOUND, code(() -> snapshot("shoal:v1:" + name(), "snapshot-x")));
    assertEquals(Status.Code.NOT_FOUND, code(() -> snapshot("not-ours", "snapshot-x")));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> snapshot("", "snapshot-x")));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> snapshot(v.getVolumeId(), "")));
    // A name that is no safe token is hashed into an id that still fits.
    Snapshot odd = snapshot(v.getVolumeId(), "my snapshot ✓ " + "x".repeat(100));
    assertTrue(odd.getSnapshotId().getBytes(StandardCharsets.UTF_8).length <= 128);
    assertEquals(odd, snapshot(v.getVolumeId(), "my snapshot ✓ " + "x".repeat(100)));
    deleteSnapshot(s.getSnapshotId());
    deleteSnapshot(odd.getSnapshotId());
    deleteVolume(v.getVolumeId());
    deleteVolume(other.getVolumeId());
  }

  @Test
  void deleteSnapshotIsIdempotent() {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT);
    Volume v = h.create(name(), 16 * MIB);
    Snapshot s = snapshot(v.getVolumeId(), "snapshot-" + java.util.UUID.randomUUID());
    deleteSnapshot(s.getSnapshotId());
    deleteSnapshot(s.getSnapshotId());
    deleteSnapshot("shoal:s1:" + name() + "@gone");
    deleteSnapshot("a-snapshot-of-another-driver");
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> deleteSnapshot("")));
    assertEquals(0, list(ListSnapshotsRequest.newBuilder().setSnapshotId(s.getSnapshotId()).build()).size());
    deleteVolume(v.getVolumeId());
  }

  /** All pages of a listing; each page asked for twice must come back equal. */
  private List<Snapshot> list(ListSnapshotsRequest base) {
    List<Snapshot> out = new ArrayList<>();
    String token = "";
    for (int pages = 0; pages < 10_000; pages++) {
      ListSnapshotsRequest req = base.toBuilder().setStartingToken(token).build();
      ListSnapshotsResponse page = h.client.controller().listSnapshots(req);
      assertEquals(page, h.client.controller().listSnapshots(req));
      assertTrue(base.getMaxEntries() == 0 || page.getEntriesCount() <= base.getMaxEntries());
      page.getEntriesList().forEach(e -> out.add(e.getSnapshot()));
      token = page.getNextToken();
      if (token.isEmpty()) {
        return out;
      }
    }
    throw new AssertionError("ListSnapshots never ended");
  }

  @Test
  void listSnapshotsPaginatesAndFilters() {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.LIST_SNAPSHOTS);
    Volume a = h.create(name(), 16 * MIB);
    Volume b = h.create(name(), 16 * MIB);
    List<Snapshot> ofA = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      ofA.add(snapshot(a.getVolumeId(), "snapshot-a" + i + "-" + System.nanoTime()));
    }
    Snapshot ofB = snapshot(b.getVolumeId(), "snapshot-b-" + System.nanoTime());
    ListSnapshotsRequest byA = ListSnapshotsRequest.newBuilder().setSourceVolumeId(a.getVolumeId()).build();
    assertEquals(Set.copyOf(ofA), Set.copyOf(list(byA)));
    assertEquals(Set.copyOf(ofA), Set.copyOf(list(byA.toBuilder().setMaxEntries(2).build())), "two per page");
    assertEquals(List.of(ofB), list(ListSnapshotsRequest.newBuilder().setSnapshotId(ofB.getSnapshotId()).build()));
    List<Snapshot> all = list(ListSnapshotsRequest.newBuilder().setMaxEntries(1).build());
    assertTrue(all.containsAll(ofA) && all.contains(ofB));
    assertEquals(all.size(), Set.copyOf(all).size(), "no snapshot twice");
    assertEquals(List.of(), list(ListSnapshotsRequest.newBuilder().setSnapshotId("shoal:s1:" + name() + "@x")
        .build()), "an unknown snapshot id lists nothing");
    assertEquals(List.of(), list(ListSnapshotsRequest.newBuilder().setSourceVolumeId("shoal:v1:" + name())
        .build()), "an unknown source lists nothing");
    assertEquals(List.of(), list(ListSnapshotsRequest.newBuilder().setSnapshotId("foreign").build()));
    for (String bad : List.of("garbage", "p1.%%%", "p1.eA")) {
      assertEquals(Status.Code.ABORTED, code(() -> h.client.controller().listSnapshots(ListSnapshotsRequest
          .newBuilder().setStartingToken(bad).build())), bad);
    }
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.controller().listSnapshots(ListSnapshotsRequest
        .newBuilder().setMaxEntries(-1).build())));
    ofA.forEach(s -> deleteSnapshot(s.getSnapshotId()));
    deleteSnapshot(ofB.getSnapshotId());
    deleteVolume(a.getVolumeId());
    deleteVolume(b.getVolumeId());
  }

  @Test
  void getSnapshotFindsItOrSaysNotFound() {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.GET_SNAPSHOT);
    Volume v = h.create(name(), 16 * MIB);
    Snapshot s = snapshot(v.getVolumeId(), "snapshot-" + System.nanoTime());
    GetSnapshotRequest req = GetSnapshotRequest.newBuilder().setSnapshotId(s.getSnapshotId()).build();
    assertEquals(s, h.client.controller().getSnapshot(req).getSnapshot());
    deleteSnapshot(s.getSnapshotId());
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.controller().getSnapshot(req)));
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.controller().getSnapshot(GetSnapshotRequest.newBuilder()
        .setSnapshotId("foreign").build())));
    deleteVolume(v.getVolumeId());
  }

  /** Acceptance 5: a snapshot then a restore, data verified; the restore is independent of its source. */
  @Test
  void aRestoreHoldsTheSnapshotsPointInTime() throws Exception {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT);
    Volume v = h.create(name(), 32 * MIB);
    Path staging = h.stage(v);
    write(staging.resolve("f"), "before");
    Files.createDirectories(staging.resolve("dir"));
    write(staging.resolve("dir/g"), "nested");
    Snapshot s = snapshot(v.getVolumeId(), "snapshot-" + System.nanoTime());
    write(staging.resolve("f"), "after");
    Files.delete(staging.resolve("dir/g"));

    String restoreName = name();
    VolumeContentSource src = fromSnapshot(s.getSnapshotId());
    Volume r = createFrom(restoreName, 32 * MIB, src);
    assertEquals(src, r.getContentSource());
    assertEquals(r, createFrom(restoreName, 32 * MIB, src), "the same restore again: the same volume");
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> h.create(restoreName, 32 * MIB)),
        "the same name without a source");
    Snapshot later = snapshot(v.getVolumeId(), "snapshot-later-" + System.nanoTime());
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> createFrom(restoreName, 32 * MIB,
        fromSnapshot(later.getSnapshotId()))), "the same name from another source");
    onMount(r, root -> {
      assertEquals("before", Files.readString(root.resolve("f")));
      assertEquals("nested", Files.readString(root.resolve("dir/g")));
      write(root.resolve("f"), "changed in the restore");
    });
    assertEquals("after", Files.readString(staging.resolve("f")), "the source is not changed by its restore");
    assertFalse(Files.exists(staging.resolve("dir/g")));
    // Restored again later: the snapshot still holds its point in time.
    Volume again = createFrom(name(), 0, src);
    assertTrue(again.getCapacityBytes() >= 32 * MIB, "no range: the source's size");
    onMount(again, root -> assertEquals("before", Files.readString(root.resolve("f"))));

    assertEquals(Status.Code.OUT_OF_RANGE, code(() -> h.client.controller().createVolume(Requests.create(name(), 0)
        .setCapacityRange(CapacityRange.newBuilder().setLimitBytes(MIB)).setVolumeContentSource(src).build())),
        "smaller than the snapshot");
    assertEquals(Status.Code.NOT_FOUND, code(() -> createFrom(name(), 32 * MIB,
        fromSnapshot("shoal:s1:" + name() + "@gone"))));
    assertEquals(Status.Code.NOT_FOUND, code(() -> createFrom(name(), 32 * MIB, fromSnapshot("foreign"))));
    h.unstage(v.getVolumeId(), staging);
    deleteVolume(r.getVolumeId());
    deleteVolume(again.getVolumeId());
    deleteSnapshot(s.getSnapshotId());
    deleteSnapshot(later.getSnapshotId());
    deleteVolume(v.getVolumeId());
  }

  /** Acceptance 5: a clone, data verified, writable and independent in both directions. */
  @Test
  void aCloneIsWritableAndIndependent() throws Exception {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.CLONE_VOLUME);
    Volume v = h.create(name(), 32 * MIB);
    Path staging = h.stage(v);
    write(staging.resolve("f"), "source");
    String cloneName = name();
    Volume c = createFrom(cloneName, 32 * MIB, fromVolume(v.getVolumeId()));
    assertEquals(c, createFrom(cloneName, 32 * MIB, fromVolume(v.getVolumeId())), "the same clone again");
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> h.create(cloneName, 32 * MIB)),
        "the same name without a source");
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> createFrom(v.getVolumeContextOrThrow("shoal.io/subvolume"),
        32 * MIB, fromVolume(c.getVolumeId()))), "an empty volume's name with a source");
    write(staging.resolve("f"), "source changed");
    onMount(c, root -> {
      assertEquals("source", Files.readString(root.resolve("f")), "the clone is the source when it was made");
      write(root.resolve("f"), "clone changed");
      write(root.resolve("new"), "only in the clone");
    });
    assertEquals("source changed", Files.readString(staging.resolve("f")));
    assertFalse(Files.exists(staging.resolve("new")));
    assertEquals(Status.Code.OUT_OF_RANGE, code(() -> h.client.controller().createVolume(Requests.create(name(), 0)
        .setCapacityRange(CapacityRange.newBuilder().setLimitBytes(MIB))
        .setVolumeContentSource(fromVolume(v.getVolumeId())).build())), "smaller than the source");
    assertEquals(Status.Code.NOT_FOUND, code(() -> createFrom(name(), 32 * MIB, fromVolume("shoal:v1:" + name()))));
    h.unstage(v.getVolumeId(), staging);
    deleteVolume(c.getVolumeId());
    deleteVolume(v.getVolumeId());
  }

  /** DeleteVolume keeps the volume's snapshots: still listed, still restorable, until they are deleted. */
  @Test
  void deletingAVolumeKeepsItsSnapshots() throws Exception {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT);
    Volume v = h.create(name(), 16 * MIB);
    onMount(v, root -> write(root.resolve("f"), "kept"));
    Snapshot s = snapshot(v.getVolumeId(), "snapshot-" + System.nanoTime());
    deleteVolume(v.getVolumeId());
    assertEquals(List.of(s), list(ListSnapshotsRequest.newBuilder().setSnapshotId(s.getSnapshotId()).build()));
    Volume r = createFrom(name(), 16 * MIB, fromSnapshot(s.getSnapshotId()));
    onMount(r, root -> assertEquals("kept", Files.readString(root.resolve("f"))));
    deleteSnapshot(s.getSnapshotId());
    onMount(r, root -> assertEquals("kept", Files.readString(root.resolve("f"))),
        "a restore shares data copy-on-write and keeps it after the snapshot goes");
    deleteVolume(r.getVolumeId());
  }

  private void onMount(Volume v, IoBody body, String why) throws Exception {
    try {
      onMount(v, body);
    } catch (AssertionError e) {
      throw new AssertionError(why + ": " + e.getMessage(), e);
    }
  }

  private ControllerExpandVolumeResponse expand(String id, long required) {
    return h.client.controller().controllerExpandVolume(ControllerExpandVolumeRequest.newBuilder().setVolumeId(id)
        .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(required))
        .setVolumeCapability(Requests.rwx()).build());
  }

  /** Acceptance 5 for the resizer: expansion raises the quota online; a mount sees it with no node step. */
  @Test
  void controllerExpandVolumeRaisesTheQuotaOnline() throws Exception {
    assumeAdvertised(ControllerServiceCapability.RPC.Type.EXPAND_VOLUME);
    Volume v = h.create(name(), 16 * MIB);
    Path staging = h.stage(v);
    Path target = h.publish(v, staging, "pod-a");
    ControllerExpandVolumeResponse r = expand(v.getVolumeId(), 64 * MIB);
    assertEquals(64 * MIB, r.getCapacityBytes());
    assertFalse(r.getNodeExpansionRequired(), "the quota is the metadata service's: no node step");
    assertEquals(r, expand(v.getVolumeId(), 64 * MIB), "the same expansion again");
    assertEquals(64 * MIB, expand(v.getVolumeId(), 32 * MIB).getCapacityBytes(), "already larger: unchanged");
    long total = h.client.node().nodeGetVolumeStats(NodeGetVolumeStatsRequest.newBuilder()
        .setVolumeId(v.getVolumeId()).setVolumePath(target.toString()).build()).getUsageList().stream()
        .filter(u -> u.getUnit() == VolumeUsage.Unit.BYTES).findFirst().orElseThrow().getTotal();
    assertEquals(64 * MIB, total, "the published mount sees the new size");
    assertEquals(Status.Code.OUT_OF_RANGE, code(() -> h.client.controller().controllerExpandVolume(
        ControllerExpandVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).setCapacityRange(
            CapacityRange.newBuilder().setRequiredBytes(128 * MIB).setLimitBytes(100 * MIB)).build())));
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.controller().controllerExpandVolume(
        ControllerExpandVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).build())), "no capacity_range");
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.controller().controllerExpandVolume(
        ControllerExpandVolumeRequest.newBuilder().setVolumeId(v.getVolumeId()).setVolumeCapability(
            Requests.block()).setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(128 * MIB)).build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> expand("shoal:v1:" + name(), 64 * MIB)));
    h.unpublish(v.getVolumeId(), target);
    h.unstage(v.getVolumeId(), staging);
    deleteVolume(v.getVolumeId());
  }

  @Test
  void aGroupSnapshotIsOnePointInTimeAndDeletedAsAWhole() throws Exception {
    assumeGroupSnapshots();
    Volume a = h.create(name(), 16 * MIB);
    Volume b = h.create(name(), 16 * MIB);
    onMount(a, root -> write(root.resolve("f"), "a"));
    onMount(b, root -> write(root.resolve("f"), "b"));
    String groupName = "groupsnapshot-" + System.nanoTime();
    CreateVolumeGroupSnapshotRequest req = CreateVolumeGroupSnapshotRequest.newBuilder().setName(groupName)
        .addSourceVolumeIds(a.getVolumeId()).addSourceVolumeIds(b.getVolumeId()).build();
    VolumeGroupSnapshot g = h.client.group().createVolumeGroupSnapshot(req).getGroupSnapshot();
    assertTrue(g.getReadyToUse());
    assertEquals(2, g.getSnapshotsCount());
    assertEquals(Set.of(a.getVolumeId(), b.getVolumeId()),
        g.getSnapshotsList().stream().map(Snapshot::getSourceVolumeId).collect(Collectors.toSet()));
    for (Snapshot s : g.getSnapshotsList()) {
      assertEquals(g.getGroupSnapshotId(), s.getGroupSnapshotId());
      assertEquals(g.getSnapshots(0).getCreationTime(), s.getCreationTime(), "one point in time");
    }
    assertEquals(g, h.client.group().createVolumeGroupSnapshot(req).getGroupSnapshot(), "the same group again");
    Volume c = h.create(name(), 16 * MIB);
    assertEquals(Status.Code.ALREADY_EXISTS, code(() -> h.client.group().createVolumeGroupSnapshot(req.toBuilder()
        .addSourceVolumeIds(c.getVolumeId()).build())));
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.group().createVolumeGroupSnapshot(
        CreateVolumeGroupSnapshotRequest.newBuilder().setName("g-" + System.nanoTime())
            .addSourceVolumeIds("shoal:v1:" + name()).build())));
    List<String> ids = g.getSnapshotsList().stream().map(Snapshot::getSnapshotId).toList();
    GetVolumeGroupSnapshotRequest get = GetVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId(g.getGroupSnapshotId()).addAllSnapshotIds(ids).build();
    assertEquals(g, h.client.group().getVolumeGroupSnapshot(get).getGroupSnapshot());
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.group().getVolumeGroupSnapshot(get.toBuilder()
        .clearSnapshotIds().addSnapshotIds(ids.get(0)).build())), "snapshot list mismatch");
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> deleteSnapshot(ids.get(0))),
        "a member is deleted with its group");
    Volume restored = createFrom(name(), 16 * MIB, fromSnapshot(g.getSnapshots(0).getSnapshotId()));
    String expect = g.getSnapshots(0).getSourceVolumeId().equals(a.getVolumeId()) ? "a" : "b";
    onMount(restored, root -> assertEquals(expect, Files.readString(root.resolve("f"))));

    DeleteVolumeGroupSnapshotRequest del = DeleteVolumeGroupSnapshotRequest.newBuilder()
        .setGroupSnapshotId(g.getGroupSnapshotId()).addAllSnapshotIds(ids).build();
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> h.client.group().deleteVolumeGroupSnapshot(del.toBuilder()
        .addSnapshotIds("shoal:s1:" + name() + "@x").build())), "snapshot list mismatch");
    h.client.group().deleteVolumeGroupSnapshot(del);
    h.client.group().deleteVolumeGroupSnapshot(del);
    assertEquals(Status.Code.NOT_FOUND, code(() -> h.client.group().getVolumeGroupSnapshot(get)));
    assertEquals(List.of(), list(ListSnapshotsRequest.newBuilder().setSnapshotId(ids.get(0)).build()));
    assertNotEquals(a.getVolumeId(), b.getVolumeId());
    for (Volume v : List.of(a, b, c, restored)) {
      deleteVolume(v.getVolumeId());
    }
  }
}
