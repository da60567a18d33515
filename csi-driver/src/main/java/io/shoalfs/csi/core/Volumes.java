package io.shoalfs.csi.core;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.Subvolume;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The controller's domain: a CSI volume is one subvolume of the metadata service. Every operation here is
 * idempotent, because the CO retries any call whose answer it did not see.
 */
public final class Volumes {
  private static final Logger LOG = LoggerFactory.getLogger(Volumes.class);
  /** Capacity when the CO gives no range: small enough for a laptop, and the quota can grow later. */
  public static final long DEFAULT_CAPACITY = 1L << 30;

  private final MetaClient meta;

  /** A provisioned volume as the controller reports it. */
  public record Volume(VolumeId id, long capacityBytes) {}

  public Volumes(MetaClient meta) {
    this.meta = meta;
  }

  /**
   * The capacity to provision for a range: required, else limit, else the default. 0 means unset (as in CSI).
   */
  public static long capacityFor(long requiredBytes, long limitBytes) throws CsiError {
    if (requiredBytes < 0 || limitBytes < 0) {
      throw new CsiError.InvalidArgument("capacity_range must not be negative");
    }
    if (limitBytes > 0 && requiredBytes > limitBytes) {
      throw new CsiError.OutOfRange("required_bytes " + requiredBytes + " exceeds limit_bytes " + limitBytes);
    }
    if (requiredBytes > 0) {
      return requiredBytes;
    }
    return limitBytes > 0 ? limitBytes : DEFAULT_CAPACITY;
  }

  /**
   * Creates the subvolume for a CO volume name, or returns the existing one if its capacity fits the range.
   * Same name with an incompatible capacity is {@link CsiError.AlreadyExists}, as the spec requires.
   */
  public Volume create(String csiName, long requiredBytes, long limitBytes) throws CsiError {
    long capacity = capacityFor(requiredBytes, limitBytes);
    VolumeId id = VolumeId.forName(csiName);
    Subvolume existing = find(id);
    if (existing == null) {
      try {
        Subvolume made = meta.createSubvolume(id.subvolume(), capacity);
        LOG.info("created subvolume {} ({} bytes) for volume {}", id.subvolume(), made.getCapacityBytes(), csiName);
        return new Volume(id, made.getCapacityBytes());
      } catch (MetaException e) {
        if (e.code() != Code.EEXIST) {
          throw MetaErrors.toCsi("create subvolume " + id.subvolume(), e);
        }
        // Lost a race with another controller replica or a retried call: judge what is there now.
        existing = find(id);
        if (existing == null) {
          throw new CsiError.Unavailable("subvolume " + id.subvolume() + " exists and vanished; retry", e);
        }
      }
    }
    long have = existing.getCapacityBytes();
    boolean fits = (requiredBytes == 0 || have >= requiredBytes) && (limitBytes == 0 || have <= limitBytes);
    if (!fits) {
      throw new CsiError.AlreadyExists("volume " + csiName + " exists with capacity " + have
          + " bytes, outside the requested range [" + requiredBytes + ", " + limitBytes + "]");
    }
    return new Volume(id, have);
  }

  /** Deletes the volume; a volume that is already gone (or never was ours) is a success. */
  public void delete(String volumeId) throws CsiError {
    VolumeId id = VolumeId.parse(volumeId).orElse(null);
    if (id == null) {
      LOG.info("delete of {}: not a Shoal volume id, so nothing exists to delete", volumeId);
      return;
    }
    try {
      meta.deleteSubvolume(id.subvolume());
      LOG.info("deleted subvolume {}", id.subvolume());
    } catch (MetaException e) {
      if (e.code() == Code.ENOENT) {
        LOG.info("delete of {}: already gone", id);
        return;
      }
      throw MetaErrors.toCsi("delete subvolume " + id.subvolume(), e);
    }
  }

  /** The volume's current state; {@link CsiError.NotFound} if it does not exist. */
  public Volume get(String volumeId) throws CsiError {
    VolumeId id = VolumeId.parse(volumeId)
        .orElseThrow(() -> new CsiError.NotFound("no volume " + volumeId + " (not a Shoal volume id)"));
    Subvolume s = find(id);
    if (s == null) {
      throw new CsiError.NotFound("no volume " + volumeId);
    }
    return new Volume(id, s.getCapacityBytes());
  }

  private Subvolume find(VolumeId id) throws CsiError {
    try {
      return meta.getSubvolume(id.subvolume());
    } catch (MetaException e) {
      if (e.code() == Code.ENOENT) {
        return null;
      }
      throw MetaErrors.toCsi("look up subvolume " + id.subvolume(), e);
    }
  }
}
