package io.shoalfs.csi;

import io.shoalfs.proto.csi.CapacityRange;
import io.shoalfs.proto.csi.CreateVolumeRequest;
import io.shoalfs.proto.csi.NodePublishVolumeRequest;
import io.shoalfs.proto.csi.NodeStageVolumeRequest;
import io.shoalfs.proto.csi.VolumeCapability;
import java.nio.file.Path;

/** Well-formed CSI requests as the external-provisioner and kubelet send them; tests break one field each. */
final class Requests {
  private Requests() {}

  static VolumeCapability rwx() {
    return VolumeCapability.newBuilder()
        .setMount(VolumeCapability.MountVolume.getDefaultInstance())
        .setAccessMode(VolumeCapability.AccessMode.newBuilder()
            .setMode(VolumeCapability.AccessMode.Mode.MULTI_NODE_MULTI_WRITER))
        .build();
  }

  static VolumeCapability block() {
    return VolumeCapability.newBuilder()
        .setBlock(VolumeCapability.BlockVolume.getDefaultInstance())
        .setAccessMode(VolumeCapability.AccessMode.newBuilder()
            .setMode(VolumeCapability.AccessMode.Mode.SINGLE_NODE_WRITER))
        .build();
  }

  static CreateVolumeRequest.Builder create(String name, long requiredBytes) {
    return CreateVolumeRequest.newBuilder().setName(name).addVolumeCapabilities(rwx())
        .setCapacityRange(CapacityRange.newBuilder().setRequiredBytes(requiredBytes));
  }

  static NodeStageVolumeRequest.Builder stage(String volumeId, Path staging) {
    return NodeStageVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
        .setVolumeCapability(rwx());
  }

  static NodePublishVolumeRequest.Builder publish(String volumeId, Path staging, Path target) {
    return NodePublishVolumeRequest.newBuilder().setVolumeId(volumeId).setStagingTargetPath(staging.toString())
        .setTargetPath(target.toString()).setVolumeCapability(rwx());
  }
}
