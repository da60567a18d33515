package io.shoalfs.csi.grpc;

import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.CsiError;
import io.shoalfs.csi.core.Feature;
import io.shoalfs.csi.core.GroupSnapshotId;
import io.shoalfs.csi.core.Snapshots;
import io.shoalfs.csi.core.VolumeBackend.GroupSnapshotInfo;
import io.shoalfs.csi.core.VolumeBackend.SnapshotInfo;
import io.shoalfs.csi.core.VolumeLocks;
import io.shoalfs.proto.csi.CreateVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.CreateVolumeGroupSnapshotResponse;
import io.shoalfs.proto.csi.DeleteVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.DeleteVolumeGroupSnapshotResponse;
import io.shoalfs.proto.csi.GetVolumeGroupSnapshotRequest;
import io.shoalfs.proto.csi.GetVolumeGroupSnapshotResponse;
import io.shoalfs.proto.csi.GroupControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.GroupControllerGetCapabilitiesResponse;
import io.shoalfs.proto.csi.GroupControllerGrpc;
import io.shoalfs.proto.csi.VolumeGroupSnapshot;
import java.util.List;
import java.util.Set;

/**
 * CSI GroupController: a group snapshot is one snapshot of each source volume's subvolume, all cut in one log
 * entry of the metadata service, so they are one point in time. Same RPC shape as the Controller. Served with
 * the Controller; its capability (and the plugin's GROUP_CONTROLLER_SERVICE) is advertised only with
 * {@link Feature#GROUP_SNAPSHOTS}, and without it the RPCs answer UNIMPLEMENTED.
 */
public final class GroupControllerService extends GroupControllerGrpc.GroupControllerImplBase {
  private final Snapshots snapshots;
  private final VolumeLocks locks;
  private final Set<Feature> features;

  public GroupControllerService(Snapshots snapshots, VolumeLocks locks, Set<Feature> features) {
    this.snapshots = snapshots;
    this.locks = locks;
    this.features = Set.copyOf(features);
  }

  @Override
  public void groupControllerGetCapabilities(GroupControllerGetCapabilitiesRequest req,
      StreamObserver<GroupControllerGetCapabilitiesResponse> out) {
    Rpc.unary(out, () -> GroupControllerGetCapabilitiesResponse.newBuilder()
        .addAllCapabilities(Capabilities.groupController(features)).build());
  }

  @Override
  public void createVolumeGroupSnapshot(CreateVolumeGroupSnapshotRequest req,
      StreamObserver<CreateVolumeGroupSnapshotResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.GROUP_SNAPSHOTS, "CreateVolumeGroupSnapshot");
      String name = Checks.name(req.getName());
      if (req.getSourceVolumeIdsCount() == 0) {
        throw new CsiError.InvalidArgument("source_volume_ids is required");
      }
      for (String v : req.getSourceVolumeIdsList()) {
        Checks.required(v, "source_volume_ids[]");
      }
      try (var lock = locks.acquire(GroupSnapshotId.forName(name).encode())) {
        GroupSnapshotInfo g = snapshots.createGroup(name, req.getSourceVolumeIdsList());
        return CreateVolumeGroupSnapshotResponse.newBuilder().setGroupSnapshot(group(g)).build();
      }
    });
  }

  @Override
  public void getVolumeGroupSnapshot(GetVolumeGroupSnapshotRequest req,
      StreamObserver<GetVolumeGroupSnapshotResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.GROUP_SNAPSHOTS, "GetVolumeGroupSnapshot");
      String id = Checks.required(req.getGroupSnapshotId(), "group_snapshot_id");
      List<String> members = snapshotIds(req.getSnapshotIdsList());
      return GetVolumeGroupSnapshotResponse.newBuilder().setGroupSnapshot(group(snapshots.getGroup(id, members)))
          .build();
    });
  }

  @Override
  public void deleteVolumeGroupSnapshot(DeleteVolumeGroupSnapshotRequest req,
      StreamObserver<DeleteVolumeGroupSnapshotResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.GROUP_SNAPSHOTS, "DeleteVolumeGroupSnapshot");
      String id = Checks.required(req.getGroupSnapshotId(), "group_snapshot_id");
      List<String> members = snapshotIds(req.getSnapshotIdsList());
      try (var lock = locks.acquire(id)) {
        snapshots.deleteGroup(id, members);
        return DeleteVolumeGroupSnapshotResponse.getDefaultInstance();
      }
    });
  }

  private static List<String> snapshotIds(List<String> ids) throws CsiError.InvalidArgument {
    if (ids.isEmpty()) {
      throw new CsiError.InvalidArgument("snapshot_ids is required");
    }
    return ids;
  }

  private static VolumeGroupSnapshot group(GroupSnapshotInfo g) {
    VolumeGroupSnapshot.Builder b = VolumeGroupSnapshot.newBuilder()
        .setGroupSnapshotId(new GroupSnapshotId(g.name()).encode())
        .setCreationTime(ControllerService.timestamp(g.createdNs()))
        .setReadyToUse(true);
    for (SnapshotInfo s : g.members()) {
      b.addSnapshots(ControllerService.snapshot(s).toBuilder()
          .setGroupSnapshotId(new GroupSnapshotId(g.name()).encode()));
    }
    return b.build();
  }
}
