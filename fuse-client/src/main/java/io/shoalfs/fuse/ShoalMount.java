package io.shoalfs.fuse;

import io.shoalfs.common.mount.FuseMounts;
import io.shoalfs.common.mount.MountInfo;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.fuse.core.FsConfig;
import io.shoalfs.fuse.core.ShoalFs;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FUSE mount of a Shoal volume in this process.
 *
 * <p>{@link #mount} returns only once the kernel lists the mount and a stat through it is answered by this
 * filesystem (the root's inode number comes back); whatever fails on the way leaves no mount behind.
 * {@link #close()} unmounts, waits for the FUSE loop to end, and closes the clients; calling it again does
 * nothing.
 */
public final class ShoalMount implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ShoalMount.class);

  /** How long mount() waits for the mount to serve requests. */
  public static final Duration READY_TIMEOUT = Duration.ofSeconds(30);
  /** How long close() waits for each unmount attempt to take effect. */
  private static final Duration UNMOUNT_WAIT = Duration.ofSeconds(10);
  private static final long POLL_MILLIS = 20;

  /**
   * Always passed to libfuse; options given by the user come after them (so they win where libfuse lets the
   * last one win). big_writes: fuse2 otherwise sends 4 KiB writes. use_ino: st_ino is our inode number.
   * entry_timeout=1: names are cached for a second, like the client's path cache. attr_timeout=0: the kernel
   * does not re-read attributes when a file is opened, so a size cached from before another client's
   * close would cut reads short after this open; the client caches directory attributes itself instead.
   */
  static final List<String> BASE_OPTIONS = List.of(
      "big_writes", "max_write=131072", "fsname=shoal", "subtype=shoal", "allow_other", "default_permissions",
      "use_ino", "attr_timeout=0", "entry_timeout=1", "negative_timeout=0");

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
  private final ShoalFs fs;
  private final FuseAdapter adapter;
  private final CountDownLatch loopDone = new CountDownLatch(1);
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile int loopExit;
  private volatile long fuseDevice = -1;
  private Thread loop;

  private ShoalMount(Path mountPoint, long rootIno, MetaClient meta, StorageClient storage, ShoalFs fs,
      FuseAdapter adapter) {
    this.mountPoint = mountPoint;
    this.rootIno = rootIno;
    this.meta = meta;
    this.storage = storage;
    this.fs = fs;
    this.adapter = adapter;
  }

  /**
   * Mounts {@code subvolume} (null: the root volume) of the cluster at {@code metaAddrs} on {@code mountPoint},
   * an existing empty directory.
   *
   * @throws BadRequestException for a bad mount point, an unknown subvolume or malformed addresses
   * @throws IOException when the cluster, libfuse or the kernel fail
   */
  public static ShoalMount mount(String metaAddrs, String subvolume, Path mountPoint, List<String> fuseOptions)
      throws IOException {
    Objects.requireNonNull(metaAddrs, "metaAddrs");
    Objects.requireNonNull(mountPoint, "mountPoint");
    Path mp = checkMountPoint(mountPoint);
    checkFuseDevice();
    MetaClient meta;
    try {
      meta = MetaClient.connect(metaAddrs);
    } catch (IllegalArgumentException e) {
      throw new BadRequestException("bad metadata address list '" + metaAddrs + "': " + e.getMessage());
    }
    StorageClient storage = null;
    try {
      long root = rootOf(meta, subvolume);
      storage = new StorageClient(meta);
      int chunkSize = storage.chunkSize();
      if (chunkSize != 0 && chunkSize != Layout.CHUNK_SIZE) {
        throw new IOException("the cluster uses chunks of " + chunkSize + " bytes; this client only knows "
            + Layout.CHUNK_SIZE);
      }
      ShoalFs fs = new ShoalFs(meta, storage, root, FsConfig.DEFAULTS);
      ShoalMount m = new ShoalMount(mp, root, meta, storage, fs, newAdapter(fs));
      m.start(fuseOptions == null ? List.of() : fuseOptions);
      return m;
    } catch (MetaException e) {
      closeQuietly(meta, storage);
      throw new IOException("metadata service at " + metaAddrs + ": " + e.getMessage(), e);
    } catch (IOException | RuntimeException | Error e) {
      closeQuietly(meta, storage);
      throw e;
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
    Attr a = meta.getAttr(root);
    if (a.getType() != FileType.DIRECTORY) {
      throw new IOException("root inode " + root + " of " + (subvolume == null ? "the root volume" : subvolume)
          + " is not a directory");
    }
    return root;
  }

  private static FuseAdapter newAdapter(ShoalFs fs) throws IOException {
    try {
      return new FuseAdapter(fs);
    } catch (LinkageError | RuntimeException e) {
      // jnr-fuse loads libfuse.so.2 in the constructor.
      throw new IOException("cannot load libfuse2 (install it, e.g. apt-get install libfuse2): " + e.getMessage(),
          e);
    }
  }

  private void start(List<String> userOptions) throws IOException {
    List<String> options = new ArrayList<>(BASE_OPTIONS);
    for (String o : userOptions) {
      if (!o.isBlank()) {
        options.add(o.trim());
      }
    }
    String[] argv = {"shoal", "-f", mountPoint.toString(), "-o", String.join(",", options)};
    loop = new Thread(() -> {
      try {
        loopExit = adapter.serve(mountPoint, argv);
      } catch (Throwable t) {
        LOG.error("FUSE loop for {} failed: {}", mountPoint, t.toString());
        loopExit = -1;
      } finally {
        loopDone.countDown();
      }
    }, "shoal-fuse-" + mountPoint.getFileName());
    // Daemon: a mount that could not be unmounted must not keep the JVM alive forever.
    loop.setDaemon(true);
    loop.start();
    try {
      awaitServing();
    } catch (IOException | RuntimeException | Error e) {
      close();
      throw e;
    }
    LOG.info("mounted root inode {} at {}", rootIno, mountPoint);
  }

  /** Waits until the kernel lists the mount and a stat through it returns our root inode. */
  private void awaitServing() throws IOException {
    long deadline = System.nanoTime() + READY_TIMEOUT.toNanos();
    String last = "the kernel does not list the mount yet";
    while (System.nanoTime() - deadline < 0) {
      if (loopDone.getCount() == 0) {
        throw new IOException("FUSE mount at " + mountPoint + " failed (libfuse exit code " + loopExit
            + "; libfuse printed the reason on stderr)");
      }
      if (MountInfo.hasFuseMount(mountPoint)) {
        long remaining = Math.max(1, deadline - System.nanoTime());
        CompletableFuture<long[]> probe = CompletableFuture.supplyAsync(() -> {
          try {
            return new long[] {
                (Long) Files.getAttribute(mountPoint, "unix:ino"), (Long) Files.getAttribute(mountPoint, "unix:dev")};
          } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
          }
        }, r -> Thread.ofVirtual().name("shoal-mount-probe").start(r));
        try {
          long[] st = probe.get(remaining, TimeUnit.NANOSECONDS);
          if (st[0] == rootIno) {
            fuseDevice = st[1];
            return;
          }
          last = "stat of the mount point returned inode " + st[0] + ", expected " + rootIno;
        } catch (ExecutionException e) {
          last = "stat of the mount point failed: " + e.getCause().getMessage();
        } catch (TimeoutException e) {
          throw new IOException("FUSE mount at " + mountPoint + " did not answer a stat within "
              + READY_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted while waiting for the mount at " + mountPoint);
        }
      }
      if (!sleep(POLL_MILLIS)) {
        throw new IOException("interrupted while waiting for the mount at " + mountPoint);
      }
    }
    throw new IOException("FUSE mount at " + mountPoint + " not ready after " + READY_TIMEOUT.toSeconds() + " s: "
        + last);
  }

  public Path mountPoint() {
    return mountPoint;
  }

  public long rootIno() {
    return rootIno;
  }

  /** True while the FUSE loop runs (false once unmounted, by close() or from outside). */
  public boolean isServing() {
    return loopDone.getCount() > 0;
  }

  /** Waits up to {@code timeout} for the FUSE loop to end; true if it has. */
  public boolean awaitUnmounted(Duration timeout) throws InterruptedException {
    return loopDone.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      unmount();
    } finally {
      fs.close();
      closeQuietly(meta, storage);
    }
  }

  /**
   * jnr-fuse's unmount (fusermount -u -z); if the kernel still lists the mount, fusermount3 and umount -l.
   * A lazy unmount leaves files that are still open served until they are closed; if the loop has not ended
   * after that, the FUSE connection is aborted so no thread stays blocked on it.
   */
  private void unmount() {
    if (loop == null || (loopDone.getCount() == 0 && !MountInfo.hasFuseMount(mountPoint))) {
      return;
    }
    try {
      adapter.umount();
    } catch (RuntimeException e) {
      LOG.warn("jnr-fuse unmount of {} failed: {}", mountPoint, e.getMessage());
    }
    if (!awaitGone(UNMOUNT_WAIT) && !FuseMounts.detach(mountPoint)) {
      LOG.error("could not unmount {}", mountPoint);
    }
    try {
      if (!loopDone.await(UNMOUNT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        abortConnection();
        if (!loopDone.await(UNMOUNT_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
          LOG.warn("FUSE loop for {} still running after unmount", mountPoint);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    LOG.info("unmounted {}", mountPoint);
  }

  private boolean awaitGone(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() - deadline < 0) {
      if (!MountInfo.hasFuseMount(mountPoint)) {
        return true;
      }
      if (!sleep(POLL_MILLIS)) {
        break;
      }
    }
    return !MountInfo.hasFuseMount(mountPoint);
  }

  /** Writes to the fusectl abort file of this mount's connection, if fusectl is mounted. */
  private void abortConnection() {
    long dev = fuseDevice;
    if (dev < 0) {
      return;
    }
    long minor = (dev & 0xff) | ((dev >> 12) & ~0xffL);
    Path abort = Path.of("/sys/fs/fuse/connections", Long.toString(minor), "abort");
    try {
      if (Files.exists(abort)) {
        LOG.warn("aborting FUSE connection {} of {}", minor, mountPoint);
        Files.writeString(abort, "1");
      }
    } catch (IOException e) {
      LOG.warn("could not abort FUSE connection {}: {}", minor, e.getMessage());
    }
  }

  /** Sleeps; false (with the interrupt flag kept) if interrupted. */
  private static boolean sleep(long millis) {
    try {
      Thread.sleep(millis);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static void closeQuietly(MetaClient meta, StorageClient storage) {
    if (storage != null) {
      storage.close();
    }
    if (meta != null) {
      meta.close();
    }
  }
}
