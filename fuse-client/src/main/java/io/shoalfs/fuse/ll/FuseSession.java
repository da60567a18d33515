package io.shoalfs.fuse.ll;

import static io.shoalfs.fuse.ll.jnr.Layout.*;

import com.kenai.jffi.MemoryIO;
import io.shoalfs.common.mount.FuseMounts;
import io.shoalfs.common.mount.MountInfo;
import io.shoalfs.fuse.ll.jnr.Libfuse3;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One mounted libfuse3 low-level session serving a {@link LowLevelFs}.
 *
 * <p>Threading: libfuse's multi-threaded loop (fuse_session_loop_mt, 3.12 ABI) on a Java thread named
 * {@code fuse-loop-<mount>}; libfuse starts worker threads on demand, up to {@link Config#workerThreads}, each
 * reading /dev/fuse itself and calling the filesystem directly. A request that blocks (F_SETLKW, a slow remote
 * call) holds one worker; the others keep serving. Idle workers are kept (no thread churn). Notifications go
 * through {@link #notifier()}, sent by one more thread.
 *
 * <p>Life cycle: {@link #start} returns once the kernel lists the mount and a stat of the mount point was
 * answered by the filesystem; otherwise it throws and leaves nothing mounted. {@link #close} unmounts and is
 * idempotent. The session ends by itself if someone else unmounts it ({@link #awaitExit}).
 */
public final class FuseSession implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FuseSession.class);
  private static final MemoryIO MEM = MemoryIO.getInstance();
  private static final Libfuse3 LIB = Libfuse3.LIB;
  /** How long close waits for libfuse's workers to notice the unmount before it aborts the connection. */
  private static final long LOOP_EXIT_WAIT_MS = 10_000;

  /**
   * Tunables of a session.
   *
   * @param workerThreads most libfuse worker threads (requests served at once, blocked ones included)
   * @param maxWrite largest write request, bytes (libfuse 3.14 allows up to 1 MiB: 256 pages)
   * @param maxReadahead largest readahead the kernel may ask for, bytes
   * @param writebackCache FUSE_CAP_WRITEBACK_CACHE: the kernel buffers writes in the page cache (off: write-through)
   * @param notifyQueue bound of the notification queue
   * @param startTimeout how long start waits for the mount to answer a stat
   */
  public record Config(int workerThreads, int maxWrite, int maxReadahead, boolean writebackCache, int notifyQueue,
      Duration startTimeout) {
    public static final int DEFAULT_WORKER_THREADS = 32;
    public static final int DEFAULT_MAX_WRITE = 1 << 20;
    public static final int DEFAULT_MAX_READAHEAD = 1 << 20;
    public static final int DEFAULT_NOTIFY_QUEUE = 65536;

    public Config {
      if (workerThreads < 1 || maxWrite < 4096 || maxReadahead < 0 || notifyQueue < 1) {
        throw new IllegalArgumentException("bad FUSE session config");
      }
      Objects.requireNonNull(startTimeout);
    }

    public static Config defaults() {
      return new Config(DEFAULT_WORKER_THREADS, DEFAULT_MAX_WRITE, DEFAULT_MAX_READAHEAD, false,
          DEFAULT_NOTIFY_QUEUE, Duration.ofSeconds(10));
    }

    public Config withWorkerThreads(int n) {
      return new Config(n, maxWrite, maxReadahead, writebackCache, notifyQueue, startTimeout);
    }

    public Config withMaxWrite(int bytes) {
      return new Config(workerThreads, bytes, maxReadahead, writebackCache, notifyQueue, startTimeout);
    }

    public Config withMaxReadahead(int bytes) {
      return new Config(workerThreads, maxWrite, bytes, writebackCache, notifyQueue, startTimeout);
    }

    public Config withWritebackCache(boolean on) {
      return new Config(workerThreads, maxWrite, maxReadahead, on, notifyQueue, startTimeout);
    }
  }

  private final Path mountPoint;
  private final Config config;
  private final Ops ops;
  /** Native memory libfuse may read for the session's life: the ops table (and the args, until session_new). */
  private final ByteBuffer opsMem = ByteBuffer.allocateDirect(OPS_SIZE);
  private final long session;
  private final SessionNotifier notifier;
  private final Thread loop;
  private volatile boolean loopEnded;
  private volatile int loopResult;
  private boolean closed;
  private boolean destroyed;
  /** The mount's anonymous device minor (its fusectl connection name), -1 if unknown. */
  private volatile int deviceMinor = -1;

  private FuseSession(Path mountPoint, List<String> options, LowLevelFs fs, Config config) throws IOException {
    this.mountPoint = mountPoint;
    this.config = config;
    this.ops = new Ops(fs, config);
    long opsAddr = MEM.getDirectBufferAddress(opsMem);
    ops.install(opsAddr);
    this.session = newSession(options, opsAddr);
    if (LIB.fuse_session_mount(session, mountPoint.toString()) != 0) {
      LIB.fuse_session_destroy(session);
      throw new IOException("fuse_session_mount failed at " + mountPoint + " (see libfuse's message on stderr)");
    }
    this.notifier = new SessionNotifier(session, config.notifyQueue(), mountPoint.getFileName() + "");
    long cfg = LIB.fuse_loop_cfg_create();
    LIB.fuse_loop_cfg_set_max_threads(cfg, config.workerThreads());
    // Idle workers stay: a thread that libfuse ends would have been attached to the JVM for nothing.
    LIB.fuse_loop_cfg_set_idle_threads(cfg, config.workerThreads());
    this.loop = new Thread(() -> {
      try {
        loopResult = LIB.fuse_session_loop_mt_312(session, cfg);
      } finally {
        LIB.fuse_loop_cfg_destroy(cfg);
        loopEnded = true;
      }
    }, "fuse-loop-" + mountPoint.getFileName());
    loop.setDaemon(true);
    loop.start();
  }

  /**
   * Mounts {@code fs} at {@code mountPoint} (an existing directory; we run as root, so libfuse mounts directly,
   * without fusermount3) and serves it until {@link #close}.
   *
   * @param options mount options for {@code -o}, e.g. {@code allow_other}, {@code default_permissions},
   *     {@code fsname=shoal}, {@code subtype=shoal}, {@code max_read=N}; libfuse refuses unknown ones
   *     (fuse2-only options such as big_writes, use_ino, attr_timeout do not exist in the low-level API)
   */
  public static FuseSession start(Path mountPoint, List<String> options, LowLevelFs fs, Config config)
      throws IOException {
    Path mp = mountPoint.toAbsolutePath().normalize();
    if (!Files.isDirectory(mp)) {
      throw new IOException("mount point is not a directory: " + mp);
    }
    if (MountInfo.hasFuseMount(mp)) {
      throw new IOException("a FUSE filesystem is already mounted at " + mp);
    }
    FuseSession s = new FuseSession(mp, List.copyOf(options), fs, config);
    try {
      s.awaitReady(config.startTimeout());
      return s;
    } catch (IOException | RuntimeException e) {
      s.close();
      throw e;
    }
  }

  private static long newSession(List<String> options, long opsAddr) throws IOException {
    List<String> argv = new ArrayList<>(List.of("shoal"));
    if (!options.isEmpty()) {
      argv.add("-o");
      argv.add(String.join(",", options));
    }
    List<ByteBuffer> keep = new ArrayList<>();
    ByteBuffer args = direct(ARGS_SIZE, keep);
    ByteBuffer vec = direct(8 * (argv.size() + 1), keep);
    long vecAddr = MEM.getDirectBufferAddress(vec);
    for (int i = 0; i < argv.size(); i++) {
      byte[] b = argv.get(i).getBytes(StandardCharsets.UTF_8);
      ByteBuffer str = direct(b.length + 1, keep);
      long a = MEM.getDirectBufferAddress(str);
      MEM.putByteArray(a, b, 0, b.length);
      MEM.putByte(a + b.length, (byte) 0);
      MEM.putLong(vecAddr + 8L * i, a);
    }
    MEM.putLong(vecAddr + 8L * argv.size(), 0);
    long argsAddr = MEM.getDirectBufferAddress(args);
    MEM.putInt(argsAddr + ARGS_ARGC, argv.size());
    MEM.putLong(argsAddr + ARGS_ARGV, vecAddr);
    MEM.putInt(argsAddr + ARGS_ALLOCATED, 0);
    long se = LIB.fuse_session_new(argsAddr, opsAddr, OPS_SIZE, 0);
    // fuse_opt_parse replaces argv with a malloc'ed copy (allocated = 1): free that, never our buffers.
    if (MEM.getInt(argsAddr + ARGS_ALLOCATED) != 0) {
      LIB.fuse_opt_free_args(argsAddr);
    }
    if (se == 0) {
      throw new IOException("fuse_session_new refused the options " + options + " (see libfuse's message on stderr)");
    }
    java.lang.ref.Reference.reachabilityFence(keep);
    return se;
  }

  private static ByteBuffer direct(int size, List<ByteBuffer> keep) {
    ByteBuffer b = ByteBuffer.allocateDirect(size);
    keep.add(b);
    return b;
  }

  /** Ready = the kernel lists a FUSE mount here and a stat of the root came back from the filesystem. */
  private void awaitReady(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    CompletableFuture<BasicFileAttributes> probe = CompletableFuture.supplyAsync(() -> {
      try {
        return Files.readAttributes(mountPoint, BasicFileAttributes.class);
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }, r -> {
      Thread t = new Thread(r, "fuse-probe-" + mountPoint.getFileName());
      t.setDaemon(true);
      t.start();
    });
    try {
      probe.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IOException("FUSE mount at " + mountPoint + " did not answer a stat within " + timeout);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException("stat of the new FUSE mount at " + mountPoint + " failed: " + e.getCause().getMessage(),
          e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while mounting " + mountPoint);
    }
    MountInfo m = MountInfo.at(mountPoint).filter(MountInfo::isFuse)
        .orElseThrow(() -> new IOException("no FUSE mount listed at " + mountPoint + " after mounting"));
    // fusectl names a connection by its device number; anonymous devices have major 0, so that is the minor.
    String[] dev = m.device().split(":");
    if (dev.length == 2 && dev[0].equals("0")) {
      deviceMinor = Integer.parseInt(dev[1]);
    }
    raiseReadahead(m.device());
  }

  /**
   * The kernel offers FUSE the block layer's default readahead (128 KiB) at init and only ever lowers it, so
   * buffered reads would never ask for more than 128 KiB at once. The mount's bdi takes a larger value
   * afterwards (root only); reads then come in up to min(maxReadahead, max_pages) sized requests.
   */
  private void raiseReadahead(String device) {
    Path ra = Path.of("/sys/class/bdi", device, "read_ahead_kb");
    int kb = config.maxReadahead() / 1024;
    try {
      if (Files.exists(ra) && Integer.parseInt(Files.readString(ra).trim()) < kb) {
        Files.writeString(ra, Integer.toString(kb));
      }
    } catch (IOException | NumberFormatException e) {
      LOG.debug("could not raise readahead of {}: {}", mountPoint, e.toString());
    }
  }

  public Path mountPoint() {
    return mountPoint;
  }

  /** Sends kernel cache invalidations for this session (from its own thread; calls return at once). */
  public Notifier notifier() {
    return notifier;
  }

  /** What the kernel and libfuse agreed at init (null before init). */
  public LowLevelFs.ConnInfo connInfo() {
    return ops.conn();
  }

  /** True while the loop runs (false after close, or after someone else unmounted the filesystem). */
  public boolean isServing() {
    return !loopEnded;
  }

  /** Waits up to {@code timeout} for the loop to end; true if it has. */
  public boolean awaitExit(Duration timeout) {
    try {
      loop.join(Math.max(1, timeout.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    return loopEnded;
  }

  /**
   * Unmounts and frees the session; idempotent. Order: stop the notifier; tell libfuse to exit and detach the
   * mount (the kernel then aborts the connection, every worker's read returns ENODEV and the loop returns); only
   * then fuse_session_unmount (closes /dev/fuse) and fuse_session_destroy (calls the filesystem's destroy). If
   * the loop does not end in time the connection is aborted through fusectl; if it still does not, the native
   * session is leaked rather than freed under running workers. A mount the kernel still lists at the end is
   * detached with {@link FuseMounts#detach}.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    boolean notifierStopped = notifier.stop(2000);
    LIB.fuse_session_exit(session);
    if (!loopEnded) {
      if (MountInfo.hasFuseMount(mountPoint)) {
        int rc = Libfuse3.LibC.LIB.umount2(mountPoint.toString(), Libfuse3.LibC.MNT_DETACH);
        if (rc != 0) {
          LOG.warn("umount2({}) failed; will try the fallbacks", mountPoint);
        }
      }
      if (!awaitExit(Duration.ofMillis(LOOP_EXIT_WAIT_MS))) {
        abortConnection();
        awaitExit(Duration.ofMillis(LOOP_EXIT_WAIT_MS));
      }
    }
    if (loopEnded && notifierStopped) {
      LIB.fuse_session_unmount(session);
      LIB.fuse_session_destroy(session);
      destroyed = true;
      if (loopResult != 0) {
        LOG.debug("FUSE loop at {} ended with {}", mountPoint, loopResult);
      }
    } else {
      LOG.warn("FUSE loop (or notifier) of {} did not end; leaking the native session rather than freeing it under"
          + " a thread that still uses it", mountPoint);
    }
    if (MountInfo.hasFuseMount(mountPoint) && !FuseMounts.detach(mountPoint)) {
      LOG.warn("FUSE mount at {} is still listed after close", mountPoint);
    }
    java.lang.ref.Reference.reachabilityFence(opsMem);
  }

  /** Files still open on a lazily detached mount keep the connection; fusectl's abort ends it. */
  private void abortConnection() {
    Path conns = Path.of("/sys/fs/fuse/connections");
    try (var dirs = Files.list(conns)) {
      for (Path d : (Iterable<Path>) dirs::iterator) {
        if (d.getFileName().toString().equals(String.valueOf(deviceMinor))) {
          Files.writeString(d.resolve("abort"), "1");
          LOG.warn("aborted FUSE connection {} of {}", d.getFileName(), mountPoint);
        }
      }
    } catch (IOException e) {
      LOG.warn("could not abort the FUSE connection of {}: {}", mountPoint, e.getMessage());
    }
  }
}
