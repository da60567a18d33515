package io.shoalfs.cli.local;

import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.mount.MountInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** Checks that must pass before {@code shoal local} starts anything, each failing with a one-line reason. */
public final class Preflight {
  /** Environment variable naming libfuse3.so.3 explicitly (for installs outside the usual library dirs). */
  public static final String LIBFUSE_ENV = "SHOAL_LIBFUSE";

  private static final List<String> LIB_DIRS = List.of(
      "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
      "/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib");

  private Preflight() {}

  /** Returns the libfuse3.so.3 that FUSE mounts will load (the low-level binding of the FUSE client). */
  public static Path libfuse(Map<String, String> env) {
    String override = env.get(LIBFUSE_ENV);
    if (override != null && !override.isBlank()) {
      Path p = Path.of(override);
      if (!Files.isReadable(p)) {
        throw new UserError("libfuse3 not found at " + p + " (from " + LIBFUSE_ENV
            + "): install libfuse3 (apt-get install libfuse3-3) or fix the path");
      }
      return p;
    }
    for (String dir : LIB_DIRS) {
      Path p = Path.of(dir, "libfuse3.so.3");
      if (Files.isReadable(p)) {
        return p;
      }
    }
    throw new UserError("libfuse3 is not installed (no libfuse3.so.3 found): install it with apt-get install libfuse3-3");
  }

  public static void devFuse() {
    if (!Files.exists(Path.of("/dev/fuse"))) {
      throw new UserError("/dev/fuse is missing: load the fuse kernel module (modprobe fuse) or, in a container, "
          + "pass the device (--device /dev/fuse)");
    }
  }

  /**
   * The mount point must be an existing, empty directory that is not a mount already. When {@code create} is set
   * (the default mount point under --dir), a missing directory is created.
   */
  public static void mountPoint(Path mount, boolean create) {
    if (isMounted(mount)) {
      throw new UserError("mount point " + mount + " is already a mount point (a dead mount? try: umount -l "
          + mount + ")");
    }
    if (!Files.exists(mount)) {
      if (!create) {
        throw new UserError("mount point " + mount + " does not exist: create an empty directory first");
      }
      try {
        Files.createDirectories(mount);
      } catch (IOException e) {
        throw new UserError("cannot create mount point " + mount + ": " + e.getMessage());
      }
      return;
    }
    if (!Files.isDirectory(mount)) {
      throw new UserError("mount point " + mount + " is not a directory");
    }
    try (Stream<Path> entries = Files.list(mount)) {
      if (entries.findAny().isPresent()) {
        throw new UserError("mount point " + mount + " is not empty");
      }
    } catch (IOException e) {
      throw new UserError("cannot read mount point " + mount + ": " + e.getMessage());
    }
  }

  /** True if {@code path} is a mount point. */
  public static boolean isMounted(Path path) {
    return MountInfo.isMounted(path);
  }
}
