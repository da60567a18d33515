package io.shoalfs.csi.core;

import io.shoalfs.client.MetaException;
import io.shoalfs.client.MetaClient;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.Snapshot;
import io.shoalfs.proto.meta.Subvolume;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@link VolumeBackend} over the metadata service: resize is the subvolume's quota (resize_subvolume), snapshots
 * and clones are the metadata service's O(1) snapshots and copy-on-write clones, a group snapshot is one
 * create_group_snapshot entry whose member snapshots record the group's name.
 *
 * <p>Limits: a snapshot of a deleted subvolume stays listed, deletable and readable, but cannot be the source
 * of a new clone (the metadata service clones only from a live subvolume's snapshots).
 */
public final class MetaVolumeBackend implements VolumeBackend {
  /** The features whose methods below are wired to the metadata service. */
  private static final EnumSet<Feature> FEATURES =
      EnumSet.of(Feature.SNAPSHOTS, Feature.CLONES, Feature.EXPAND, Feature.GROUP_SNAPSHOTS);

  private final MetaClient meta;

  public MetaVolumeBackend(MetaClient meta) {
    this.meta = meta;
  }

  @Override
  public Set<Feature> features() {
    return EnumSet.copyOf(FEATURES);
  }

  @Override
  public long resize(String subvolume, long capacityBytes) throws CsiError {
    try {
      Subvolume now = meta.getSubvolume(subvolume);
      if (now.getCapacityBytes() >= capacityBytes) {
        return now.getCapacityBytes(); // expansion only: a smaller request is already satisfied
      }
      return meta.resizeSubvolume(subvolume, capacityBytes, null).getCapacityBytes();
    } catch (MetaException e) {
      if (e.code() == Code.EDQUOT) {
        throw new CsiError.OutOfRange("resizing subvolume " + subvolume + ": " + e.getMessage());
      }
      throw MetaErrors.toCsi("resizing subvolume " + subvolume, e);
    }
  }

  @Override
  public SnapshotInfo snapshot(String subvolume, String name) throws CsiError {
    try {
      return info(meta.createSnapshot(subvolume, name));
    } catch (MetaException e) {
      throw MetaErrors.toCsi("snapshotting subvolume " + subvolume, e);
    }
  }

  @Override
  public void deleteSnapshot(String subvolume, String name) throws CsiError {
    try {
      for (Snapshot s : meta.listAllSnapshots()) {
        if (s.getSubvolume().equals(subvolume) && s.getName().equals(name)) {
          if (!s.getGroup().isEmpty()) {
            throw new CsiError.InvalidArgument("snapshot " + subvolume + "@" + name + " belongs to group snapshot "
                + s.getGroup() + "; delete the group instead");
          }
          meta.deleteSnapshot(s.getVolumeRoot(), name);
        }
      }
    } catch (MetaException e) {
      if (e.code() != Code.ENOENT) {
        throw MetaErrors.toCsi("deleting snapshot " + subvolume + "@" + name, e);
      }
    }
  }

  @Override
  public List<SnapshotInfo> listSnapshots(Optional<String> subvolume) throws CsiError {
    try {
      List<SnapshotInfo> out = new ArrayList<>();
      for (Snapshot s : meta.listAllSnapshots()) {
        if (subvolume.isEmpty() || subvolume.get().equals(s.getSubvolume())) {
          out.add(info(s));
        }
      }
      return out;
    } catch (MetaException e) {
      throw MetaErrors.toCsi("listing snapshots", e);
    }
  }

  @Override
  public long clone(CloneSource source, String target, long capacityBytes) throws CsiError {
    String what = "cloning " + source.subvolume() + source.snapshot().map(s -> "@" + s).orElse("") + " to " + target;
    try {
      return meta.cloneSubvolume(source.subvolume(), target, source.snapshot().orElse(""), capacityBytes)
          .getCapacityBytes();
    } catch (MetaException e) {
      throw MetaErrors.toCsi(what, e);
    }
  }

  @Override
  public Optional<CloneSource> origin(String subvolume) throws CsiError {
    try {
      Subvolume sv = meta.getSubvolume(subvolume);
      if (sv.getCloneOf().isEmpty()) {
        return Optional.empty();
      }
      String snap = sv.getCloneSnapshot();
      return Optional.of(new CloneSource(sv.getCloneOf(), snap.isEmpty() ? Optional.empty() : Optional.of(snap)));
    } catch (MetaException e) {
      throw MetaErrors.toCsi("reading the origin of subvolume " + subvolume, e);
    }
  }

  @Override
  public GroupSnapshotInfo groupSnapshot(String group, Map<String, String> members) throws CsiError {
    if (members.isEmpty()) {
      throw new CsiError.InvalidArgument("group snapshot " + group + " names no volumes");
    }
    String name = members.values().iterator().next();
    for (String n : members.values()) {
      if (!n.equals(name)) {
        throw new CsiError.InvalidArgument("the snapshots of group " + group + " must share one name, got "
            + members);
      }
    }
    try {
      meta.createGroupSnapshot(new ArrayList<>(members.keySet()), name, group);
      return getGroupSnapshot(group).orElseThrow(
          () -> new CsiError.Internal("group snapshot " + group + " was cut but is not listed", null));
    } catch (MetaException e) {
      throw MetaErrors.toCsi("group snapshot " + group, e);
    }
  }

  @Override
  public Optional<GroupSnapshotInfo> getGroupSnapshot(String group) throws CsiError {
    List<SnapshotInfo> members = new ArrayList<>();
    long created = Long.MAX_VALUE;
    for (SnapshotInfo s : listSnapshots(Optional.empty())) {
      if (s.group().isPresent() && s.group().get().equals(group)) {
        members.add(s);
        created = Math.min(created, s.createdNs());
      }
    }
    return members.isEmpty() ? Optional.empty() : Optional.of(new GroupSnapshotInfo(group, created, members));
  }

  @Override
  public void deleteGroupSnapshot(String group) throws CsiError {
    try {
      for (Snapshot s : meta.listAllSnapshots()) {
        if (s.getGroup().equals(group)) {
          meta.deleteSnapshot(s.getVolumeRoot(), s.getName());
        }
      }
    } catch (MetaException e) {
      if (e.code() != Code.ENOENT) {
        throw MetaErrors.toCsi("deleting group snapshot " + group, e);
      }
    }
  }

  /** A snapshot's size is the source's byte quota when it was taken: the least a restore must hold. */
  private static SnapshotInfo info(Snapshot s) {
    return new SnapshotInfo(s.getSubvolume(), s.getName(), s.getCreatedNs(), s.getCapacityBytes(),
        s.getGroup().isEmpty() ? Optional.empty() : Optional.of(s.getGroup()));
  }
}
