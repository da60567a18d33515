package io.shoalfs.csi.grpc;

import com.google.protobuf.Timestamp;
import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.CsiError;
import io.shoalfs.csi.core.Feature;
import io.shoalfs.csi.core.GroupSnapshotId;
import io.shoalfs.csi.core.Pages;
import io.shoalfs.csi.core.SnapshotId;
import io.shoalfs.csi.core.Snapshots;
import io.shoalfs.csi.core.VolumeBackend.SnapshotInfo;
import io.shoalfs.csi.core.VolumeId;
import io.shoalfs.csi.core.VolumeLocks;
import io.shoalfs.csi.core.Volumes;
import io.shoalfs.proto.csi.ControllerExpandVolumeRequest;
import io.shoalfs.proto.csi.ControllerExpandVolumeResponse;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesResponse;
import io.shoalfs.proto.csi.ControllerGetVolumeRequest;
import io.shoalfs.proto.csi.ControllerGetVolumeResponse;
import io.shoalfs.proto.csi.ControllerGrpc;
import io.shoalfs.proto.csi.ControllerModifyVolumeRequest;
import io.shoalfs.proto.csi.ControllerModifyVolumeResponse;
import io.shoalfs.proto.csi.CreateSnapshotRequest;
import io.shoalfs.proto.csi.CreateSnapshotResponse;
import io.shoalfs.proto.csi.CreateVolumeRequest;
import io.shoalfs.proto.csi.CreateVolumeResponse;
import io.shoalfs.proto.csi.DeleteSnapshotRequest;
import io.shoalfs.proto.csi.DeleteSnapshotResponse;
import io.shoalfs.proto.csi.DeleteVolumeRequest;
import io.shoalfs.proto.csi.DeleteVolumeResponse;
import io.shoalfs.proto.csi.GetCapacityRequest;
import io.shoalfs.proto.csi.GetCapacityResponse;
import io.shoalfs.proto.csi.GetSnapshotRequest;
import io.shoalfs.proto.csi.GetSnapshotResponse;
import io.shoalfs.proto.csi.ListSnapshotsRequest;
import io.shoalfs.proto.csi.ListSnapshotsResponse;
import io.shoalfs.proto.csi.ListVolumesRequest;
import io.shoalfs.proto.csi.ListVolumesResponse;
import io.shoalfs.proto.csi.Snapshot;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesRequest;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesResponse;
import io.shoalfs.proto.csi.Volume;
import io.shoalfs.proto.csi.VolumeCapability;
import io.shoalfs.proto.csi.VolumeCondition;
import io.shoalfs.proto.csi.VolumeContentSource;
import java.util.Set;

/**
 * CSI Controller: volumes are subvolumes, snapshots are subvolume snapshots. Every RPC: validate, take the
 * volume's (or snapshot's) lock or ABORTED, then the idempotent core operation. RPCs that need a backend
 * feature this build lacks answer UNIMPLEMENTED and are not advertised (see {@link Capabilities});
 * ControllerPublish/Unpublish are not overridden (UNIMPLEMENTED): a Shoal volume needs no attach step.
 */
public final class ControllerService extends ControllerGrpc.ControllerImplBase {
  /** Volume context key telling nodes (and humans) which subvolume holds the volume. */
  public static final String CONTEXT_SUBVOLUME = "shoal.io/subvolume";

  private final Volumes volumes;
  private final Snapshots snapshots;
  private final VolumeLocks locks;
  private final Set<Feature> features;

  public ControllerService(Volumes volumes, Snapshots snapshots, VolumeLocks locks, Set<Feature> features) {
    this.volumes = volumes;
    this.snapshots = snapshots;
    this.locks = locks;
    this.features = Set.copyOf(features);
  }

