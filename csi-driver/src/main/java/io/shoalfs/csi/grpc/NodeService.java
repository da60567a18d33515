package io.shoalfs.csi.grpc;

import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.CsiError;
import io.shoalfs.csi.core.EphemeralVolumes;
import io.shoalfs.csi.core.Feature;
import io.shoalfs.csi.core.MountStats;
import io.shoalfs.csi.core.NodeVolumes;
import io.shoalfs.csi.core.VolumeLocks;
import io.shoalfs.proto.csi.NodeExpandVolumeRequest;
import io.shoalfs.proto.csi.NodeExpandVolumeResponse;
import io.shoalfs.proto.csi.NodeGetCapabilitiesRequest;
import io.shoalfs.proto.csi.NodeGetCapabilitiesResponse;
import io.shoalfs.proto.csi.NodeGetInfoRequest;
import io.shoalfs.proto.csi.NodeGetInfoResponse;
import io.shoalfs.proto.csi.NodeGetVolumeStatsRequest;
import io.shoalfs.proto.csi.NodeGetVolumeStatsResponse;
import io.shoalfs.proto.csi.NodeGrpc;
import io.shoalfs.proto.csi.NodePublishVolumeRequest;
import io.shoalfs.proto.csi.NodePublishVolumeResponse;
import io.shoalfs.proto.csi.NodeStageVolumeRequest;
import io.shoalfs.proto.csi.NodeStageVolumeResponse;
import io.shoalfs.proto.csi.NodeUnpublishVolumeRequest;
import io.shoalfs.proto.csi.NodeUnpublishVolumeResponse;
import io.shoalfs.proto.csi.NodeUnstageVolumeRequest;
import io.shoalfs.proto.csi.NodeUnstageVolumeResponse;
import io.shoalfs.proto.csi.VolumeCondition;
import io.shoalfs.proto.csi.VolumeUsage;
import java.nio.file.Path;
import java.util.Set;

/**
 * CSI Node: stage = one FUSE mount per volume per node, publish = a bind mount per pod. Every RPC: validate,
 * take the volume's lock (or ABORTED), then the idempotent core operation.
 */
public final class NodeService extends NodeGrpc.NodeImplBase {
  private final String nodeId;
  private final NodeVolumes volumes;
  private final EphemeralVolumes ephemeral;
  private final VolumeLocks locks;
  private final Set<Feature> features;

  public NodeService(String nodeId, NodeVolumes volumes, EphemeralVolumes ephemeral, VolumeLocks locks,
      Set<Feature> features) {
    this.nodeId = nodeId;
    this.volumes = volumes;
    this.ephemeral = ephemeral;
    this.locks = locks;
    this.features = Set.copyOf(features);
  }

