package io.shoalfs.csi.grpc;

import com.google.protobuf.BoolValue;
import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.Feature;
import io.shoalfs.proto.csi.GetPluginCapabilitiesRequest;
import io.shoalfs.proto.csi.GetPluginCapabilitiesResponse;
import io.shoalfs.proto.csi.GetPluginInfoRequest;
import io.shoalfs.proto.csi.GetPluginInfoResponse;
import io.shoalfs.proto.csi.IdentityGrpc;
import io.shoalfs.proto.csi.ProbeRequest;
import io.shoalfs.proto.csi.ProbeResponse;
import java.util.Set;
import java.util.function.BooleanSupplier;

/** CSI Identity: who we are, what we serve, whether we are ready. */
public final class IdentityService extends IdentityGrpc.IdentityImplBase {
  public static final String DRIVER_NAME = "csi.shoalfs.io";

  private final String version;
  private final boolean controller;
  private final BooleanSupplier ready;
  private final Set<Feature> features;

  /**
   * @param version the build's version (never empty)
   * @param controller whether this instance serves the Controller service
   * @param ready whether the metadata service answers
   * @param features what the backend supports (see {@link Capabilities})
   */
  public IdentityService(String version, boolean controller, BooleanSupplier ready, Set<Feature> features) {
    if (version == null || version.isEmpty()) {
      throw new IllegalArgumentException("vendor version must not be empty");
    }
    this.version = version;
    this.controller = controller;
    this.ready = ready;
    this.features = Set.copyOf(features);
  }

  @Override
  public void getPluginInfo(GetPluginInfoRequest req, StreamObserver<GetPluginInfoResponse> out) {
    Rpc.unary(out, () -> GetPluginInfoResponse.newBuilder().setName(DRIVER_NAME).setVendorVersion(version).build());
  }

  @Override
  public void getPluginCapabilities(GetPluginCapabilitiesRequest req,
      StreamObserver<GetPluginCapabilitiesResponse> out) {
    Rpc.unary(out, () -> GetPluginCapabilitiesResponse.newBuilder()
        .addAllCapabilities(Capabilities.plugin(controller, features)).build());
  }

  @Override
  public void probe(ProbeRequest req, StreamObserver<ProbeResponse> out) {
    Rpc.unary(out, () -> ProbeResponse.newBuilder().setReady(BoolValue.of(ready.getAsBoolean())).build());
  }
}
