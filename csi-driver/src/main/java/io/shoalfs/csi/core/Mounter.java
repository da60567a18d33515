package io.shoalfs.csi.core;

import io.shoalfs.common.mount.MountInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's mount table, read from {@code /proc/self/mountinfo} and changed with mount(8) and umount(8) (the
 * tools kubelet and every other CSI driver use, so their quirks are well known).
 */
public final class Mounter {
  private static final Logger LOG = LoggerFactory.getLogger(Mounter.class);
  /** mount and umount normally finish in milliseconds; a hung FUSE server must not hang the RPC forever. */
  private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(30);

  /** All current mounts, in mount order. */
  public List<MountInfo> list() throws CsiError.Internal {
    try {
      return MountInfo.readAll();
    } catch (IOException e) {
      throw new CsiError.Internal("cannot read the mount table: " + e.getMessage(), e);
    }
  }

  /** The top-most mount at exactly this path, if any. */
  public Optional<MountInfo> at(Path path) throws CsiError.Internal {
    try {
      return MountInfo.at(normalize(path));
    } catch (IOException e) {
      throw new CsiError.Internal("cannot read the mount table: " + e.getMessage(), e);
    }
  }

  /**
   * As {@link #at}, but without touching the path itself: only its parent is resolved, so a hung FUSE mount at
   * the path cannot hang the caller (resolving the path would ask the mount for its root's attributes).
   */
  public Optional<MountInfo> atWithoutTouching(Path path) throws CsiError.Internal {
    try {
      return MountInfo.at(normalizeParent(path));
    } catch (IOException e) {
      throw new CsiError.Internal("cannot read the mount table: " + e.getMessage(), e);
    }
  }

  /** Absolute and normalised, with symlinks resolved in the parent only (see {@link #atWithoutTouching}). */
  public static Path normalizeParent(Path path) {
    Path abs = path.toAbsolutePath().normalize();
    Path parent = abs.getParent();
    if (parent == null) {
      return abs;
    }
    try {
      return parent.toRealPath().resolve(abs.getFileName());
    } catch (IOException e) {
      return abs;
    }
  }

  public void bind(Path source, Path target) throws CsiError.Internal {
    run("mount", "--bind", normalize(source).toString(), normalize(target).toString());
  }

  /** A bind mount cannot be made read-only in the same mount(2) call: it takes a second, remount call. */
  public void remountReadOnly(Path target) throws CsiError.Internal {
    run("mount", "-o", "remount,bind,ro", normalize(target).toString());
  }

  /** Unmounts the top-most mount at the path. */
  public void unmount(Path target) throws CsiError.Internal {
    run("umount", normalize(target).toString());
  }

  /**
   * Detaches a mount whose server is gone ("Transport endpoint is not connected"): a plain umount of a dead
   * FUSE mount can fail with EBUSY while something still holds it open.
   */
  public void unmountLazy(Path target) throws CsiError.Internal {
    run("umount", "-l", normalize(target).toString());
  }

  /** Absolute and normalised, resolving symlinks when the path exists, as the kernel shows it in mountinfo. */
  public static Path normalize(Path path) {
    Path abs = path.toAbsolutePath().normalize();
    try {
      return abs.toRealPath();
    } catch (IOException e) {
      // A dead FUSE mount point cannot be stat'ed; its lexical form is what mountinfo shows anyway.
      return abs;
    }
  }

  private static void run(String... command) throws CsiError.Internal {
    Path out = null;
    try {
      out = Files.createTempFile("shoal-csi-cmd", ".out");
      Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile())).start();
      if (!p.waitFor(COMMAND_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new CsiError.Internal(String.join(" ", command) + " did not finish within " + COMMAND_TIMEOUT);
      }
      String text = Files.readString(out).trim();
      if (p.exitValue() != 0) {
        throw new CsiError.Internal(String.join(" ", command) + " failed (exit " + p.exitValue() + "): " + text);
      }
      LOG.info("{}", String.join(" ", command));
    } catch (IOException e) {
      throw new CsiError.Internal("cannot run " + command[0] + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CsiError.Internal(String.join(" ", command) + " interrupted", e);
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // A leftover temp file is harmless; the command's result is what matters.
        }
      }
    }
  }
}
