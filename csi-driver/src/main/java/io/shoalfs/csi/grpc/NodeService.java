package io.shoalfs.csi.grpc;

import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.CsiError;
import io.shoalfs.csi.core.NodeVolumes;
import io.shoalfs.csi.core.VolumeLocks;
import io.shoalfs.proto.csi.NodeGetCapabilitiesRequest;
import io.shoalfs.proto.csi.NodeGetCapabilitiesResponse;
import io.shoalfs.proto.csi.NodeGetInfoRequest;
import io.shoalfs.proto.csi.NodeGetInfoResponse;
import io.shoalfs.proto.csi.NodeGrpc;
import io.shoalfs.proto.csi.NodePublishVolumeRequest;
import io.shoalfs.proto.csi.NodePublishVolumeResponse;
import io.shoalfs.proto.csi.NodeServiceCapability;
import io.shoalfs.proto.csi.NodeStageVolumeRequest;
import io.shoalfs.proto.csi.NodeStageVolumeResponse;
import io.shoalfs.proto.csi.NodeUnpublishVolumeRequest;
import io.shoalfs.proto.csi.NodeUnpublishVolumeResponse;
import io.shoalfs.proto.csi.NodeUnstageVolumeRequest;
import io.shoalfs.proto.csi.NodeUnstageVolumeResponse;
import java.nio.file.Path;

/**
 * CSI Node: stage = one FUSE mount per volume per node, publish = a bind mount per pod. Every RPC: validate,
 * take the volume's lock (or ABORTED), then the idempotent core operation.
 */
public final class NodeService extends NodeGrpc.NodeImplBase {
  private final String nodeId;
  private final NodeVolumes volumes;
  private final VolumeLocks locks;

  public NodeService(String nodeId, NodeVolumes volumes, VolumeLocks locks) {
    this.nodeId = nodeId;
    this.volumes = volumes;
    this.locks = locks;
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
      // We advertise STAGE_UNSTAGE_VOLUME, so the CO must say where it staged the volume.
      Path staging = Checks.absolutePath(req.getStagingTargetPath(), "staging_target_path");
      Path target = Checks.absolutePath(req.getTargetPath(), "target_path");
      if (!req.hasVolumeCapability()) {
        throw new CsiError.InvalidArgument("volume_capability is required");
      }
      Checks.capability(req.getVolumeCapability());
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
        volumes.unpublish(id, target);
        return NodeUnpublishVolumeResponse.getDefaultInstance();
      }
    });
  }

  @Override
  public void nodeGetCapabilities(NodeGetCapabilitiesRequest req, StreamObserver<NodeGetCapabilitiesResponse> out) {
    Rpc.unary(out, () -> NodeGetCapabilitiesResponse.newBuilder()
        .addCapabilities(NodeServiceCapability.newBuilder().setRpc(NodeServiceCapability.RPC.newBuilder()
            .setType(NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME)))
        .build());
  }

  @Override
  public void nodeGetInfo(NodeGetInfoRequest req, StreamObserver<NodeGetInfoResponse> out) {
    Rpc.unary(out, () -> NodeGetInfoResponse.newBuilder().setNodeId(nodeId).build());
  }
}
