package io.shoalfs.fuse;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.metrics.MeterGroup;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.SessionClient;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.mount.MountInfo;
import io.shoalfs.fuse.core.FsConfig;
import io.shoalfs.fuse.ll.FuseSession;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FUSE mount of a Shoal volume in this process: a low-level FUSE session ({@link FuseSession}) serving
 * {@link ShoalLowLevelFs}, and the mount's client session in the metadata service ({@link SessionClient}) whose
 * watch events invalidate the kernel's caches.
 *
 * <p>{@link #mount} returns only once the kernel lists the mount and a stat through it is answered by this
 * filesystem (the root's inode number comes back); whatever fails on the way leaves no mount behind.
 * {@link #close()} unmounts, waits for the FUSE loop to end, commits what open files still hold, closes the
 * client session (its opens and locks go) and the clients; calling it again does nothing.
 */
public final class ShoalMount implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ShoalMount.class);

  /** How long mount() waits for the mount to serve requests. */
  public static final Duration READY_TIMEOUT = Duration.ofSeconds(30);

  /**
   * Always passed to libfuse; options given by the user come after them. default_permissions: the kernel
   * checks modes and owners (Shoal stores them, the kernel enforces them); allow_other: every user of the node
   * sees the mount, as a shared volume must. The cache timeouts are ours, not libfuse's: see
   * {@link CacheTimeouts}.
   */
  static final List<String> BASE_OPTIONS = List.of("fsname=shoal", "subtype=shoal", "allow_other",
      "default_permissions");

  /** The request itself is wrong (mount point, subvolume, addresses): the user has to change it. */
  public static final class BadRequestException extends IOException {
    BadRequestException(String message) {
      super(message);
    }
  }

  private final Path mountPoint;
  private final long rootIno;
  private final MetaClient meta;
  private final StorageClient storage;
  private final ShoalLowLevelFs fs;
  private final SessionClient session;
  private final FuseSession fuse;
  private final AtomicBoolean closed = new AtomicBoolean();
  private MeterGroup metrics;

  private ShoalMount(Path mountPoint, long rootIno, MetaClient meta, StorageClient storage, ShoalLowLevelFs fs,
      SessionClient session, FuseSession fuse) {
    this.mountPoint = mountPoint;
    this.rootIno = rootIno;
    this.meta = meta;
    this.storage = storage;
    this.fs = fs;
    this.session = session;
    this.fuse = fuse;
  }

  /**
   * Mounts {@code subvolume} (null: the root volume) of the cluster at {@code metaAddrs} on {@code mountPoint},
   * an existing empty directory.
   *
   * @param fuseOptions extra mount options (libfuse's, plus attr_timeout / entry_timeout / negative_timeout)
   * @throws BadRequestException for a bad mount point, an unknown subvolume, malformed addresses or options
   * @throws IOException when the cluster, libfuse or the kernel fail
   */
  public static ShoalMount mount(String metaAddrs, String subvolume, Path mountPoint, List<String> fuseOptions)
      throws IOException {
    Objects.requireNonNull(metaAddrs, "metaAddrs");
    Objects.requireNonNull(mountPoint, "mountPoint");
    Path mp = checkMountPoint(mountPoint);
    checkFuseDevice();
    List<String> options = new ArrayList<>(BASE_OPTIONS);
    for (String o : fuseOptions == null ? List.<String>of() : fuseOptions) {
      if (!o.isBlank()) {
        options.add(o.trim());
      }
    }
    CacheTimeouts timeouts;
    try {
      timeouts = CacheTimeouts.extract(options);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException(e.getMessage());
    }
    MetaClient meta;
    try {
      meta = MetaClient.connect(metaAddrs);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException("bad metadata address list '" + metaAddrs + "': " + e.getMessage());
    }
    StorageClient storage = null;
    SessionClient session = null;
    ShoalLowLevelFs fs = null;
    try {
      long root = rootOf(meta, subvolume);
      storage = new StorageClient(meta);
      int chunkSize = storage.chunkSize();
      if (chunkSize != 0 && chunkSize != Layout.CHUNK_SIZE) {
        throw new IOException("the cluster uses chunks of " + chunkSize + " bytes; this client only knows "
            + Layout.CHUNK_SIZE);
      }
      AtomicReference<SessionClient> sessionRef = new AtomicReference<>();
      fs = ShoalLowLevelFs.over(meta, storage, root, FsConfig.DEFAULTS, timeouts, () -> {
        SessionClient s = sessionRef.get();
        return s == null ? 0 : s.sessionId();
      });
      MeterGroup metrics = new MeterGroup("mount", mp.toString());
      meta.timedBy(metrics);
      fs.measuredBy(metrics);
      fs.setNoatime(options.stream().anyMatch(o -> java.util.Arrays.asList(o.split(",")).contains("noatime")));
      session = SessionClient.open(meta, clientName(mp), root, fs.coherence());
      sessionRef.set(session);
      requireDirectory(meta, root, subvolume); // the first namespace call, in the session scoped to the volume
      FuseSession fuse;
      try {
        FuseSession.Config d = FuseSession.Config.defaults();
        // .snap/NAME (read-only snapshots) in front of the live filesystem.
        fuse = FuseSession.start(mp, options, new SnapshotFs(fs, meta, storage, root), new FuseSession.Config(d.workerThreads(), d.maxWrite(),
            d.maxReadahead(), false, d.notifyQueue(), READY_TIMEOUT));
      } catch (IOException e) {
        throw new IOException("FUSE mount at " + mp + " failed: " + e.getMessage(), e);
      }
      fs.attach(fuse.notifier());
      ShoalMount m = new ShoalMount(mp, root, meta, storage, fs, session, fuse);
      m.metrics = metrics;
      try {
        m.checkRoot();
      } catch (IOException | RuntimeException e) {
        m.close();
        throw e;
      }
      LOG.info("mounted root inode {} at {} (session {}, cache timeouts {})", root, mp, session.sessionId(),
          timeouts);
      return m;
    } catch (MetaException e) {
      closeQuietly(session, meta, storage);
      throw new IOException("metadata service at " + metaAddrs + ": " + e.getMessage(), e);
    } catch (IOException | RuntimeException | Error e) {
      closeQuietly(session, meta, storage);
      throw e;
    }
  }

  /** For operators listing sessions: which node and mount point holds it. */
  private static String clientName(Path mp) {
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "unknown-host";
    }
    return host + ":" + mp;
  }

  /** The mount point's inode is the volume's root: this filesystem, not whatever was there, answers. */
  private void checkRoot() throws IOException {
    long ino = ((Number) Files.getAttribute(mountPoint, "unix:ino")).longValue();
    if (ino != rootIno) {
      throw new IOException("stat of the mount point " + mountPoint + " returned inode " + ino + ", expected "
          + rootIno);
    }
  }

  private static Path checkMountPoint(Path mountPoint) throws IOException {
    Path abs = mountPoint.toAbsolutePath().normalize();
    if (!Files.exists(abs)) {
      throw new BadRequestException("mount point " + abs + " does not exist");
    }
    if (!Files.isDirectory(abs)) {
      throw new BadRequestException("mount point " + abs + " is not a directory");
    }
    Path real = abs.toRealPath();
    if (MountInfo.hasFuseMount(real)) {
      throw new BadRequestException("mount point " + real + " already has a FUSE filesystem mounted");
    }
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(real)) {
      if (entries.iterator().hasNext()) {
        throw new BadRequestException("mount point " + real + " is not empty");
      }
    }
    return real;
  }

  private static void checkFuseDevice() throws IOException {
    if (!Files.exists(Path.of("/dev/fuse"))) {
      throw new IOException("/dev/fuse is missing: load the fuse kernel module (modprobe fuse)");
    }
  }

  private static long rootOf(MetaClient meta, String subvolume) throws MetaException, IOException {
    long root = Layout.ROOT_INO;
    if (subvolume != null) {
      try {
        root = meta.getSubvolume(subvolume).getRootIno();
      } catch (MetaException e) {
        if (e.code() == Code.ENOENT) {
          throw new BadRequestException("unknown subvolume '" + subvolume + "'");
        }
        throw e;
      }
    }
    return root;
  }

  private static void requireDirectory(MetaClient meta, long root, String subvolume) throws MetaException,
      IOException {
    Attr a = meta.getAttr(root);
    if (a.getType() != FileType.DIRECTORY) {
      throw new IOException("root inode " + root + " of " + (subvolume == null ? "the root volume" : subvolume)
          + " is not a directory");
    }
  }

  public Path mountPoint() {
    return mountPoint;
  }

  public long rootIno() {
    return rootIno;
  }

  /** True while the FUSE loop runs (false once unmounted, by close() or from outside). */
  public boolean isServing() {
    return fuse.isServing();
  }

  /** Waits up to {@code timeout} for the FUSE loop to end; true if it has. */
  public boolean awaitUnmounted(Duration timeout) throws InterruptedException {
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
    return fuse.awaitExit(timeout);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      fuse.close();
      LOG.info("unmounted {}", mountPoint);
    } finally {
      // After the loop: no request can reach the filesystem any more, so these writes are the last.
      fs.fileIo().close();
      closeQuietly(session, meta, storage);
      metrics.close();
    }
  }

  /** What {@code /healthz} answers: healthy while the FUSE session serves. */
  public io.shoalfs.common.metrics.MetricsServer.Health health() {
    return isServing() ? io.shoalfs.common.metrics.MetricsServer.Health.ok("serving " + mountPoint)
        : io.shoalfs.common.metrics.MetricsServer.Health.failing(mountPoint + " is not served any more");
  }

  private static void closeQuietly(SessionClient session, MetaClient meta, StorageClient storage) {
    if (session != null) {
      session.close();
    }
    if (storage != null) {
      storage.close();
    }
    if (meta != null) {
      meta.close();
    }
  }
}
