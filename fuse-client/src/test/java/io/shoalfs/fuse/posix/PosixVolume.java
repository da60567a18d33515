package io.shoalfs.fuse.posix;

import io.shoalfs.common.mount.FuseMounts;
import io.shoalfs.common.mount.MountInfo;
import io.shoalfs.fuse.MountMain;
import io.shoalfs.fuse.ShoalMount;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * The one place where the POSIX tests get their filesystem: a fresh Shoal subvolume of the test cluster, mounted
 * as often as a test needs (each {@link #mount} is another client of the same volume, like another node), in this
 * JVM through {@link ShoalMount#mount} or as a separate mount process ({@link #mountProcess}) that a test can
 * SIGKILL. When the mount API changes, adapt this class only.
 *
 * <p>With {@code -Dshoal.posix.target=local} every "mount" is the same plain local directory instead: that runs
 * the tests against the local disk, which is how each test was checked to be right (it must pass there).
 *
 * <p>Everything lives under one base directory that every user can traverse (JUnit's {@code @TempDir} is 0700,
 * and the suite also runs as an unprivileged user); {@link #close} unmounts, detaches whatever is left, and
 * deletes the base directory only when no mount is left under it.
 */
final class PosixVolume implements AutoCloseable {
  /** Visibility bound for another client's rename, unlink, chmod, truncate and appended bytes (issue 5, item 5). */
  static final Duration COHERENCE_BOUND = Duration.ofSeconds(1);
  /** Lease after which a dead client's locks are released (issue 5: "a few seconds"; the stated lease). */
  static final Duration LOCK_LEASE = Duration.ofSeconds(5);
  /** Slack on top of the lease for detecting the death and the test's own polling. */
  static final Duration LOCK_LEASE_MARGIN = Duration.ofSeconds(2);

  static final boolean LOCAL = "local".equals(System.getProperty("shoal.posix.target"));
  /** The system python (the unprivileged user cannot reach a pyenv under /root). */
  static final String PYTHON = Files.isExecutable(Path.of("/usr/bin/python3")) ? "/usr/bin/python3" : "python3";

  private static final AtomicInteger SEQ = new AtomicInteger();

  private final TestCluster cluster;
  private final String subvolume;
  private final Path base;
  private final Path localRoot;
  private final List<ShoalMount> mounts = new ArrayList<>();
  private final List<Path> mountPoints = new ArrayList<>();
  private final List<MountProcess> processes = new ArrayList<>();

  private PosixVolume(TestCluster cluster, String subvolume, Path base) throws IOException {
    this.cluster = cluster;
    this.subvolume = subvolume;
    this.base = base;
    this.localRoot = LOCAL ? Files.createDirectories(base.resolve("local-volume")) : null;
  }

  /** A new empty volume (a subvolume of {@code cluster}; a local directory in local mode). */
  static PosixVolume create(TestCluster cluster, String name) throws IOException {
    Path base = Files.createTempDirectory("shoal-posix-" + name + "-");
    Files.setPosixFilePermissions(base, PosixFilePermissions.fromString("rwxr-xr-x"));
    String sv = "posix-" + name + "-" + ProcessHandle.current().pid() + "-" + SEQ.incrementAndGet();
    if (!LOCAL) {
      try {
        cluster.client().createSubvolume(sv, 0);
      } catch (Exception e) {
        throw new IOException("cannot create subvolume " + sv + ": " + e.getMessage(), e);
      }
    }
    System.out.println("PosixVolume " + sv + " under " + base + (LOCAL ? " (LOCAL DISK, not Shoal)" : ""));
    return new PosixVolume(cluster, sv, base);
  }

  Path base() {
    return base;
  }

  /** Mounts the volume once more in this JVM; returns the root of that mount. */
  Path mount(String name) throws IOException {
    if (LOCAL) {
      return localRoot;
    }
    Path mp = Files.createDirectories(base.resolve("mnt-" + name));
    mountPoints.add(mp);
    mounts.add(ShoalMount.mount(cluster.metaAddrs(), subvolume, mp, List.of()));
    return mp;
  }

  /**
   * Mounts the volume in a separate JVM ({@link MountMain}, what {@code shoal mount} runs), so that a test can
   * SIGKILL the client. Waits for its {@code ready:} line.
   */
  MountProcess mountProcess(String name) throws IOException, InterruptedException {
    if (LOCAL) {
      MountProcess p = new MountProcess(null, localRoot, null);
      processes.add(p);
      return p;
    }
    Path mp = Files.createDirectories(base.resolve("mnt-" + name));
    mountPoints.add(mp);
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    ChildProcess p = ChildProcess.start(base, List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
        "-cp", System.getProperty("java.class.path"), MountMain.class.getName(), "--meta", cluster.metaAddrs(),
        "--subvolume", subvolume, mp.toString()));
    MountProcess m = new MountProcess(p, mp, mp);
    processes.add(m);
    try {
      p.awaitLine("ready:", Duration.ofSeconds(60));
    } catch (AssertionError | InterruptedException e) {
      m.close();
      throw e;
    }
    return m;
  }

  /** Copies a script from the test resources (posix/NAME) to a place every user can read. */
  Path script(String name) throws IOException {
    Path dir = Files.createDirectories(base.resolve("scripts"));
    Path out = dir.resolve(name);
    if (!Files.exists(out)) {
      try (InputStream in = PosixVolume.class.getResourceAsStream("/posix/" + name)) {
        if (in == null) {
          throw new IOException("test resource posix/" + name + " is missing");
        }
        Files.copy(in, out);
      }
      Files.setPosixFilePermissions(out, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    List<Throwable> errors = new ArrayList<>();
    for (MountProcess p : processes) {
      try {
        p.close();
      } catch (RuntimeException | Error e) {
        errors.add(e);
      }
    }
    for (ShoalMount m : mounts) {
      try {
        m.close();
      } catch (RuntimeException | Error e) {
        errors.add(e);
      }
    }
    boolean clean = true;
    for (Path mp : mountPoints) {
      if (!FuseMounts.detach(mp)) {
        clean = false;
        errors.add(new AssertionError("FUSE mount left at " + mp));
      }
    }
    if (clean) {
      deleteTree(base);
    }
    if (!LOCAL) {
      try {
        cluster.client().deleteSubvolume(subvolume);
      } catch (Exception e) {
        // Not empty or not deletable today: the cluster lives in a temp dir that goes at the end of the run.
      }
    }
    if (!errors.isEmpty()) {
      AssertionError e = new AssertionError("cleanup of " + base + " failed: " + errors.get(0), errors.get(0));
      errors.stream().skip(1).forEach(e::addSuppressed);
      throw e;
    }
  }

  /** Deletes a tree that holds no mount (checked per directory: never walks into a mounted filesystem). */
  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> all = Files.walk(dir)) {
      List<Path> paths = all.sorted(Comparator.reverseOrder()).toList();
      for (Path p : paths) {
        if (Files.isDirectory(p, java.nio.file.LinkOption.NOFOLLOW_LINKS) && MountInfo.isMounted(p)) {
          throw new IOException("refusing to delete " + dir + ": " + p + " is a mount point");
        }
      }
      for (Path p : paths) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** A mount served by its own process (or, in local mode, a stand-in with no process). */
  static final class MountProcess implements AutoCloseable {
    private final ChildProcess process;
    private final Path root;
    private final Path mountPoint;

    MountProcess(ChildProcess process, Path root, Path mountPoint) {
      this.process = process;
      this.root = root;
      this.mountPoint = mountPoint;
    }

    Path root() {
      return root;
    }

    /** True when this is a real separate mount process (false in local mode). */
    boolean isProcess() {
      return process != null;
    }

    /** SIGKILL of the mount process: the client dies without unmounting or releasing anything. */
    void kill() throws InterruptedException {
      if (process != null) {
        process.kill();
      }
    }

    @Override
    public void close() {
      try {
        if (process != null) {
          process.close();
        }
      } finally {
        if (mountPoint != null) {
          FuseMounts.detach(mountPoint);
        }
      }
    }
  }
}