  @Override
  public void createVolume(CreateVolumeRequest req, StreamObserver<CreateVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String name = Checks.name(req.getName());
      Checks.capabilities(req.getVolumeCapabilitiesList());
      Volumes.checkMutable(req.getMutableParamsMap());
      Volumes.ContentSource source = req.hasVolumeContentSource() ? source(req.getVolumeContentSource()) : null;
      int replication = Volumes.replication(req.getParametersMap());
      long required = req.getCapacityRange().getRequiredBytes();
      long limit = req.getCapacityRange().getLimitBytes();
      // Locked under the id the name maps to, so a CreateVolume and a DeleteVolume of one volume never overlap.
      try (var lock = locks.acquire(VolumeId.forName(name).encode())) {
        // A clone shares its source's chunks and copies on write inside their groups: it keeps their replication.
        Volumes.Volume v = source == null ? volumes.create(name, required, limit, replication)
            : volumes.createFrom(name, required, limit, source);
        Volume.Builder b = volume(v);
        if (source != null) {
          b.setContentSource(req.getVolumeContentSource());
        }
        return CreateVolumeResponse.newBuilder().setVolume(b).build();
      }
    });
  }

  private static Volumes.ContentSource source(VolumeContentSource s) throws CsiError {
    return switch (s.getTypeCase()) {
      case SNAPSHOT -> new Volumes.ContentSource.FromSnapshot(
          Checks.required(s.getSnapshot().getSnapshotId(), "volume_content_source.snapshot.snapshot_id"));
      case VOLUME -> new Volumes.ContentSource.FromVolume(
          Checks.required(s.getVolume().getVolumeId(), "volume_content_source.volume.volume_id"));
      case TYPE_NOT_SET -> throw new CsiError.InvalidArgument("volume_content_source names neither a snapshot "
          + "nor a volume");
    };
  }

  private static Volume.Builder volume(Volumes.Volume v) {
    return Volume.newBuilder().setVolumeId(v.id().encode()).setCapacityBytes(v.capacityBytes())
        .putVolumeContext(CONTEXT_SUBVOLUME, v.id().subvolume());
  }

  @Override
  public void deleteVolume(DeleteVolumeRequest req, StreamObserver<DeleteVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      try (var lock = locks.acquire(id)) {
        volumes.delete(id);
        return DeleteVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void validateVolumeCapabilities(ValidateVolumeCapabilitiesRequest req,
      StreamObserver<ValidateVolumeCapabilitiesResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      if (req.getVolumeCapabilitiesCount() == 0) {
        throw new CsiError.InvalidArgument("volume_capabilities is required");
      }
      volumes.get(id);
      // An unsupported capability is an answer, not an error: no `confirmed`, and a message saying why.
      for (VolumeCapability c : req.getVolumeCapabilitiesList()) {
        String problem = Checks.unsupported(c);
        if (problem != null) {
          return ValidateVolumeCapabilitiesResponse.newBuilder().setMessage(problem).build();
        }
      }
      try {
        Volumes.checkMutable(req.getMutableParamsMap());
      } catch (CsiError.InvalidArgument e) {
        return ValidateVolumeCapabilitiesResponse.newBuilder().setMessage(e.getMessage()).build();
      }
      return ValidateVolumeCapabilitiesResponse.newBuilder().setConfirmed(
          ValidateVolumeCapabilitiesResponse.Confirmed.newBuilder()
              .putAllVolumeContext(req.getVolumeContextMap())
              .addAllVolumeCapabilities(req.getVolumeCapabilitiesList())
              .putAllParameters(req.getParametersMap())).build();
    });
  }

  @Override
  public void listVolumes(ListVolumesRequest req, StreamObserver<ListVolumesResponse> out) {
    Rpc.unary(out, () -> {
      Pages.Page<Volumes.Health> page = volumes.list(req.getMaxEntries(), req.getStartingToken());
      ListVolumesResponse.Builder b = ListVolumesResponse.newBuilder().setNextToken(page.nextToken());
      for (Volumes.Health h : page.items()) {
        b.addEntries(ListVolumesResponse.Entry.newBuilder().setVolume(volume(h.volume()))
            .setStatus(ListVolumesResponse.VolumeStatus.newBuilder().setVolumeCondition(condition(h))));
      }
      return b.build();
    });
  }

  @Override
  public void controllerGetVolume(ControllerGetVolumeRequest req, StreamObserver<ControllerGetVolumeResponse> out) {
    Rpc.unary(out, () -> {
      Volumes.Health h = volumes.health(Checks.required(req.getVolumeId(), "volume_id"));
      return ControllerGetVolumeResponse.newBuilder().setVolume(volume(h.volume()))
          .setStatus(ControllerGetVolumeResponse.VolumeStatus.newBuilder().setVolumeCondition(condition(h)))
          .build();
    });
  }

  private static VolumeCondition condition(Volumes.Health h) {
    return VolumeCondition.newBuilder().setAbnormal(h.abnormal()).setMessage(h.message()).build();
  }

  @Override
  public void getCapacity(GetCapacityRequest req, StreamObserver<GetCapacityResponse> out) {
    Rpc.unary(out, () -> {
      // Capacity for capabilities we cannot serve (block) is none; no per-volume maximum exists, so none is set.
      for (VolumeCapability c : req.getVolumeCapabilitiesList()) {
        if (Checks.unsupported(c) != null) {
          return GetCapacityResponse.newBuilder().setAvailableCapacity(0).build();
        }
      }
      return GetCapacityResponse.newBuilder().setAvailableCapacity(volumes.availableCapacity()).build();
    });
  }

  @Override
  public void controllerGetCapabilities(ControllerGetCapabilitiesRequest req,
      StreamObserver<ControllerGetCapabilitiesResponse> out) {
    Rpc.unary(out, () -> ControllerGetCapabilitiesResponse.newBuilder()
        .addAllCapabilities(Capabilities.controller(features)).build());
  }

  @Override
  public void controllerModifyVolume(ControllerModifyVolumeRequest req,
      StreamObserver<ControllerModifyVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      try (var lock = locks.acquire(id)) {
        volumes.modify(id, req.getMutableParametersMap());
        return ControllerModifyVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void controllerExpandVolume(ControllerExpandVolumeRequest req,
      StreamObserver<ControllerExpandVolumeResponse> out) {
    Rpc.unary(out, () -> {
      Feature.require(features, Feature.EXPAND, "ControllerExpandVolume");
      String id = Checks.required(req.getVolumeId(), "volume_id");
      if (!req.hasCapacityRange()) {
        throw new CsiError.InvalidArgument("capacity_range is required");
      }
      if (req.hasVolumeCapability()) {
        Checks.capability(req.getVolumeCapability());
      }
      try (var lock = locks.acquire(id)) {
        Volumes.Volume v = volumes.expand(id, req.getCapacityRange().getRequiredBytes(),
            req.getCapacityRange().getLimitBytes());
        // The quota is the metadata service's: every mount sees the new size at once, no node step.
        return ControllerExpandVolumeResponse.newBuilder().setCapacityBytes(v.capacityBytes())
            .setNodeExpansionRequired(false).build();
      }
    });
  }

  @Override
  public void createSnapshot(CreateSnapshotRequest req, StreamObserver<CreateSnapshotResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.SNAPSHOTS, "CreateSnapshot");
      String source = Checks.required(req.getSourceVolumeId(), "source_volume_id");
      String name = Checks.name(req.getName());
      VolumeId vol = VolumeId.parse(source)
          .orElseThrow(() -> new CsiError.NotFound("source volume " + source + " does not exist (not a Shoal id)"));
      try (var lock = locks.acquire(SnapshotId.forName(vol.subvolume(), name).encode())) {
        return CreateSnapshotResponse.newBuilder().setSnapshot(snapshot(snapshots.create(source, name))).build();
      }
    });
  }

  @Override
  public void deleteSnapshot(DeleteSnapshotRequest req, StreamObserver<DeleteSnapshotResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.SNAPSHOTS, "DeleteSnapshot");
      String id = Checks.required(req.getSnapshotId(), "snapshot_id");
      try (var lock = locks.acquire(id)) {
        snapshots.delete(id);
        return DeleteSnapshotResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void listSnapshots(ListSnapshotsRequest req, StreamObserver<ListSnapshotsResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.SNAPSHOTS, "ListSnapshots");
      Pages.Page<SnapshotInfo> page = snapshots.list(req.getMaxEntries(), req.getStartingToken(),
          req.getSourceVolumeId(), req.getSnapshotId());
      ListSnapshotsResponse.Builder b = ListSnapshotsResponse.newBuilder().setNextToken(page.nextToken());
      for (SnapshotInfo s : page.items()) {
        b.addEntries(ListSnapshotsResponse.Entry.newBuilder().setSnapshot(snapshot(s)));
      }
      return b.build();
    });
  }

  @Override
  public void getSnapshot(GetSnapshotRequest req, StreamObserver<GetSnapshotResponse> out) {
    Rpc.unary(out, () -> {
      snapshots.require(Feature.SNAPSHOTS, "GetSnapshot");
      String id = Checks.required(req.getSnapshotId(), "snapshot_id");
      return GetSnapshotResponse.newBuilder().setSnapshot(snapshot(snapshots.get(id))).build();
    });
  }

  /** A snapshot as the CO sees it: cut and ready at once (no post-processing: it is a sequence number). */
  static Snapshot snapshot(SnapshotInfo s) {
    Snapshot.Builder b = Snapshot.newBuilder()
        .setSnapshotId(Snapshots.key(s))
        .setSourceVolumeId(new VolumeId(s.subvolume()).encode())
        .setSizeBytes(s.sizeBytes())
        .setCreationTime(timestamp(s.createdNs()))
        .setReadyToUse(true);
    s.group().ifPresent(g -> b.setGroupSnapshotId(new GroupSnapshotId(g).encode()));
    return b.build();
  }

  static Timestamp timestamp(long ns) {
    return Timestamp.newBuilder().setSeconds(Math.floorDiv(ns, 1_000_000_000L))
        .setNanos((int) Math.floorMod(ns, 1_000_000_000L)).build();
  }
}
