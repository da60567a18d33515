package io.shoalfs.bench.bindfs;

import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.mount.FuseMounts;
import io.shoalfs.common.mount.MountInfo;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bindfs passthrough of a local directory ({@code bindfs -o big_writes SRC MNT}): the FUSE baseline the
 * issue's targets are stated against. {@link #close()} unmounts, falling back to a lazy detach, and is
 * harmless twice.
 */
public final class Bindfs implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(Bindfs.class);
  public static final String NOT_FOUND = "bindfs not found: install bindfs (apt-get install bindfs)";
  /** bindfs daemonizes once the mount is up; a mount that takes longer than this is broken. */
  static final Duration MOUNT_TIMEOUT = Duration.ofSeconds(30);
  static final Duration UNMOUNT_TIMEOUT = Duration.ofSeconds(20);

  private final Path source;
  private final Path mountPoint;
  private boolean mounted;

  private Bindfs(Path source, Path mountPoint) {
    this.source = source;
    this.mountPoint = mountPoint;
    this.mounted = true;
  }

  /** Finds bindfs on {@code pathVariable} or fails with {@link #NOT_FOUND}. */
  public static Path locate(String pathVariable) {
    if (pathVariable != null) {
      for (String dir : pathVariable.split(File.pathSeparator)) {
        Path candidate = dir.isEmpty() ? null : Path.of(dir, "bindfs");
        if (candidate != null && Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
          return candidate;
        }
      }
    }
    throw new UserError(NOT_FOUND);
  }

  /** The exact command line, for the report. */
  public static List<String> command(Path binary, Path source, Path mountPoint) {
    return List.of(binary.toString(), "-o", "big_writes", source.toString(), mountPoint.toString());
  }

  /** Mounts {@code source} at {@code mountPoint} (both existing directories); fails with bindfs's message. */
  public static Bindfs mount(Path binary, Path source, Path mountPoint) throws IOException {
    List<String> cmd = command(binary, source, mountPoint);
    Path messages = Files.createTempFile("shoal-bench-bindfs", ".log");
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(messages.toFile()).start();
      boolean exited;
      try {
        exited = p.waitFor(MOUNT_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        exited = false;
      }
      Bindfs b = new Bindfs(source, mountPoint);
      if (!exited || p.exitValue() != 0 || !MountInfo.hasFuseMount(mountPoint)) {
        p.destroyForcibly();
        b.close();
        String why = Files.readAllLines(messages, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank())
            .reduce((x, y) -> y).orElse(exited ? "exit " + p.exitValue() + ", no mount" : "timed out");
        throw new IOException(String.join(" ", cmd) + " failed: " + why);
      }
      LOG.info("bindfs: {} mounted at {}", source, mountPoint);
      return b;
    } finally {
      Files.deleteIfExists(messages);
    }
  }

  public Path mountPoint() {
    return mountPoint;
  }

  public Path source() {
    return source;
  }

  /** Unmounts: {@code umount}, then {@link FuseMounts#detach} (lazy) if the mount is still there. */
  @Override
  public void close() {
    if (!mounted) {
      return;
    }
    mounted = false;
    if (MountInfo.hasFuseMount(mountPoint)) {
      try {
        Process p = new ProcessBuilder("umount", mountPoint.toString()).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        if (!p.waitFor(UNMOUNT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
          p.destroyForcibly();
        }
      } catch (IOException e) {
        LOG.warn("umount {} failed: {}", mountPoint, e.getMessage());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (!FuseMounts.detach(mountPoint)) {
      LOG.warn("bindfs mount {} could not be removed; run 'umount -l {}'", mountPoint, mountPoint);
    }
  }
}
