package io.shoalfs.csi.core;

import io.shoalfs.common.mount.MountInfo;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's domain. Staging mounts the volume's subvolume with FUSE (a separate, long-lived process) at the
 * staging path; publishing bind-mounts the staging path into each pod's target path. Everything is idempotent:
 * a repeated call finds the work done and succeeds, and undoing what is already gone succeeds.
 */
public final class NodeVolumes {
  private static final Logger LOG = LoggerFactory.getLogger(NodeVolumes.class);
  private static final Duration POLL = Duration.ofMillis(100);
  /** A cleanly unmounted FUSE process exits at once; this bound only matters for a stuck one. */
  private static final Duration STOP_GRACE = Duration.ofSeconds(5);
  /** Stacked mounts at one target (a retried publish racing an old one) are peeled off at most this often. */
  private static final int MAX_STACKED_UNMOUNTS = 8;

  private final Volumes volumes;
  private final Mounter mounter;
  private final MountProcesses processes;
  private final MountRecords records;
  private final Duration readyTimeout;
  private final MountStats stats;

  /**
   * What NodeGetVolumeStats reports.
   *
   * @param usage the mount's statfs figures, if it answered
   * @param abnormal true when the mount is broken: its process died, or statfs failed or hung
   * @param message the volume condition's message
   */
  public record Stats(Optional<MountStats.StatFs> usage, boolean abnormal, String message) {}

  private record Located(Path path, MountRecords.Record record) {}

  /**
   * @param volumes to check that a volume exists before a mount process is started for it
   * @param readyTimeout how long a new mount may take to serve requests before staging fails
   */
  public NodeVolumes(Volumes volumes, Mounter mounter, MountProcesses processes, MountRecords records,
      Duration readyTimeout, MountStats stats) {
    this.volumes = volumes;
    this.mounter = mounter;
    this.processes = processes;
    this.records = records;
    this.readyTimeout = readyTimeout;
    this.stats = stats;
  }

  /**
   * Usage and condition of a staged or published volume (NodeGetVolumeStats). Never asks the metadata service
   * and never touches the mount except through {@link MountStats}, so it answers within the stats timeout even
   * when the mount or the metadata service hangs: a broken mount is an abnormal condition, not an error.
   *
   */
  public Stats stats(String volumeId, Path volumePath) throws CsiError {
    Located l = locate(volumeId, volumePath);
    MountRecords.Record rec = l.record();
    if (MountProcesses.find(rec.pid(), rec.startMillis()).isEmpty()) {
      return new Stats(Optional.empty(), true, "the mount process (pid " + rec.pid() + ") serving " + volumeId
          + " at " + rec.stagingPath() + " is not running: the mount is dead; staging the volume again remounts it");
    }
    return switch (stats.statfs(l.path())) {
      case MountStats.Result.Ok ok -> new Stats(Optional.of(ok.stats()), false, "mounted at " + rec.stagingPath()
          + " by mount process " + rec.pid() + "; statfs answers");
      case MountStats.Result.Failed f -> new Stats(Optional.empty(), true, f.reason());
    };
  }

  /**
   * NodeExpandVolume: nothing to do on the node (the quota is the metadata service's, and every mount sees a
   * new one at once), so this checks that the volume is mounted at the path and reports its capacity. A
   * required size above the capacity is OUT_OF_RANGE: only ControllerExpandVolume can raise it.
   */
  public long expand(String volumeId, Path volumePath, long requiredBytes, long limitBytes) throws CsiError {
    Volumes.checkRange(requiredBytes, limitBytes);
    locate(volumeId, volumePath);
    long capacity = volumes.get(volumeId).capacityBytes();
    if (requiredBytes > capacity) {
      throw new CsiError.OutOfRange("volume " + volumeId + " has " + capacity + " bytes, less than the required "
          + requiredBytes + ": ControllerExpandVolume raises the quota, the node has nothing to expand");
    }
    return capacity;
  }

