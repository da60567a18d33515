package io.shoalfs.csi.core;

import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * A CSI group snapshot id: {@code shoal:g1:GROUP}. The group's members cannot fit in 128 bytes, so the id names
 * the group, and the metadata service's group record lists its members (one per source subvolume, cut in one
 * log entry). Versioned like {@link VolumeId}.
 *
 * @param group the group snapshot's name in the metadata service
 */
public record GroupSnapshotId(String group) {
  public static final String PREFIX = "shoal:g1:";

  public GroupSnapshotId {
    if (!SnapshotId.NAME.matcher(group).matches()) {
      throw new IllegalArgumentException("bad group snapshot name '" + group + "'");
    }
  }

  public String encode() {
    return PREFIX + group;
  }

  public static Optional<GroupSnapshotId> parse(String id) {
    if (id == null || !id.startsWith(PREFIX) || id.getBytes(StandardCharsets.UTF_8).length > VolumeId.MAX_BYTES) {
      return Optional.empty();
    }
    String g = id.substring(PREFIX.length());
    return SnapshotId.NAME.matcher(g).matches() ? Optional.of(new GroupSnapshotId(g)) : Optional.empty();
  }

  /** The group for a CreateVolumeGroupSnapshot name: safe names as they are, others hashed (deterministic). */
  public static GroupSnapshotId forName(String csiName) {
    if (SnapshotId.NAME.matcher(csiName).matches() && !csiName.startsWith("h-")) {
      return new GroupSnapshotId(csiName);
    }
    return new GroupSnapshotId("h-" + SnapshotId.hash(csiName).substring(0, 40));
  }

  @Override
  public String toString() {
    return encode();
  }
}
