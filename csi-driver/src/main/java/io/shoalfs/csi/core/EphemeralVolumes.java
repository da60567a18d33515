package io.shoalfs.csi.core;

import io.shoalfs.common.Sizes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CSI inline ephemeral volumes: a volume that lives as long as one pod. kubelet calls only NodePublishVolume
 * (with {@code csi.storage.k8s.io/ephemeral: "true"} in the volume context) and NodeUnpublishVolume; the node
 * plugin does the rest itself: publish creates a subvolume for the pod (its byte quota from the {@code size}
 * attribute, else the configured default), mounts it at a staging path of its own and binds it at the target;
 * unpublish undoes all three.
 *
 * <p>Crash-safe by a record written before anything else (state dir {@code ephemeral/}): a plugin killed in the
 * middle of a publish, or between publish and unpublish, finds the record after its restart. Unpublish tears down
 * whatever the record names; at start the plugin tears down every publish that never finished (kubelet retries
 * the publish, which starts again from nothing). A publish that fails tears down what it made before it answers,
 * so a failed publish leaves no subvolume, mount, process or record behind.
 */
public final class EphemeralVolumes {
  private static final Logger LOG = LoggerFactory.getLogger(EphemeralVolumes.class);
  /** The volume context key kubelet sets for an inline ephemeral volume. */
  public static final String EPHEMERAL = "csi.storage.k8s.io/ephemeral";
  /** The one attribute a pod author may set: the volume's byte quota ({@code 512Mi}, {@code 2Gi}, ...). */
  public static final String SIZE = "size";
  /** Keys kubelet itself adds (pod name, namespace, uid, service account, ephemeral). */
  private static final String KUBELET_PREFIX = "csi.storage.k8s.io/";
  /** Subvolumes of ephemeral volumes are named {@code eph-} and kubelet's volume id (hashed if unsafe). */
  static final String NAME_PREFIX = "eph-";
  /** A mount ended a moment ago may hold its session (5 s lease) and so block the subvolume's deletion. */
  private static final Duration DELETE_PATIENCE = Duration.ofSeconds(15);
  private static final Duration RECOVERY_RETRY = Duration.ofSeconds(2);

  private final NodeVolumes node;
  private final Volumes volumes;
  private final Path dir;
  private final long defaultSize;

  /**
   * One ephemeral volume as the plugin keeps it.
   *
   * @param volumeId kubelet's volume id (the pod's volume handle)
   * @param subvolume the subvolume made for it
   * @param target where kubelet asked for it
   * @param published true once the publish finished; false while (or if it never did)
   */
  record Record(String volumeId, String subvolume, Path target, boolean published) {}

  /**
   * @param stateDir the node plugin's state directory ({@code ephemeral/} holds the records and staging paths)
   * @param defaultSize the byte quota of a volume whose attributes give no {@code size}
   */
  public EphemeralVolumes(NodeVolumes node, Volumes volumes, Path stateDir, long defaultSize) {
    this.node = node;
    this.volumes = volumes;
    this.dir = stateDir.resolve("ephemeral");
    this.defaultSize = defaultSize;
  }

  public static boolean isEphemeral(Map<String, String> volumeContext) {
    return "true".equalsIgnoreCase(volumeContext.getOrDefault(EPHEMERAL, "").trim());
  }

  /** True if this plugin made an ephemeral volume of this id (so unpublish must tear it down). */
  public boolean knows(String volumeId) throws CsiError.Internal {
    return load(volumeId).isPresent();
  }

  /** The Shoal volume id behind kubelet's id of an ephemeral volume, for NodeGetVolumeStats. */
  public Optional<String> shoalVolumeId(String volumeId) throws CsiError.Internal {
    return load(volumeId).map(r -> new VolumeId(r.subvolume()).encode());
  }