  @Override
  public void nodeStageVolume(NodeStageVolumeRequest req, StreamObserver<NodeStageVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      Path staging = Checks.absolutePath(req.getStagingTargetPath(), "staging_target_path");
      if (!req.hasVolumeCapability()) {
        throw new CsiError.InvalidArgument("volume_capability is required");
      }
      Checks.capability(req.getVolumeCapability());
      try (var lock = locks.acquire(id)) {
        volumes.stage(id, staging);
        return NodeStageVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void nodeUnstageVolume(NodeUnstageVolumeRequest req, StreamObserver<NodeUnstageVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      Path staging = Checks.absolutePath(req.getStagingTargetPath(), "staging_target_path");
      try (var lock = locks.acquire(id)) {
        volumes.unstage(id, staging);
        return NodeUnstageVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void nodePublishVolume(NodePublishVolumeRequest req, StreamObserver<NodePublishVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      Path target = Checks.absolutePath(req.getTargetPath(), "target_path");
      if (!req.hasVolumeCapability()) {
        throw new CsiError.InvalidArgument("volume_capability is required");
      }
      Checks.capability(req.getVolumeCapability());
      if (EphemeralVolumes.isEphemeral(req.getVolumeContextMap())) {
        // Inline ephemeral: kubelet never stages it; the plugin makes, mounts and binds the pod's volume.
        ephemeral.sizeFrom(req.getVolumeContextMap());
        try (var lock = locks.acquire(id)) {
          ephemeral.publish(id, target, req.getReadonly(), req.getVolumeContextMap());
          return NodePublishVolumeResponse.getDefaultInstance();
        }
      }
      // We advertise STAGE_UNSTAGE_VOLUME, so the CO must say where it staged the volume.
      Path staging = Checks.absolutePath(req.getStagingTargetPath(), "staging_target_path");
      try (var lock = locks.acquire(id)) {
        volumes.publish(id, staging, target, req.getReadonly());
        return NodePublishVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void nodeUnpublishVolume(NodeUnpublishVolumeRequest req, StreamObserver<NodeUnpublishVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      Path target = Checks.absolutePath(req.getTargetPath(), "target_path");
      try (var lock = locks.acquire(id)) {
        ephemeral.unpublish(id, target); // an ephemeral volume is deleted too; any other is only unbound
        return NodeUnpublishVolumeResponse.getDefaultInstance();
      }
    });
  }

  /**
   * Usage from the mount's statfs (the quota as size, the metadata service's usage) and the volume's condition.
   * Takes no volume lock: kubelet polls this while other calls run, and it only reads. Answers within the stats
   * timeout whatever state the mount is in.
   */
  @Override
  public void nodeGetVolumeStats(NodeGetVolumeStatsRequest req, StreamObserver<NodeGetVolumeStatsResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      Path path = Checks.absolutePath(req.getVolumePath(), "volume_path");
      if (!req.getStagingTargetPath().isEmpty()) {
        Checks.absolutePath(req.getStagingTargetPath(), "staging_target_path");
      }
      NodeVolumes.Stats st = volumes.stats(ephemeral.shoalVolumeId(id).orElse(id), path);
      NodeGetVolumeStatsResponse.Builder b = NodeGetVolumeStatsResponse.newBuilder().setVolumeCondition(
          VolumeCondition.newBuilder().setAbnormal(st.abnormal()).setMessage(st.message()));
      if (st.usage().isPresent()) {
        MountStats.StatFs f = st.usage().get();
        b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.BYTES).setTotal(f.totalBytes())
            .setUsed(f.usedBytes()).setAvailable(f.availableBytes()));
        b.addUsage(VolumeUsage.newBuilder().setUnit(VolumeUsage.Unit.INODES).setTotal(f.files())
            .setUsed(f.usedFiles()).setAvailable(f.filesFree()));
      }
      return b.build();
    });
  }

  /** Nothing to grow on the node (the quota is the metadata service's); reports the volume's capacity. */
  @Override
  public void nodeExpandVolume(NodeExpandVolumeRequest req, StreamObserver<NodeExpandVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String id = Checks.required(req.getVolumeId(), "volume_id");
      Path path = Checks.absolutePath(req.getVolumePath(), "volume_path");
      if (!req.getStagingTargetPath().isEmpty()) {
        Checks.absolutePath(req.getStagingTargetPath(), "staging_target_path");
      }
      if (req.hasVolumeCapability()) {
        Checks.capability(req.getVolumeCapability());
      }
      try (var lock = locks.acquire(id)) {
        long capacity = volumes.expand(ephemeral.shoalVolumeId(id).orElse(id), path, req.getCapacityRange().getRequiredBytes(),
            req.getCapacityRange().getLimitBytes());
        return NodeExpandVolumeResponse.newBuilder().setCapacityBytes(capacity).build();
      }
    });
  }

  @Override
  public void nodeGetCapabilities(NodeGetCapabilitiesRequest req, StreamObserver<NodeGetCapabilitiesResponse> out) {
    Rpc.unary(out, () -> NodeGetCapabilitiesResponse.newBuilder()
        .addAllCapabilities(Capabilities.node(features)).build());
  }

  @Override
  public void nodeGetInfo(NodeGetInfoRequest req, StreamObserver<NodeGetInfoResponse> out) {
    Rpc.unary(out, () -> NodeGetInfoResponse.newBuilder().setNodeId(nodeId).build());
  }
}
