package io.shoalfs.csi.core;

import io.shoalfs.csi.core.VolumeBackend.GroupSnapshotInfo;
import io.shoalfs.csi.core.VolumeBackend.SnapshotInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's snapshot domain: a CSI snapshot is a snapshot of one subvolume ({@link SnapshotId}), a group
 * snapshot is one snapshot per subvolume cut in one log entry ({@link GroupSnapshotId}). Idempotent like
 * {@link Volumes}; every call needs a {@link Feature} of the backend and is UNIMPLEMENTED without it.
 */
public final class Snapshots {
  private static final Logger LOG = LoggerFactory.getLogger(Snapshots.class);

  private final VolumeBackend backend;
  private final Volumes volumes;

  public Snapshots(VolumeBackend backend, Volumes volumes) {
    this.backend = backend;
    this.volumes = volumes;
  }

  public void require(Feature f, String rpc) throws CsiError.Unimplemented {
    Feature.require(backend.features(), f, rpc);
  }

  /**
   * Cuts the snapshot for a CO snapshot name, or returns it if it exists. The same name already used for a
   * snapshot of another volume is ALREADY_EXISTS (the spec's "incompatible with the specified volume_id"); this
   * looks at every snapshot, which is bounded by the snapshots the cluster holds.
   */
  public SnapshotInfo create(String sourceVolumeId, String csiName) throws CsiError {
    require(Feature.SNAPSHOTS, "CreateSnapshot");
    VolumeId source;
    try {
      source = volumes.get(sourceVolumeId).id();
    } catch (CsiError.NotFound e) {
      throw new CsiError.NotFound("source volume " + sourceVolumeId + " does not exist");
    }
    SnapshotId id = SnapshotId.forName(source.subvolume(), csiName);
    for (SnapshotInfo s : backend.listSnapshots(Optional.empty())) {
      if (!s.subvolume().equals(source.subvolume()) && VolumeId.isVolumeName(s.subvolume())
          && s.name().equals(SnapshotId.forName(s.subvolume(), csiName).snapshot())) {
        throw new CsiError.AlreadyExists("snapshot " + csiName + " exists for another volume, "
            + new VolumeId(s.subvolume()).encode());
      }
    }
    SnapshotInfo made = backend.snapshot(source.subvolume(), id.snapshot());
    LOG.info("snapshot {} of {} is {}", csiName, source, id);
    return made;
  }

  /**
   * Deletes a snapshot; one that is gone (or never was ours) is a success. A member of a group snapshot is
   * INVALID_ARGUMENT: the spec makes the CO delete the group instead.
   */
  public void delete(String snapshotId) throws CsiError {
    require(Feature.SNAPSHOTS, "DeleteSnapshot");
    Optional<SnapshotId> id = SnapshotId.parse(snapshotId);
    if (id.isEmpty()) {
      LOG.info("delete of snapshot {}: not a Shoal snapshot id, so nothing exists to delete", snapshotId);
      return;
    }
    Optional<SnapshotInfo> s = find(backend, snapshotId);
    if (s.isEmpty()) {
      LOG.info("delete of snapshot {}: already gone", snapshotId);
      return;
    }
    if (s.get().group().isPresent()) {
      throw new CsiError.InvalidArgument("snapshot " + snapshotId + " is part of group snapshot "
          + new GroupSnapshotId(s.get().group().get()).encode() + "; delete the group instead");
    }
    backend.deleteSnapshot(id.get().subvolume(), id.get().snapshot());
    LOG.info("deleted snapshot {}", snapshotId);
  }

  /** GetSnapshot: the snapshot, or NOT_FOUND. */
  public SnapshotInfo get(String snapshotId) throws CsiError {
    require(Feature.SNAPSHOTS, "GetSnapshot");
    return find(backend, snapshotId).orElseThrow(() -> new CsiError.NotFound("no snapshot " + snapshotId));
  }

  /**
   * ListSnapshots: all snapshots in id order, or those of one source volume, or one snapshot. An id that does
   * not exist (or is not ours) gives an empty list, not an error, as the spec asks. Snapshots whose names do not
   * fit a CSI id (long names made by the CLI) cannot be addressed by a CO and are left out.
   */
  public Pages.Page<SnapshotInfo> list(int maxEntries, String token, String sourceVolumeId, String snapshotId)
      throws CsiError {
    require(Feature.SNAPSHOTS, "ListSnapshots");
    Pages.check(maxEntries, token, k -> SnapshotId.parse(k).isPresent());
    List<SnapshotInfo> all = new ArrayList<>();
    if (!snapshotId.isEmpty()) {
      find(backend, snapshotId).ifPresent(all::add);
    } else if (!sourceVolumeId.isEmpty()) {
      Optional<VolumeId> v = VolumeId.parse(sourceVolumeId);
      if (v.isPresent()) {
        all.addAll(backend.listSnapshots(Optional.of(v.get().subvolume())));
      }
    } else {
      all.addAll(backend.listSnapshots(Optional.empty()));
    }
    all.removeIf(s -> SnapshotId.of(s.subvolume(), s.name()).isEmpty());
    if (!sourceVolumeId.isEmpty()) {
      all.removeIf(s -> !new VolumeId(s.subvolume()).encode().equals(sourceVolumeId));
    }
    all.sort(Comparator.comparing(Snapshots::key));
    return Pages.page(all, Snapshots::key, maxEntries, token, k -> SnapshotId.parse(k).isPresent());
  }