  /**
   * The byte quota a pod's attributes ask for. Only {@code size} is the pod author's; every other key (but
   * kubelet's own) is an administrator's setting, for a StorageClass, and is refused naming it.
   */
  public long sizeFrom(Map<String, String> attributes) throws CsiError.InvalidArgument {
    for (String key : new TreeSet<>(attributes.keySet())) {
      if (!key.equals(SIZE) && !key.startsWith(KUBELET_PREFIX)) {
        throw new CsiError.InvalidArgument("volume attribute '" + key + "' may not be set on an inline ephemeral "
            + "volume: a pod may set only '" + SIZE + "'; replication and the like are an administrator's, set in "
            + "a StorageClass (use a PVC or a generic ephemeral volume for them)");
      }
    }
    String size = attributes.get(SIZE);
    if (size == null) {
      return defaultSize;
    }
    long bytes;
    try {
      bytes = Sizes.parse(size);
    } catch (IllegalArgumentException e) {
      throw new CsiError.InvalidArgument("volume attribute '" + SIZE + "': " + e.getMessage());
    }
    if (bytes <= 0) {
      throw new CsiError.InvalidArgument("volume attribute '" + SIZE + "' must be positive, got '" + size + "'");
    }
    return bytes;
  }

  /**
   * Creates, mounts and publishes the pod's volume. Idempotent: a repeated call for the same volume and target
   * finds the work done. On any failure everything it made is torn down before the error is returned.
   */
  public void publish(String volumeId, Path targetPath, boolean readOnly, Map<String, String> attributes)
      throws CsiError {
    long size = sizeFrom(attributes);
    Path target = Mounter.normalize(targetPath);
    Optional<Record> existing = load(volumeId);
    if (existing.isPresent() && !existing.get().target().equals(target)) {
      throw new CsiError.AlreadyExists("ephemeral volume " + volumeId + " is already published at "
          + existing.get().target() + ", not " + target);
    }
    Record rec = existing.orElseGet(() -> new Record(volumeId, subvolumeFor(volumeId), target, false));
    if (existing.isEmpty()) {
      save(rec); // before anything exists: a crash from here on leaves a record that names what to clean
    }
    String shoalId = new VolumeId(rec.subvolume()).encode();
    try {
      volumes.create(NAME_PREFIX + volumeId, size, 0);
      node.stage(shoalId, staging(rec));
      node.publish(shoalId, staging(rec), target, readOnly);
      if (!rec.published()) {
        save(new Record(rec.volumeId(), rec.subvolume(), rec.target(), true));
      }
      LOG.info("published ephemeral volume {} (subvolume {}, {} bytes) at {}", volumeId, rec.subvolume(), size,
          target);
    } catch (CsiError e) {
      if (rec.published()) {
        throw e; // a repeated publish of a live pod's volume failed: the volume and its data stay
      }
      LOG.warn("publish of ephemeral volume {} failed ({}); tearing down what it made", volumeId, e.getMessage());
      try {
        tearDown(rec);
      } catch (CsiError cleanup) {
        e.addSuppressed(cleanup);
        LOG.warn("tear-down of ephemeral volume {} failed too; its record stays for the next unpublish or start: {}",
            volumeId, cleanup.getMessage());
      }
      throw e;
    }
  }

  /** The subvolume of kubelet's volume id: deterministic, so a retried publish finds the one it made. */
  static String subvolumeFor(String volumeId) {
    return VolumeId.forName(NAME_PREFIX + volumeId).subvolume();
  }

  /** Unpublishes, unmounts and deletes the pod's volume, and forgets it. */
  public void unpublish(String volumeId, Path targetPath) throws CsiError {
    Optional<Record> rec = load(volumeId);
    if (rec.isEmpty()) {
      node.unpublish(volumeId, targetPath);
      return;
    }
    if (!rec.get().target().equals(Mounter.normalize(targetPath))) {
      node.unpublish(volumeId, targetPath); // a stray target of the same id: unmount it, keep the volume
      return;
    }
    tearDown(rec.get());
    LOG.info("unpublished and deleted ephemeral volume {} (subvolume {})", volumeId, rec.get().subvolume());
  }

  /**
   * At plugin start: tears down every publish that never finished (the plugin died in the middle of it; kubelet
   * sees an error and retries from nothing). Finished ones wait for their unpublish. Returns those it could not
   * tear down yet (the metadata service unreachable, a mount process still ending, a retried publish holding the
   * lock).
   */
  public List<String> recover(VolumeLocks locks) {
    List<String> left = new ArrayList<>();
    for (Record rec : list()) {
      if (rec.published()) {
        continue;
      }
      try (var lock = locks.acquire(rec.volumeId())) {
        LOG.info("ephemeral volume {}: its publish never finished (plugin restarted); tearing it down",
            rec.volumeId());
        tearDown(rec);
      } catch (CsiError e) {
        left.add(rec.volumeId());
        LOG.warn("tear-down of unfinished ephemeral volume {} failed; retried in {}: {}", rec.volumeId(),
            RECOVERY_RETRY, e.getMessage());
      }
    }
    return left;
  }