  /**
   * The mount record of the volume mounted at a path, which is its staging path or a publish target (a bind
   * mount of it: same device). NOT_FOUND when nothing of ours holds that volume there.
   */
  private Located locate(String volumeId, Path volumePath) throws CsiError {
    VolumeId.parse(volumeId)
        .orElseThrow(() -> new CsiError.NotFound("no volume " + volumeId + " (not a Shoal volume id)"));
    Path path = Mounter.normalizeParent(volumePath);
    MountInfo m = mounter.atWithoutTouching(path)
        .orElseThrow(() -> new CsiError.NotFound("volume " + volumeId + " is not mounted at " + path));
    if (!m.isFuse()) {
      throw new CsiError.NotFound(path + " has a " + m.fsType() + " mount, not a Shoal volume");
    }
    for (MountRecords.Record rec : records.list()) {
      Optional<MountInfo> staged = mounter.atWithoutTouching(rec.stagingPath());
      if (staged.isPresent() && staged.get().device().equals(m.device())) {
        if (!rec.volumeId().equals(volumeId)) {
          throw new CsiError.NotFound(path + " holds volume " + rec.volumeId() + ", not " + volumeId);
        }
        return new Located(path, rec);
      }
    }
    throw new CsiError.NotFound(path + " has a FUSE mount that this node plugin did not stage");
  }

  /** Mounts the volume at the staging path, unless our healthy mount of it is already there. */
  public void stage(String volumeId, Path stagingPath) throws CsiError {
    VolumeId id = VolumeId.parse(volumeId)
        .orElseThrow(() -> new CsiError.NotFound("no volume " + volumeId + " (not a Shoal volume id)"));
    Path staging = Mounter.normalize(stagingPath);
    Optional<MountInfo> current = mounter.at(staging);
    Optional<MountRecords.Record> rec = records.load(staging);
    if (current.isPresent()) {
      MountInfo m = current.get();
      if (!m.isFuse() || rec.isEmpty()) {
        throw new CsiError.AlreadyExists(staging + " already has a " + m.fsType() + " mount not made by this driver");
      }
      if (!rec.get().volumeId().equals(volumeId)) {
        throw new CsiError.AlreadyExists(staging + " already stages volume " + rec.get().volumeId());
      }
      // The process is checked first: for up to the attribute timeout after its FUSE server died, a stat of the
      // mount's root is answered from the kernel's cache and looks healthy.
      if (MountProcesses.find(rec.get().pid(), rec.get().startMillis()).isPresent() && serves(staging)) {
        LOG.info("stage {} at {}: already mounted", volumeId, staging);
        return;
      }
      // Our mount, but its process died: clear the dead mount and mount again (decision 8's recovery).
      LOG.warn("stage {} at {}: mount is dead, remounting", volumeId, staging);
      mounter.unmountLazy(staging);
      stopProcess(rec.get());
    } else if (rec.isPresent()) {
      stopProcess(rec.get());
    }
    // NOT_FOUND from the spec for a volume that does not exist, rather than a failed mount process.
    volumes.get(volumeId);
    mount(volumeId, id, staging);
  }

