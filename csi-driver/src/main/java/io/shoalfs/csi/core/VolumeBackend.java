package io.shoalfs.csi.core;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The metadata-service operations behind the CSI calls that need more than create/get/delete/list of subvolumes:
 * resize, snapshots, clones and group snapshots. {@link MetaVolumeBackend} implements it over {@code MetaClient};
 * an operation the metadata service does not have yet throws {@link CsiError.Unimplemented} and its
 * {@link Feature} is missing from {@link #features()}, so the driver does not advertise it.
 *
 * <p>Every method is idempotent, because the CO retries any call whose answer it did not see, and reports the
 * metadata service's errors as {@link CsiError}s (ENOENT as NotFound, EEXIST as AlreadyExists, ENOSPC/EDQUOT as
 * ResourceExhausted, unreachable as Unavailable). Names are the safe tokens of {@link SnapshotId#NAME}.
 */
public interface VolumeBackend {
  /** What this backend can do; the driver advertises exactly the capabilities these features back. */
  Set<Feature> features();

  /**
   * Sets a subvolume's byte quota ({@link Feature#EXPAND}). Takes effect at once for every mount (df shows it);
   * no node step is needed.
   *
   * @return the capacity now in force
   * @throws CsiError.NotFound no such subvolume
   * @throws CsiError.OutOfRange below the subvolume's usage (the metadata service refuses to shrink under it)
   */
  long resize(String subvolume, long capacityBytes) throws CsiError;

  /**
   * Cuts a snapshot of a subvolume, O(1) and consistent ({@link Feature#SNAPSHOTS}). A snapshot of that name that
   * already exists on the subvolume is returned as it is (so a retried CreateSnapshot gets the same answer).
   *
   * @throws CsiError.NotFound no such subvolume
   */
  SnapshotInfo snapshot(String subvolume, String name) throws CsiError;

  /**
   * Deletes a snapshot; one that does not exist (or whose subvolume is gone with it) is a success. The data it
   * holds is freed once no clone shares it.
   *
   * @throws CsiError.InvalidArgument it belongs to a group snapshot (delete the group instead)
   */
  void deleteSnapshot(String subvolume, String name) throws CsiError;

  /**
   * Snapshots of one subvolume, or of every subvolume when {@code subvolume} is empty, in any order. Snapshots
   * of a deleted subvolume are still listed (and still usable as sources) until they are deleted: the spec
   * requires it, and DeleteVolume keeps snapshot data alive. An unknown subvolume has no snapshots (not an error).
   */
  List<SnapshotInfo> listSnapshots(Optional<String> subvolume) throws CsiError;

  /**
   * Creates subvolume {@code target} as a writable copy-on-write clone of a snapshot ({@link Feature#SNAPSHOTS})
   * or of a live subvolume ({@link Feature#CLONES}), in O(1), with the given byte quota. Idempotent: a target that
   * already exists as a clone of the same source is returned.
   *
   * @return the clone's capacity in bytes
   * @throws CsiError.NotFound the source does not exist
   * @throws CsiError.AlreadyExists the target exists and is not a clone of this source
   */
  long clone(CloneSource source, String target, long capacityBytes) throws CsiError;

  /**
   * What a subvolume was cloned from, empty for one created empty ({@link Feature#SNAPSHOTS} or
   * {@link Feature#CLONES}): CreateVolume of an existing name must tell a clone from an empty volume to answer
   * ALREADY_EXISTS for a request with another (or no) source.
   *
   * @throws CsiError.NotFound no such subvolume
   */
  Optional<CloneSource> origin(String subvolume) throws CsiError;

  /**
   * Cuts one snapshot of each subvolume in one log entry, so they are one point in time
   * ({@link Feature#GROUP_SNAPSHOTS}). Idempotent: a group of that name with the same members is returned.
   *
   * @param members source subvolume to the name its snapshot gets
   * @throws CsiError.AlreadyExists a group of that name exists with other members
   * @throws CsiError.NotFound a source subvolume does not exist
   */
  GroupSnapshotInfo groupSnapshot(String group, Map<String, String> members) throws CsiError;

  /** The group snapshot, if it exists. */
  Optional<GroupSnapshotInfo> getGroupSnapshot(String group) throws CsiError;

  /** Deletes a group snapshot and every snapshot in it; one that does not exist is a success. */
  void deleteGroupSnapshot(String group) throws CsiError;

  /**
   * A snapshot as the metadata service reports it.
   *
   * @param subvolume the source subvolume (which may have been deleted since)
   * @param name its name under the source's {@code .snap}
   * @param createdNs when it was cut (the log entry's time)
   * @param sizeBytes the source's capacity when it was cut: the least a volume restored from it must hold
   *     (0 = unknown)
   * @param group the group snapshot it belongs to, if any
   */
  record SnapshotInfo(String subvolume, String name, long createdNs, long sizeBytes, Optional<String> group) {}

  /**
   * @param name the group's name
   * @param createdNs when it was cut
   * @param members one snapshot per source subvolume
   */
  record GroupSnapshotInfo(String name, long createdNs, List<SnapshotInfo> members) {}

  /**
   * What a clone copies.
   *
   * @param subvolume the source subvolume
   * @param snapshot the snapshot of it to clone, or empty for the live subvolume
   */
  record CloneSource(String subvolume, Optional<String> snapshot) {}
}
