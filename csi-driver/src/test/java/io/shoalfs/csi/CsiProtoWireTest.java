package io.shoalfs.csi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import com.google.protobuf.Descriptors.MethodDescriptor;
import com.google.protobuf.Descriptors.ServiceDescriptor;
import io.shoalfs.proto.csi.Csi;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Checks wire-critical facts of our csi.proto against the numbers in the CSI v1.12.0 spec text: full service
 * names (part of every gRPC path), method names, field names and numbers, enum numbers, oneofs and the
 * csi_secret option. A mistake here would make kubelet or a sidecar silently misread our messages.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CsiProtoWireTest {
  private static final FileDescriptor FILE = Csi.getDescriptor();

  private static Descriptor msg(String name) {
    Descriptor d = findNested(name);
    assertNotNull(d, "message " + name);
    return d;
  }

  private static Descriptor findNested(String dotted) {
    String[] parts = dotted.split("\\.");
    Descriptor d = FILE.findMessageTypeByName(parts[0]);
    for (int i = 1; d != null && i < parts.length; i++) {
      d = d.findNestedTypeByName(parts[i]);
    }
    return d;
  }

  /** name -> number, in declaration order. */
  private static Map<String, Integer> fields(String message) {
    return msg(message).getFields().stream()
        .collect(Collectors.toMap(FieldDescriptor::getName, FieldDescriptor::getNumber, (a, b) -> a,
            LinkedHashMap::new));
  }

  private static Map<String, Integer> enumValues(EnumDescriptor e) {
    return e.getValues().stream().collect(Collectors.toMap(v -> v.getName(), v -> v.getNumber(), (a, b) -> a,
        LinkedHashMap::new));
  }

  private static List<String> methods(String service) {
    ServiceDescriptor s = FILE.findServiceByName(service);
    assertNotNull(s, "service " + service);
    return s.getMethods().stream().map(MethodDescriptor::getName).toList();
  }

  @Test
  void packageAndServiceNames() {
    assertEquals("csi.v1", FILE.getPackage());
    assertEquals("csi.v1.Identity", FILE.findServiceByName("Identity").getFullName());
    assertEquals("csi.v1.Controller", FILE.findServiceByName("Controller").getFullName());
    assertEquals("csi.v1.Node", FILE.findServiceByName("Node").getFullName());
    assertEquals("csi.v1.GroupController", FILE.findServiceByName("GroupController").getFullName());
    assertEquals("csi.v1.SnapshotMetadata", FILE.findServiceByName("SnapshotMetadata").getFullName());
    assertEquals(5, FILE.getServices().size());
    // The gRPC path kubelet calls is /<service full name>/<method>.
    assertEquals("csi.v1.Node/NodeStageVolume",
        io.shoalfs.proto.csi.NodeGrpc.getNodeStageVolumeMethod().getFullMethodName());
  }

  @Test
  void methodNames() {
    assertEquals(List.of("GetPluginInfo", "GetPluginCapabilities", "Probe"), methods("Identity"));
    assertEquals(List.of("CreateVolume", "DeleteVolume", "ControllerPublishVolume", "ControllerUnpublishVolume",
        "ValidateVolumeCapabilities", "ListVolumes", "GetCapacity", "ControllerGetCapabilities", "CreateSnapshot",
        "DeleteSnapshot", "ListSnapshots", "GetSnapshot", "ControllerExpandVolume", "ControllerGetVolume",
        "ControllerModifyVolume"), methods("Controller"));
    assertEquals(List.of("NodeStageVolume", "NodeUnstageVolume", "NodePublishVolume", "NodeUnpublishVolume",
        "NodeGetVolumeStats", "NodeExpandVolume", "NodeGetCapabilities", "NodeGetInfo"), methods("Node"));
    assertEquals(List.of("GroupControllerGetCapabilities", "CreateVolumeGroupSnapshot", "DeleteVolumeGroupSnapshot",
        "GetVolumeGroupSnapshot"), methods("GroupController"));
    assertEquals(List.of("GetMetadataAllocated", "GetMetadataDelta"), methods("SnapshotMetadata"));
    assertTrue(FILE.findServiceByName("SnapshotMetadata").findMethodByName("GetMetadataDelta").isServerStreaming());
    assertTrue(FILE.findServiceByName("Controller").findMethodByName("GetSnapshot").getOptions()
        .getExtension(Csi.alphaMethod));
    assertTrue(FILE.findServiceByName("SnapshotMetadata").getOptions().getExtension(Csi.alphaService));
  }

  @Test
  void identityMessages() {
    assertEquals(Map.of("name", 1, "vendor_version", 2, "manifest", 3), fields("GetPluginInfoResponse"));
    assertEquals(Map.of("capabilities", 1), fields("GetPluginCapabilitiesResponse"));
    assertEquals(Map.of("service", 1, "volume_expansion", 2), fields("PluginCapability"));
    assertEquals("type", msg("PluginCapability").getOneofs().get(0).getName());
    assertEquals(Map.of("UNKNOWN", 0, "CONTROLLER_SERVICE", 1, "VOLUME_ACCESSIBILITY_CONSTRAINTS", 2,
        "GROUP_CONTROLLER_SERVICE", 3, "SNAPSHOT_METADATA_SERVICE", 4),
        enumValues(msg("PluginCapability.Service").findEnumTypeByName("Type")));
    assertEquals(Map.of("UNKNOWN", 0, "ONLINE", 1, "OFFLINE", 2),
        enumValues(msg("PluginCapability.VolumeExpansion").findEnumTypeByName("Type")));
    FieldDescriptor ready = msg("ProbeResponse").findFieldByNumber(1);
    assertEquals("ready", ready.getName());
    assertEquals("google.protobuf.BoolValue", ready.getMessageType().getFullName());
  }

  @Test
  void createVolumeRequest() {
    Map<String, Integer> f = fields("CreateVolumeRequest");
    assertEquals(1, f.get("name"));
    assertEquals(2, f.get("capacity_range"));
    assertEquals(3, f.get("volume_capabilities"));
    assertEquals(4, f.get("parameters"));
    assertEquals(5, f.get("secrets"));
    assertEquals(6, f.get("volume_content_source"));
    assertEquals(7, f.get("accessibility_requirements"));
    // Upstream's mutable_parameters: renamed for Java codegen (see csi.proto), same number and JSON name.
    assertEquals(8, f.get("mutable_params"));
    assertEquals("mutableParameters", msg("CreateVolumeRequest").findFieldByNumber(8).getJsonName());
    assertEquals(8, f.size());
    assertTrue(msg("CreateVolumeRequest").findFieldByName("parameters").isMapField());
    assertTrue(msg("CreateVolumeRequest").findFieldByName("volume_capabilities").isRepeated());
    assertEquals(Map.of("required_bytes", 1, "limit_bytes", 2), fields("CapacityRange"));
    assertEquals(FieldDescriptor.Type.INT64, msg("CapacityRange").findFieldByNumber(1).getType());
    assertEquals(Map.of("snapshot", 1, "volume", 2), fields("VolumeContentSource"));
  }

  @Test
  void volumeCapability() {
    assertEquals(Map.of("block", 1, "mount", 2, "access_mode", 3), fields("VolumeCapability"));
    assertEquals("access_type", msg("VolumeCapability").findFieldByNumber(1).getContainingOneof().getName());
    assertEquals(msg("VolumeCapability").findFieldByNumber(1).getContainingOneof(),
        msg("VolumeCapability").findFieldByNumber(2).getContainingOneof());
    assertEquals(Map.of("fs_type", 1, "mount_flags", 2, "volume_mount_group", 3),
        fields("VolumeCapability.MountVolume"));
    assertEquals(Map.of("mode", 1), fields("VolumeCapability.AccessMode"));
    assertEquals(Map.of("UNKNOWN", 0, "SINGLE_NODE_WRITER", 1, "SINGLE_NODE_READER_ONLY", 2,
        "MULTI_NODE_READER_ONLY", 3, "MULTI_NODE_SINGLE_WRITER", 4, "MULTI_NODE_MULTI_WRITER", 5,
        "SINGLE_NODE_SINGLE_WRITER", 6, "SINGLE_NODE_MULTI_WRITER", 7),
        enumValues(msg("VolumeCapability.AccessMode").findEnumTypeByName("Mode")));
  }

  @Test
  void volumeAndTopology() {
    assertEquals(Map.of("capacity_bytes", 1, "volume_id", 2, "volume_context", 3, "content_source", 4,
        "accessible_topology", 5), fields("Volume"));
    assertEquals(Map.of("segments", 1), fields("Topology"));
    assertTrue(msg("Topology").findFieldByNumber(1).isMapField());
    assertEquals(Map.of("requisite", 1, "preferred", 2), fields("TopologyRequirement"));
    assertEquals(Map.of("node_id", 1, "max_volumes_per_node", 2, "accessible_topology", 3),
        fields("NodeGetInfoResponse"));
  }

  @Test
  void nodeStageAndPublish() {
    assertEquals(Map.of("volume_id", 1, "publish_context", 2, "staging_target_path", 3, "volume_capability", 4,
        "secrets", 5, "volume_context", 6), fields("NodeStageVolumeRequest"));
    assertEquals(Map.of("volume_id", 1, "staging_target_path", 2), fields("NodeUnstageVolumeRequest"));
    assertEquals(Map.of("volume_id", 1, "publish_context", 2, "staging_target_path", 3, "target_path", 4,
        "volume_capability", 5, "readonly", 6, "secrets", 7, "volume_context", 8), fields("NodePublishVolumeRequest"));
    assertEquals(Map.of("volume_id", 1, "target_path", 2), fields("NodeUnpublishVolumeRequest"));
    assertEquals(Map.of("volume_id", 1, "secrets", 2), fields("DeleteVolumeRequest"));
    assertEquals(Map.of("volume_id", 1, "volume_context", 2, "volume_capabilities", 3, "parameters", 4,
        "secrets", 5, "mutable_params", 6), fields("ValidateVolumeCapabilitiesRequest"));
    assertEquals(Map.of("confirmed", 1, "message", 2), fields("ValidateVolumeCapabilitiesResponse"));
  }

  @Test
  void capabilityEnums() {
    assertEquals(Map.ofEntries(Map.entry("UNKNOWN", 0), Map.entry("CREATE_DELETE_VOLUME", 1),
        Map.entry("PUBLISH_UNPUBLISH_VOLUME", 2), Map.entry("LIST_VOLUMES", 3), Map.entry("GET_CAPACITY", 4),
        Map.entry("CREATE_DELETE_SNAPSHOT", 5), Map.entry("LIST_SNAPSHOTS", 6), Map.entry("CLONE_VOLUME", 7),
        Map.entry("PUBLISH_READONLY", 8), Map.entry("EXPAND_VOLUME", 9), Map.entry("LIST_VOLUMES_PUBLISHED_NODES", 10),
        Map.entry("VOLUME_CONDITION", 11), Map.entry("GET_VOLUME", 12), Map.entry("SINGLE_NODE_MULTI_WRITER", 13),
        Map.entry("MODIFY_VOLUME", 14), Map.entry("GET_SNAPSHOT", 15)),
        enumValues(msg("ControllerServiceCapability.RPC").findEnumTypeByName("Type")));
    assertEquals(Map.of("UNKNOWN", 0, "STAGE_UNSTAGE_VOLUME", 1, "GET_VOLUME_STATS", 2, "EXPAND_VOLUME", 3,
        "VOLUME_CONDITION", 4, "SINGLE_NODE_MULTI_WRITER", 5, "VOLUME_MOUNT_GROUP", 6),
        enumValues(msg("NodeServiceCapability.RPC").findEnumTypeByName("Type")));
    assertEquals(Map.of("UNKNOWN", 0, "CREATE_DELETE_GET_VOLUME_GROUP_SNAPSHOT", 1),
        enumValues(msg("GroupControllerServiceCapability.RPC").findEnumTypeByName("Type")));
    assertEquals(Map.of("rpc", 1), fields("ControllerServiceCapability"));
    assertEquals(Map.of("rpc", 1), fields("NodeServiceCapability"));
    assertEquals(Map.of("UNKNOWN", 0, "FIXED_LENGTH", 1, "VARIABLE_LENGTH", 2),
        enumValues(FILE.findEnumTypeByName("BlockMetadataType")));
  }

  @Test
  void customOptionNumbers() {
    Map<String, Integer> ext = FILE.getExtensions().stream()
        .collect(Collectors.toMap(FieldDescriptor::getName, FieldDescriptor::getNumber));
    assertEquals(Map.of("csi_secret", 1059, "alpha_field", 1060, "alpha_enum", 1060, "alpha_enum_value", 1060,
        "alpha_message", 1060, "alpha_method", 1060, "alpha_service", 1060), ext);
    assertEquals("google.protobuf.FieldOptions", Csi.csiSecret.getDescriptor().getContainingType().getFullName());
  }

  /** Every secrets map, and only those, is marked csi_secret: the logging interceptor relies on it. */
  @Test
  void everySecretsFieldIsMarkedSecret() {
    int secrets = 0;
    for (Descriptor d : allMessages()) {
      for (FieldDescriptor f : d.getFields()) {
        boolean marked = f.getOptions().getExtension(Csi.csiSecret);
        assertEquals(f.getName().equals("secrets"), marked, d.getFullName() + "." + f.getName());
        if (marked) {
          secrets++;
          assertTrue(f.isMapField(), f.getFullName());
        }
      }
    }
    // One per RPC that takes secrets in v1.12: counted from the spec text.
    assertEquals(19, secrets);
    assertFalse(msg("NodeUnstageVolumeRequest").getFields().stream().anyMatch(f -> f.getName().equals("secrets")));
  }

  private static List<Descriptor> allMessages() {
    List<Descriptor> out = new java.util.ArrayList<>();
    java.util.ArrayDeque<Descriptor> todo = new java.util.ArrayDeque<>(FILE.getMessageTypes());
    while (!todo.isEmpty()) {
      Descriptor d = todo.pop();
      out.add(d);
      todo.addAll(d.getNestedTypes());
    }
    return out;
  }
}