  private void mount(String volumeId, VolumeId id, Path staging) throws CsiError {
    try {
      Files.createDirectories(staging);
    } catch (IOException e) {
      throw new CsiError.Internal("cannot create staging path " + staging + ": " + e.getMessage(), e);
    }
    Path log = records.logFile(staging);
    Process p = processes.start(id.subvolume(), staging, log);
    long start = p.toHandle().info().startInstant().map(java.time.Instant::toEpochMilli).orElse(0L);
    records.save(new MountRecords.Record(volumeId, staging, p.pid(), start));
    long deadline = System.nanoTime() + readyTimeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        String tail = MountProcesses.tail(log, 20);
        records.delete(staging);
        throw new CsiError.Internal("mount process for " + volumeId + " exited with " + p.exitValue() + " (log "
            + log + "): " + tail);
      }
      Optional<MountInfo> m = mounter.at(staging);
      if (m.isPresent() && m.get().isFuse() && serves(staging)) {
        LOG.info("staged {} at {} (mount process {})", volumeId, staging, p.pid());
        return;
      }
      sleep(POLL);
    }
    String tail = MountProcesses.tail(log, 20);
    MountProcesses.stop(p.toHandle(), STOP_GRACE);
    if (mounter.at(staging).isPresent()) {
      mounter.unmountLazy(staging);
    }
    records.delete(staging);
    throw new CsiError.Internal("mount of " + volumeId + " did not serve within " + readyTimeout + " (log " + log
        + "): " + tail);
  }

  /** Unmounts the staging path and ends its mount process. */
  public void unstage(String volumeId, Path stagingPath) throws CsiError {
    Path staging = Mounter.normalize(stagingPath);
    Optional<MountRecords.Record> rec = records.load(staging);
    Optional<MountInfo> m = mounter.at(staging);
    if (m.isPresent()) {
      if (!m.get().isFuse()) {
        throw new CsiError.FailedPrecondition(staging + " has a " + m.get().fsType() + " mount, not a Shoal one");
      }
      if (serves(staging)) {
        mounter.unmount(staging);
      } else {
        mounter.unmountLazy(staging);
      }
    }
    if (rec.isPresent()) {
      stopProcess(rec.get());
      records.deleteWithLog(staging);
    }
    LOG.info("unstaged {} from {}{}", volumeId, staging, m.isPresent() ? "" : " (was not mounted)");
  }

  /** Bind-mounts the staged volume at the target path (read-only if asked). */
  public void publish(String volumeId, Path stagingPath, Path targetPath, boolean readOnly) throws CsiError {
    Path staging = Mounter.normalize(stagingPath);
    Path target = Mounter.normalize(targetPath);
    MountInfo staged = mounter.at(staging).filter(MountInfo::isFuse).orElseThrow(
        () -> new CsiError.FailedPrecondition("volume " + volumeId + " is not staged at " + staging));
    Optional<MountInfo> existing = mounter.at(target);
    if (existing.isPresent()) {
      MountInfo t = existing.get();
      if (t.device().equals(staged.device()) && t.readOnly() == readOnly) {
        LOG.info("publish {} at {}: already published", volumeId, target);
        return;
      }
      throw new CsiError.AlreadyExists(target + " already has a different mount (" + t.fsType() + ", "
          + (t.readOnly() ? "ro" : "rw") + ")");
    }
    try {
      Files.createDirectories(target);
    } catch (IOException e) {
      throw new CsiError.Internal("cannot create target path " + target + ": " + e.getMessage(), e);
    }
    mounter.bind(staging, target);
    if (readOnly) {
      try {
        mounter.remountReadOnly(target);
      } catch (CsiError.Internal e) {
        // Never leave a writable mount where a read-only one was asked for.
        mounter.unmount(target);
        throw e;
      }
    }
    LOG.info("published {} at {} ({})", volumeId, target, readOnly ? "ro" : "rw");
  }

  /** Unmounts the target path and removes it. */
  public void unpublish(String volumeId, Path targetPath) throws CsiError {
    Path target = Mounter.normalize(targetPath);
    int unmounted = 0;
    while (mounter.at(target).isPresent()) {
      if (++unmounted > MAX_STACKED_UNMOUNTS) {
        throw new CsiError.Internal(target + " still mounted after " + MAX_STACKED_UNMOUNTS + " unmounts");
      }
      if (serves(target)) {
        mounter.unmount(target);
      } else {
        mounter.unmountLazy(target);
      }
    }
    try {
      // exists() is false where the path cannot be (a parent that is a file): nothing there to remove.
      if (Files.exists(target, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        Files.deleteIfExists(target);
      }
    } catch (DirectoryNotEmptyException e) {
      throw new CsiError.Internal(target + " is not empty after unmount; leaving it for inspection", e);
    } catch (IOException e) {
      throw new CsiError.Internal("cannot remove target path " + target + ": " + e.getMessage(), e);
    }
    LOG.info("unpublished {} from {}{}", volumeId, target, unmounted > 0 ? "" : " (was not mounted)");
  }

  /** True if the filesystem at the path answers a stat (a dead FUSE server gives ENOTCONN). */
  private static boolean serves(Path p) {
    try {
      Files.readAttributes(p, BasicFileAttributes.class);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static void stopProcess(MountRecords.Record rec) throws CsiError.Internal {
    Optional<ProcessHandle> h = MountProcesses.find(rec.pid(), rec.startMillis());
    if (h.isPresent() && !MountProcesses.stop(h.get(), STOP_GRACE)) {
      throw new CsiError.Internal("mount process " + rec.pid() + " for " + rec.volumeId() + " does not exit");
    }
  }

  private static void sleep(Duration d) throws CsiError.Internal {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CsiError.Internal("interrupted while waiting for the mount", e);
    }
  }
}