  /** {@link #recover} until nothing unfinished is left: at plugin start, on a thread of its own. */
  public void recoverUntilDone(VolumeLocks locks) {
    while (!recover(locks).isEmpty()) {
      try {
        Thread.sleep(RECOVERY_RETRY.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * Undoes a publish: unbinds the target, unmounts the staging path (ending its mount process), deletes the
   * subvolume, then forgets the volume. Every step is tried even when one before failed; the record goes only
   * when all succeeded, so a failed tear-down is retried by the next unpublish or plugin start.
   */
  private void tearDown(Record rec) throws CsiError {
    String shoalId = new VolumeId(rec.subvolume()).encode();
    Path staging = staging(rec);
    List<CsiError> failures = new ArrayList<>();
    List<Step> steps = List.of(() -> node.unpublish(shoalId, rec.target()), () -> node.unstage(shoalId, staging),
        () -> deleteSubvolume(shoalId));
    for (Step step : steps) {
      try {
        step.run();
      } catch (CsiError e) {
        failures.add(e);
      }
    }
    if (!failures.isEmpty()) {
      CsiError first = failures.get(0);
      failures.subList(1, failures.size()).forEach(first::addSuppressed);
      throw first;
    }
    try {
      if (Files.exists(staging.getParent())) {
        try (Stream<Path> walk = Files.walk(staging.getParent())) {
          for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
            Files.deleteIfExists(p);
          }
        }
      }
      Files.deleteIfExists(file(rec.volumeId()));
    } catch (IOException e) {
      throw new CsiError.Internal("cannot remove the state of ephemeral volume " + rec.volumeId() + ": "
          + e.getMessage(), e);
    }
  }

  private interface Step {
    void run() throws CsiError;
  }

  private void deleteSubvolume(String shoalId) throws CsiError {
    long deadline = System.nanoTime() + DELETE_PATIENCE.toNanos();
    while (true) {
      try {
        volumes.delete(shoalId);
        return;
      } catch (CsiError.FailedPrecondition busy) {
        // The mount just ended; its session goes when the metadata service sees it closed or its lease ends.
        if (System.nanoTime() > deadline) {
          throw busy;
        }
        try {
          Thread.sleep(250);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new CsiError.Internal("interrupted while deleting " + shoalId, e);
        }
      }
    }
  }

  /** The plugin's own staging path for the volume: nobody else mounts or unmounts there. */
  private Path staging(Record rec) {
    return dir.resolve(StateFiles.key(rec.volumeId())).resolve("mount");
  }

  private Path file(String volumeId) {
    return dir.resolve(StateFiles.key(volumeId) + ".properties");
  }

  private Optional<Record> load(String volumeId) throws CsiError.Internal {
    return StateFiles.load(file(volumeId), EphemeralVolumes::parse, "ephemeral volume record");
  }

  List<Record> list() {
    List<Record> out = new ArrayList<>();
    try {
      for (Path f : StateFiles.list(dir)) {
        try {
          out.add(parse(StateFiles.read(f)));
        } catch (IOException | RuntimeException e) {
          LOG.warn("skipping unreadable ephemeral volume record {}: {}", f, e.getMessage());
        }
      }
    } catch (IOException e) {
      LOG.warn("cannot list ephemeral volume records in {}: {}", dir, e.getMessage());
    }
    return out;
  }

  private static Record parse(Properties p) {
    return new Record(p.getProperty("volume_id"), p.getProperty("subvolume"), Path.of(p.getProperty("target")),
        Boolean.parseBoolean(p.getProperty("published")));
  }

  private void save(Record rec) throws CsiError.Internal {
    Properties p = new Properties();
    p.setProperty("volume_id", rec.volumeId());
    p.setProperty("subvolume", rec.subvolume());
    p.setProperty("target", rec.target().toString());
    p.setProperty("published", Boolean.toString(rec.published()));
    try {
      StateFiles.write(file(rec.volumeId()), p, "Shoal CSI inline ephemeral volume " + rec.volumeId());
    } catch (IOException e) {
      throw new CsiError.Internal("cannot write the record of ephemeral volume " + rec.volumeId() + ": "
          + e.getMessage(), e);
    }
  }
}