  /**
   * CreateVolumeGroupSnapshot: one snapshot of each volume, one point in time. The same name with another set
   * of volumes is ALREADY_EXISTS.
   */
  public GroupSnapshotInfo createGroup(String csiName, List<String> sourceVolumeIds) throws CsiError {
    require(Feature.GROUP_SNAPSHOTS, "CreateVolumeGroupSnapshot");
    GroupSnapshotId id = GroupSnapshotId.forName(csiName);
    Map<String, String> members = new LinkedHashMap<>();
    for (String v : sourceVolumeIds) {
      VolumeId vol;
      try {
        vol = volumes.get(v).id();
      } catch (CsiError.NotFound e) {
        throw new CsiError.NotFound("source volume " + v + " does not exist");
      }
      if (members.put(vol.subvolume(), SnapshotId.forName(vol.subvolume(), csiName).snapshot()) != null) {
        throw new CsiError.InvalidArgument("source_volume_ids names " + v + " twice");
      }
    }
    Optional<GroupSnapshotInfo> existing = backend.getGroupSnapshot(id.group());
    if (existing.isPresent()) {
      Set<String> have = new HashSet<>();
      existing.get().members().forEach(m -> have.add(m.subvolume()));
      if (!have.equals(members.keySet())) {
        throw new CsiError.AlreadyExists("group snapshot " + csiName + " exists with other source volumes");
      }
      return existing.get();
    }
    GroupSnapshotInfo made = backend.groupSnapshot(id.group(), members);
    LOG.info("group snapshot {} of {} volumes is {}", csiName, members.size(), id);
    return made;
  }

  /** GetVolumeGroupSnapshot: NOT_FOUND if gone; INVALID_ARGUMENT if snapshot_ids are not exactly its members. */
  public GroupSnapshotInfo getGroup(String groupSnapshotId, List<String> snapshotIds) throws CsiError {
    require(Feature.GROUP_SNAPSHOTS, "GetVolumeGroupSnapshot");
    GroupSnapshotInfo g = findGroup(groupSnapshotId)
        .orElseThrow(() -> new CsiError.NotFound("no group snapshot " + groupSnapshotId));
    checkMembers(g, snapshotIds);
    return g;
  }

  /**
   * DeleteVolumeGroupSnapshot: a group that is gone is a success whatever snapshot_ids says (a retried delete
   * must succeed); an existing group whose members are not exactly snapshot_ids is INVALID_ARGUMENT.
   */
  public void deleteGroup(String groupSnapshotId, List<String> snapshotIds) throws CsiError {
    require(Feature.GROUP_SNAPSHOTS, "DeleteVolumeGroupSnapshot");
    Optional<GroupSnapshotInfo> g = findGroup(groupSnapshotId);
    if (g.isEmpty()) {
      LOG.info("delete of group snapshot {}: already gone", groupSnapshotId);
      return;
    }
    checkMembers(g.get(), snapshotIds);
    backend.deleteGroupSnapshot(g.get().name());
    LOG.info("deleted group snapshot {}", groupSnapshotId);
  }

  private Optional<GroupSnapshotInfo> findGroup(String groupSnapshotId) throws CsiError {
    Optional<GroupSnapshotId> id = GroupSnapshotId.parse(groupSnapshotId);
    return id.isEmpty() ? Optional.empty() : backend.getGroupSnapshot(id.get().group());
  }

  private static void checkMembers(GroupSnapshotInfo g, List<String> snapshotIds) throws CsiError.InvalidArgument {
    Set<String> have = new HashSet<>();
    for (SnapshotInfo m : g.members()) {
      have.add(key(m));
    }
    if (!have.equals(new HashSet<>(snapshotIds))) {
      throw new CsiError.InvalidArgument("snapshot_ids " + snapshotIds + " do not match the members of group "
          + "snapshot " + new GroupSnapshotId(g.name()).encode() + ": " + new java.util.TreeSet<>(have));
    }
  }

  /** The snapshot a CSI id names, if it exists. */
  static Optional<SnapshotInfo> find(VolumeBackend backend, String snapshotId) throws CsiError {
    Optional<SnapshotId> id = SnapshotId.parse(snapshotId);
    if (id.isEmpty()) {
      return Optional.empty();
    }
    for (SnapshotInfo s : backend.listSnapshots(Optional.of(id.get().subvolume()))) {
      if (s.subvolume().equals(id.get().subvolume()) && s.name().equals(id.get().snapshot())) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  /** The CSI snapshot id of a snapshot whose names fit one (callers filter with {@link SnapshotId#of}). */
  public static String key(SnapshotInfo s) {
    return new SnapshotId(s.subvolume(), s.name()).encode();
  }
}
