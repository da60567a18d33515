package io.shoalfs.csi.grpc;

import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.CsiError;
import io.shoalfs.csi.core.VolumeId;
import io.shoalfs.csi.core.VolumeLocks;
import io.shoalfs.csi.core.Volumes;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesRequest;
import io.shoalfs.proto.csi.ControllerGetCapabilitiesResponse;
import io.shoalfs.proto.csi.ControllerGrpc;
import io.shoalfs.proto.csi.ControllerServiceCapability;
import io.shoalfs.proto.csi.CreateVolumeRequest;
import io.shoalfs.proto.csi.CreateVolumeResponse;
import io.shoalfs.proto.csi.DeleteVolumeRequest;
import io.shoalfs.proto.csi.DeleteVolumeResponse;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesRequest;
import io.shoalfs.proto.csi.ValidateVolumeCapabilitiesResponse;
import io.shoalfs.proto.csi.Volume;
import io.shoalfs.proto.csi.VolumeCapability;

/**
 * CSI Controller: volumes are subvolumes. Every RPC: validate, take the volume's lock (or ABORTED), then the
 * idempotent core operation. RPCs not overridden here answer UNIMPLEMENTED, matching the capabilities we
 * advertise.
 */
public final class ControllerService extends ControllerGrpc.ControllerImplBase {
  /** Volume context key telling nodes (and humans) which subvolume holds the volume. */
  public static final String CONTEXT_SUBVOLUME = "shoal.io/subvolume";

  private final Volumes volumes;
  private final VolumeLocks locks;

  public ControllerService(Volumes volumes, VolumeLocks locks) {
    this.volumes = volumes;
    this.locks = locks;
  }

  @Override
  public void createVolume(CreateVolumeRequest req, StreamObserver<CreateVolumeResponse> out) {
    Rpc.unary(out, () -> {
      String name = Checks.name(req.getName());
      Checks.capabilities(req.getVolumeCapabilitiesList());
      if (req.hasVolumeContentSource()) {
        throw new CsiError.InvalidArgument("volume_content_source is not supported yet (no snapshots or clones)");
      }
      // Locked under the id the name maps to, so a CreateVolume and a DeleteVolume of one volume never overlap.
      try (var lock = locks.acquire(VolumeId.forName(name).encode())) {
        Volumes.Volume v = volumes.create(name, req.getCapacityRange().getRequiredBytes(),
            req.getCapacityRange().getLimitBytes());
        return CreateVolumeResponse.newBuilder().setVolume(Volume.newBuilder()
            .setVolumeId(v.id().encode())
            .setCapacityBytes(v.capacityBytes())
            .putVolumeContext(CONTEXT_SUBVOLUME, v.id().subvolume())).build();
      }
    });
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
      return ValidateVolumeCapabilitiesResponse.newBuilder().setConfirmed(
          ValidateVolumeCapabilitiesResponse.Confirmed.newBuilder()
              .putAllVolumeContext(req.getVolumeContextMap())
              .addAllVolumeCapabilities(req.getVolumeCapabilitiesList())
              .putAllParameters(req.getParametersMap())).build();
    });
  }

  @Override
  public void controllerGetCapabilities(ControllerGetCapabilitiesRequest req,
      StreamObserver<ControllerGetCapabilitiesResponse> out) {
    Rpc.unary(out, () -> ControllerGetCapabilitiesResponse.newBuilder()
        .addCapabilities(ControllerServiceCapability.newBuilder().setRpc(ControllerServiceCapability.RPC.newBuilder()
            .setType(ControllerServiceCapability.RPC.Type.CREATE_DELETE_VOLUME)))
        .build());
  }
}
