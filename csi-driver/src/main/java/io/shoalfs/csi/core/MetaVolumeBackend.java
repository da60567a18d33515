package io.shoalfs.csi.core;

import io.shoalfs.client.MetaClient;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@link VolumeBackend} over the metadata service. This build's metadata API has no resize, snapshot or clone
 * operation yet, so every method fails with {@link CsiError.Unimplemented} naming what it waits for, and no
 * feature is listed. Wiring one: implement its method(s) over the new {@code MetaClient} call (mapping
 * {@code MetaException} with {@code MetaErrors.toCsi}), then add its {@link Feature} to {@link #FEATURES}; that one
 * line makes the driver advertise the capability (see {@code grpc/Capabilities}).
 */
public final class MetaVolumeBackend implements VolumeBackend {
  /** The features whose methods below are wired to the metadata service. */
  private static final EnumSet<Feature> FEATURES = EnumSet.noneOf(Feature.class);

  @SuppressWarnings("unused") // used by the methods once they are wired
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
    throw missing("resizing subvolume " + subvolume, "subvolume resize", "quota");
  }

  @Override
  public SnapshotInfo snapshot(String subvolume, String name) throws CsiError {
    throw missing("snapshotting subvolume " + subvolume, "snapshot create", "snap");
  }

  @Override
  public void deleteSnapshot(String subvolume, String name) throws CsiError {
    throw missing("deleting snapshot " + subvolume + "@" + name, "snapshot delete", "snap");
  }

  @Override
  public List<SnapshotInfo> listSnapshots(Optional<String> subvolume) throws CsiError {
    throw missing("listing snapshots", "snapshot list", "snap");
  }

  @Override
  public long clone(CloneSource source, String target, long capacityBytes) throws CsiError {
    throw missing("cloning " + source.subvolume() + source.snapshot().map(s -> "@" + s).orElse(""), "clone", "snap");
  }

  @Override
  public Optional<CloneSource> origin(String subvolume) throws CsiError {
    throw missing("reading the origin of subvolume " + subvolume, "clone origins", "snap");
  }

  @Override
  public GroupSnapshotInfo groupSnapshot(String group, Map<String, String> members) throws CsiError {
    throw missing("group snapshot " + group, "an atomic multi-subvolume snapshot", "snap");
  }

  @Override
  public Optional<GroupSnapshotInfo> getGroupSnapshot(String group) throws CsiError {
    throw missing("reading group snapshot " + group, "group snapshot records", "snap");
  }

  @Override
  public void deleteGroupSnapshot(String group) throws CsiError {
    throw missing("deleting group snapshot " + group, "group snapshot delete", "snap");
  }

  private static CsiError.Unimplemented missing(String what, String operation, String branch) {
    return new CsiError.Unimplemented(what + " needs " + operation + " in the metadata service, which this build "
        + "does not have yet (branch " + branch + ")");
  }
}
