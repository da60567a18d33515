package io.shoalfs.csi.grpc;

import io.shoalfs.csi.core.Feature;
import io.shoalfs.csi.core.Volumes;
import io.shoalfs.proto.csi.ControllerServiceCapability;
import io.shoalfs.proto.csi.GroupControllerServiceCapability;
import io.shoalfs.proto.csi.NodeServiceCapability;
import io.shoalfs.proto.csi.PluginCapability;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every capability the driver advertises, in one place, derived from the backend's {@link Feature}s: what works
 * on the metadata API as it is is always listed; what needs a coming metadata operation is listed once its
 * feature is. So a CO never calls an RPC that would answer UNIMPLEMENTED, and enabling snapshots or expansion is
 * adding the feature in {@code MetaVolumeBackend.FEATURES}.
 */
final class Capabilities {
  private static final List<ControllerServiceCapability.RPC.Type> CONTROLLER_ALWAYS = List.of(
      ControllerServiceCapability.RPC.Type.CREATE_DELETE_VOLUME,
      ControllerServiceCapability.RPC.Type.LIST_VOLUMES,
      ControllerServiceCapability.RPC.Type.GET_CAPACITY,
      ControllerServiceCapability.RPC.Type.GET_VOLUME,
      ControllerServiceCapability.RPC.Type.VOLUME_CONDITION);
  private static final Map<Feature, List<ControllerServiceCapability.RPC.Type>> CONTROLLER_BY_FEATURE = Map.of(
      Feature.SNAPSHOTS, List.of(ControllerServiceCapability.RPC.Type.CREATE_DELETE_SNAPSHOT,
          ControllerServiceCapability.RPC.Type.LIST_SNAPSHOTS, ControllerServiceCapability.RPC.Type.GET_SNAPSHOT),
      Feature.CLONES, List.of(ControllerServiceCapability.RPC.Type.CLONE_VOLUME),
      Feature.EXPAND, List.of(ControllerServiceCapability.RPC.Type.EXPAND_VOLUME));
  private static final List<NodeServiceCapability.RPC.Type> NODE_ALWAYS = List.of(
      NodeServiceCapability.RPC.Type.STAGE_UNSTAGE_VOLUME,
      NodeServiceCapability.RPC.Type.GET_VOLUME_STATS,
      NodeServiceCapability.RPC.Type.VOLUME_CONDITION);
  /**
   * NodeExpandVolume works without a backend feature, but only matters once the controller can expand: before
   * that a node-side resize could not raise the quota, so it is advertised with {@link Feature#EXPAND}.
   */
  private static final Map<Feature, List<NodeServiceCapability.RPC.Type>> NODE_BY_FEATURE = Map.of(
      Feature.EXPAND, List.of(NodeServiceCapability.RPC.Type.EXPAND_VOLUME));

  private Capabilities() {}

  static List<ControllerServiceCapability> controller(Set<Feature> features) {
    List<ControllerServiceCapability.RPC.Type> types = new ArrayList<>(CONTROLLER_ALWAYS);
    // ControllerModifyVolume answers either way; it is advertised once some parameter can change live.
    if (!Volumes.MUTABLE_PARAMETERS.isEmpty()) {
      types.add(ControllerServiceCapability.RPC.Type.MODIFY_VOLUME);
    }
    for (Feature f : Feature.values()) {
      if (features.contains(f)) {
        types.addAll(CONTROLLER_BY_FEATURE.getOrDefault(f, List.of()));
      }
    }
    return types.stream().map(t -> ControllerServiceCapability.newBuilder()
        .setRpc(ControllerServiceCapability.RPC.newBuilder().setType(t)).build()).toList();
  }

  static List<NodeServiceCapability> node(Set<Feature> features) {
    List<NodeServiceCapability.RPC.Type> types = new ArrayList<>(NODE_ALWAYS);
    for (Feature f : Feature.values()) {
      if (features.contains(f)) {
        types.addAll(NODE_BY_FEATURE.getOrDefault(f, List.of()));
      }
    }
    return types.stream().map(t -> NodeServiceCapability.newBuilder()
        .setRpc(NodeServiceCapability.RPC.newBuilder().setType(t)).build()).toList();
  }

  static List<GroupControllerServiceCapability> groupController(Set<Feature> features) {
    if (!features.contains(Feature.GROUP_SNAPSHOTS)) {
      return List.of();
    }
    return List.of(GroupControllerServiceCapability.newBuilder().setRpc(GroupControllerServiceCapability.RPC
        .newBuilder().setType(GroupControllerServiceCapability.RPC.Type.CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT))
        .build());
  }

  static List<PluginCapability> plugin(boolean controller, Set<Feature> features) {
    List<PluginCapability> out = new ArrayList<>();
    if (controller) {
      out.add(service(PluginCapability.Service.Type.CONTROLLER_SERVICE));
      if (features.contains(Feature.GROUP_SNAPSHOTS)) {
        out.add(service(PluginCapability.Service.Type.GROUP_CONTROLLER_SERVICE));
      }
    }
    if (features.contains(Feature.EXPAND)) {
      // A quota change reaches every mount at once: expansion works while the volume is published.
      out.add(PluginCapability.newBuilder().setVolumeExpansion(PluginCapability.VolumeExpansion.newBuilder()
          .setType(PluginCapability.VolumeExpansion.Type.ONLINE)).build());
    }
    return out;
  }

  private static PluginCapability service(PluginCapability.Service.Type t) {
    return PluginCapability.newBuilder().setService(PluginCapability.Service.newBuilder().setType(t)).build();
  }
}
