package io.shoalfs.csi.core;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.csi.core.VolumeBackend.CloneSource;
import io.shoalfs.csi.core.VolumeBackend.SnapshotInfo;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.Subvolume;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
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
  /**
   * Parameters ControllerModifyVolume (and CreateVolume's mutable_parameters) may change on a live volume. None
   * yet: the byte quota changes through ControllerExpandVolume, and the inode quota (resize_subvolume can set
   * it live) is the first candidate. Any other key is INVALID_ARGUMENT naming it.
   */
  public static final Set<String> MUTABLE_PARAMETERS = Set.of();

  private final MetaClient meta;
  private final VolumeBackend backend;

  /** A provisioned volume as the controller reports it. */
  public record Volume(VolumeId id, long capacityBytes) {}

  /**
   * A volume with its live usage, as ControllerGetVolume and ListVolumes report it.
   *
   * @param abnormal true when the metadata service's figures show a problem (usage above the quota)
   * @param message what a human reads in the volume condition
   */
  public record Health(Volume volume, long usedBytes, long usedInodes, boolean abnormal, String message) {}

  /** Where CreateVolume copies a new volume's content from. */
  public sealed interface ContentSource {
    /** A snapshot (a restore). */
    record FromSnapshot(String snapshotId) implements ContentSource {}

    /** A live volume (a clone). */
    record FromVolume(String volumeId) implements ContentSource {}
  }

  public Volumes(MetaClient meta, VolumeBackend backend) {
    this.meta = meta;
    this.backend = backend;
  }

  /**
   * The capacity to provision for a range: required, else limit, else the default. 0 means unset (as in CSI).
   */
  public static long capacityFor(long requiredBytes, long limitBytes) throws CsiError {
    checkRange(requiredBytes, limitBytes);
    if (requiredBytes > 0) {
      return requiredBytes;
    }
    return limitBytes > 0 ? limitBytes : DEFAULT_CAPACITY;
  }

  static void checkRange(long requiredBytes, long limitBytes) throws CsiError {
    if (requiredBytes < 0 || limitBytes < 0) {
      throw new CsiError.InvalidArgument("capacity_range must not be negative");
    }
    if (limitBytes > 0 && requiredBytes > limitBytes) {
      throw new CsiError.OutOfRange("required_bytes " + requiredBytes + " exceeds limit_bytes " + limitBytes);
    }
  }

  /** Refuses every mutable parameter this driver cannot change live, naming the first one. */
  public static void checkMutable(Map<String, String> params) throws CsiError.InvalidArgument {
    for (String key : new TreeSet<>(params.keySet())) {
      if (!MUTABLE_PARAMETERS.contains(key)) {
        throw new CsiError.InvalidArgument("mutable parameter '" + key + "' is not supported: "
            + (MUTABLE_PARAMETERS.isEmpty() ? "no Shoal volume parameter can change live yet"
                : "the ones that can change live are " + new TreeSet<>(MUTABLE_PARAMETERS)));
      }
    }
  }

  /**
   * Creates the subvolume for a CO volume name, or returns the existing one if its capacity fits the range.
   * Same name with an incompatible capacity is {@link CsiError.AlreadyExists}, as the spec requires.
   */
  public Volume create(String csiName, long requiredBytes, long limitBytes) throws CsiError {
    return create(csiName, requiredBytes, limitBytes, 0);
  }

  /** The StorageClass parameter naming the copies of each chunk (1, 2 or 3). */
  public static final String REPLICATION = "replication";

  /**
   * The replication CreateVolume's parameters ask for: 1, 2 or 3, or 0 when they do not say (the cluster's
   * default). Anything else is INVALID_ARGUMENT naming the parameter (a typo must not give one copy).
   */
  public static int replication(Map<String, String> parameters) throws CsiError {
    String v = parameters.get(REPLICATION);
    if (v == null || v.isBlank()) {
      return 0;
    }
    return switch (v.trim()) {
      case "1" -> 1;
      case "2" -> 2;
      case "3" -> 3;
      default -> throw new CsiError.InvalidArgument("parameter '" + REPLICATION + "' must be 1, 2 or 3 (copies of "
          + "each chunk), got '" + v + "'");
    };
  }

  /**
   * {@link #create(String, long, long)} with {@code replication} copies of each chunk (0: the cluster's default).
   * A volume of that name with another replication is {@link CsiError.AlreadyExists}.
   */
  public Volume create(String csiName, long requiredBytes, long limitBytes, int replication) throws CsiError {
    long capacity = capacityFor(requiredBytes, limitBytes);
    VolumeId id = VolumeId.forName(csiName);
    Subvolume existing = find(id);
    if (existing == null) {
      try {
        Subvolume made = meta.createSubvolume(id.subvolume(), capacity, 0, replication);
        LOG.info("created subvolume {} ({} bytes, replication {}) for volume {}", id.subvolume(),
            made.getCapacityBytes(), replication == 0 ? "default" : replication, csiName);
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
    if (existing.getReplication() != replication) {
      throw new CsiError.AlreadyExists("volume " + csiName + " exists with replication "
          + replicationName(existing.getReplication()) + ", not " + replicationName(replication));
    }
    if (clonesExist()) {
      Optional<CloneSource> origin = backend.origin(id.subvolume());
      if (origin.isPresent()) {
        throw new CsiError.AlreadyExists("volume " + csiName + " exists as a clone of " + describe(origin.get())
            + ", not as an empty volume");
      }
    }
    return fitting(csiName, new Volume(id, existing.getCapacityBytes()), requiredBytes, limitBytes);
  }

  private static String replicationName(int r) {
    return r == 0 ? "the cluster's default" : Integer.toString(r);
  }

  /** Only a backend that can clone has clones to tell apart (and the call to ask about them). */
  private boolean clonesExist() {
    Set<Feature> f = backend.features();
    return f.contains(Feature.SNAPSHOTS) || f.contains(Feature.CLONES);
  }

  private static String describe(CloneSource s) {
    return s.snapshot().map(n -> SnapshotId.of(s.subvolume(), n).map(SnapshotId::encode)
        .orElse("snapshot " + n + " of subvolume " + s.subvolume())).orElse("subvolume " + s.subvolume());
  }

  private static Volume fitting(String csiName, Volume v, long requiredBytes, long limitBytes) throws CsiError {
    long have = v.capacityBytes();
    boolean fits = (requiredBytes == 0 || have >= requiredBytes) && (limitBytes == 0 || have <= limitBytes);
    if (!fits) {
      throw new CsiError.AlreadyExists("volume " + csiName + " exists with capacity " + have
          + " bytes, outside the requested range [" + requiredBytes + ", " + limitBytes + "]");
    }
    return v;
  }

  /**
   * Creates a volume as a copy-on-write clone of a snapshot or of another volume, ready at once. Without a
   * capacity range it gets the source's size; a range whose limit is below the source's size is OUT_OF_RANGE (the
   * data might not fit). A source this build cannot clone is INVALID_ARGUMENT, the spec's code for an unsupported
   * source; a source that does not exist is NOT_FOUND.
   */
  public Volume createFrom(String csiName, long requiredBytes, long limitBytes, ContentSource source)
      throws CsiError {
    checkRange(requiredBytes, limitBytes);
    VolumeId target = VolumeId.forName(csiName);
    CloneSource from;
    long minimum;
    switch (source) {
      case ContentSource.FromSnapshot s -> {
        if (!backend.features().contains(Feature.SNAPSHOTS)) {
          throw new CsiError.InvalidArgument("volume_content_source.snapshot is not supported: this build's "
              + "metadata service has no snapshots");
        }
        SnapshotInfo snap = Snapshots.find(backend, s.snapshotId())
            .orElseThrow(() -> new CsiError.NotFound("source snapshot " + s.snapshotId() + " does not exist"));
        from = new CloneSource(snap.subvolume(), Optional.of(snap.name()));
        minimum = snap.sizeBytes();
      }
      case ContentSource.FromVolume v -> {
        if (!backend.features().contains(Feature.CLONES)) {
          throw new CsiError.InvalidArgument("volume_content_source.volume is not supported: this build's "
              + "metadata service has no clones");
        }
        Volume src;
        try {
          src = get(v.volumeId());
        } catch (CsiError.NotFound e) {
          throw new CsiError.NotFound("source volume " + v.volumeId() + " does not exist");
        }
        from = new CloneSource(src.id().subvolume(), Optional.empty());
        minimum = src.capacityBytes();
      }
    }
    if (limitBytes > 0 && limitBytes < minimum) {
      throw new CsiError.OutOfRange("limit_bytes " + limitBytes + " is below the source's size " + minimum);
    }
    long capacity = Math.max(minimum, requiredBytes);
    if (capacity == 0) {
      capacity = limitBytes > 0 ? limitBytes : DEFAULT_CAPACITY;
    }
    long made = backend.clone(from, target.subvolume(), capacity);
    LOG.info("volume {}: subvolume {} cloned from {}{} ({} bytes)", csiName, target.subvolume(), from.subvolume(),
        from.snapshot().map(n -> "@" + n).orElse(""), made);
    return fitting(csiName, new Volume(target, made), requiredBytes, limitBytes);
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
    return new Volume(parse(volumeId), require(volumeId).getCapacityBytes());
  }

  /** The volume with its usage from the metadata service (ControllerGetVolume). */
  public Health health(String volumeId) throws CsiError {
    Subvolume s = require(volumeId);
    Health h = health(s);
    if (h == null) {
      throw new CsiError.NotFound("no volume " + volumeId);
    }
    return h;
  }

  /**
   * One page of volumes in subvolume-name order, each with its usage (ListVolumes). Subvolumes whose names
   * cannot be volume ids are not volumes and are left out.
   */
  public Pages.Page<Health> list(int maxEntries, String token) throws CsiError {
    Pages.check(maxEntries, token, VolumeId::isVolumeName);
    List<Subvolume> all;
    try {
      all = new ArrayList<>(meta.listSubvolumes());
    } catch (MetaException e) {
      throw MetaErrors.toCsi("list subvolumes", e);
    }
    all.removeIf(s -> !VolumeId.isVolumeName(s.getName()));
    all.sort(Comparator.comparing(Subvolume::getName));
    Pages.Page<Subvolume> page = Pages.page(all, Subvolume::getName, maxEntries, token, VolumeId::isVolumeName);
    List<Health> out = new ArrayList<>(page.items().size());
    for (Subvolume s : page.items()) {
      Health h = health(s);
      if (h != null) {
        out.add(h);
      }
    }
    return new Pages.Page<>(out, page.nextToken());
  }

  /**
   * Bytes the pool can still store (GetCapacity): the cluster's capacity as the metadata service reports it for
   * the root volume, less what every volume (the root one and each subvolume) uses. Quotas are thin: a volume's
   * quota is a ceiling, not a reservation, so only usage is subtracted.
   */
  public long availableCapacity() throws CsiError {
    try {
      StatFsReply root = meta.statFs(Layout.ROOT_INO);
      long used = root.getUsedBytes();
      for (Subvolume s : meta.listSubvolumes()) {
        try {
          used += meta.statFs(s.getRootIno()).getUsedBytes();
        } catch (MetaException e) {
          if (e.code() != Code.ENOENT) {
            throw e;
          }
          // Deleted since the listing: it uses nothing any more.
        }
      }
      return Math.max(0, root.getCapacityBytes() - used);
    } catch (MetaException e) {
      throw MetaErrors.toCsi("read the cluster's capacity", e);
    }
  }

  /**
   * Raises the volume's quota to the range (ControllerExpandVolume). A volume already at least as large as
   * required is returned unchanged, as the spec asks.
   */
  public Volume expand(String volumeId, long requiredBytes, long limitBytes) throws CsiError {
    if (requiredBytes == 0 && limitBytes == 0) {
      throw new CsiError.InvalidArgument("capacity_range is required");
    }
    checkRange(requiredBytes, limitBytes);
    Volume v = get(volumeId);
    long target = requiredBytes > 0 ? requiredBytes : limitBytes;
    if (v.capacityBytes() >= target) {
      LOG.info("expand {} to {}: already {} bytes", volumeId, target, v.capacityBytes());
      return v;
    }
    long now = backend.resize(v.id().subvolume(), target);
    LOG.info("expanded {} from {} to {} bytes", volumeId, v.capacityBytes(), now);
    return new Volume(v.id(), now);
  }

  /** ControllerModifyVolume: validates the parameters (none can change live yet) and that the volume exists. */
  public void modify(String volumeId, Map<String, String> mutableParameters) throws CsiError {
    checkMutable(mutableParameters);
    get(volumeId);
  }

  /** The usage of a subvolume; null if it was deleted meanwhile. */
  private Health health(Subvolume s) throws CsiError {
    StatFsReply f;
    try {
      f = meta.statFs(s.getRootIno());
    } catch (MetaException e) {
      if (e.code() == Code.ENOENT) {
        return null;
      }
      throw MetaErrors.toCsi("read the usage of subvolume " + s.getName(), e);
    }
    long cap = s.getCapacityBytes();
    boolean over = cap > 0 && f.getUsedBytes() > cap;
    String msg = over
        ? "usage " + f.getUsedBytes() + " bytes exceeds the volume's capacity " + cap + " bytes"
        : f.getUsedBytes() + " of " + f.getCapacityBytes() + " bytes and " + f.getInodesUsed() + " of "
            + f.getInodesCapacity() + " inodes used";
    return new Health(new Volume(new VolumeId(s.getName()), cap), f.getUsedBytes(), f.getInodesUsed(), over, msg);
  }

  private static VolumeId parse(String volumeId) throws CsiError.NotFound {
    return VolumeId.parse(volumeId)
        .orElseThrow(() -> new CsiError.NotFound("no volume " + volumeId + " (not a Shoal volume id)"));
  }

  private Subvolume require(String volumeId) throws CsiError {
    Subvolume s = find(parse(volumeId));
    if (s == null) {
      throw new CsiError.NotFound("no volume " + volumeId);
    }
    return s;
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
