package io.shoalfs.csi.grpc;

import io.shoalfs.csi.core.CsiError;
import io.shoalfs.proto.csi.VolumeCapability;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** Request validation shared by the services: everything here fails with INVALID_ARGUMENT. */
final class Checks {
  /** The CSI size limit for string fields. */
  static final int MAX_STRING_BYTES = 128;

  private Checks() {}

  static String required(String value, String field) throws CsiError.InvalidArgument {
    if (value == null || value.isEmpty()) {
      throw new CsiError.InvalidArgument(field + " is required");
    }
    return value;
  }

  /** A CreateVolume name: non-empty, at most 128 bytes, no control characters the spec bans. */
  static String name(String value) throws CsiError.InvalidArgument {
    required(value, "name");
    if (value.getBytes(StandardCharsets.UTF_8).length > MAX_STRING_BYTES) {
      throw new CsiError.InvalidArgument("name is longer than " + MAX_STRING_BYTES + " bytes");
    }
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      boolean banned = (c <= 0x08) || c == 0x0B || c == 0x0C || (c >= 0x0E && c <= 0x1F) || (c >= 0x7F && c <= 0x9F);
      if (banned) {
        throw new CsiError.InvalidArgument("name contains control character U+" + String.format("%04X", (int) c));
      }
    }
    return value;
  }

  /** A path the CO gives us: required and absolute (we never resolve against our own working directory). */
  static Path absolutePath(String value, String field) throws CsiError.InvalidArgument {
    required(value, field);
    Path p = Path.of(value);
    if (!p.isAbsolute()) {
      throw new CsiError.InvalidArgument(field + " must be an absolute path, got '" + value + "'");
    }
    return p;
  }

  static void capabilities(List<VolumeCapability> caps) throws CsiError.InvalidArgument {
    if (caps.isEmpty()) {
      throw new CsiError.InvalidArgument("volume_capabilities is required");
    }
    for (VolumeCapability c : caps) {
      capability(c);
    }
  }

  /**
   * Shoal volumes are shared POSIX filesystems: any access mode works (that is the point of Shoal), block
   * access never does.
   */
  static void capability(VolumeCapability c) throws CsiError.InvalidArgument {
    String problem = unsupported(c);
    if (problem != null) {
      throw new CsiError.InvalidArgument(problem);
    }
  }

  /** Why a capability is unsupported, or null if it is supported. */
  static String unsupported(VolumeCapability c) {
    switch (c.getAccessTypeCase()) {
      case MOUNT -> { }
      case BLOCK -> {
        return "block access is not supported: Shoal volumes are filesystems (use access_type mount)";
      }
      default -> {
        return "volume_capability.access_type (mount) is required";
      }
    }
    if (!c.hasAccessMode()) {
      return "volume_capability.access_mode is required";
    }
    return switch (c.getAccessMode().getMode()) {
      case UNKNOWN -> "volume_capability.access_mode.mode is required";
      case UNRECOGNIZED -> "unknown access mode " + c.getAccessMode().getModeValue();
      default -> null;
    };
  }
}
