package io.shoalfs.csi.core;

import java.util.Set;

/**
 * What the CSI driver can offer only once the metadata service has the operation behind it. The driver's
 * capabilities follow {@link VolumeBackend#features()}: a feature the backend does not list is not advertised,
 * and its RPCs answer UNIMPLEMENTED. Everything else the driver does (create/delete, list, capacity, volume
 * condition, node stats and staging) works on the metadata API as it is and is always advertised.
 */
public enum Feature {
  /**
   * CreateSnapshot, DeleteSnapshot, ListSnapshots, GetSnapshot and CreateVolume from a snapshot: needs
   * {@link VolumeBackend#snapshot}, {@link VolumeBackend#deleteSnapshot}, {@link VolumeBackend#listSnapshots} and
   * {@link VolumeBackend#clone} from a snapshot.
   */
  SNAPSHOTS,
  /** CreateVolume from a volume (a copy-on-write clone of a live subvolume): {@link VolumeBackend#clone}. */
  CLONES,
  /** ControllerExpandVolume (online, no node step): {@link VolumeBackend#resize}. */
  EXPAND,
  /**
   * The GroupController service: {@link VolumeBackend#groupSnapshot}, {@link VolumeBackend#getGroupSnapshot},
   * {@link VolumeBackend#deleteGroupSnapshot}, atomic across subvolumes.
   */
  GROUP_SNAPSHOTS;

  /** UNIMPLEMENTED unless the backend has the feature: an RPC that needs it is not offered without it. */
  public static void require(Set<Feature> have, Feature f, String rpc) throws CsiError.Unimplemented {
    if (!have.contains(f)) {
      throw new CsiError.Unimplemented(rpc + " is not offered: it needs " + f + " in the metadata service, which "
          + "this build does not have");
    }
  }
}
