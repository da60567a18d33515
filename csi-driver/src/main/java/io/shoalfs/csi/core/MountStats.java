package io.shoalfs.csi.core;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * statfs(2) of a mount point, answered within a bound even when the mount hangs (its FUSE process stopped, or
 * the metadata service behind it not answering). A thread blocked in statfs on a hung FUSE mount cannot be
 * interrupted, so the call runs in a short-lived {@code stat -f} process instead: after the timeout the caller
 * answers without it and the process is SIGKILLed (a FUSE request not yet taken by the server dies with it; one
 * the server holds ends when the server answers or the mount is aborted). At most {@link #MAX_OUTSTANDING} such
 * processes exist at once, counted until they really exit, so a node full of hung mounts cannot pile up
 * processes or reaper threads; past that bound the answer is immediate.
 */
public final class MountStats {
  /** Well under the 2 s a stats caller is promised, leaving room for the mount-table read and the reply. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofMillis(1500);
  /** stat processes allowed at once, hung ones included. */
  static final int MAX_OUTSTANDING = 16;
  /** A reply is one short line; anything longer is not stat's answer. */
  private static final int MAX_OUTPUT = 4096;

  private final Duration timeout;
  private final Semaphore outstanding = new Semaphore(MAX_OUTSTANDING);

  /**
   * @param blockSize fragment size (the unit of the block counts)
   * @param blocks total blocks
   * @param blocksFree free blocks
   * @param blocksAvailable free blocks for unprivileged users
   * @param files total inodes
   * @param filesFree free inodes
   */
  public record StatFs(long blockSize, long blocks, long blocksFree, long blocksAvailable, long files,
      long filesFree) {
    public long totalBytes() {
      return blocks * blockSize;
    }

    public long usedBytes() {
      return Math.max(0, blocks - blocksFree) * blockSize;
    }

    public long availableBytes() {
      return blocksAvailable * blockSize;
    }

    public long usedFiles() {
      return Math.max(0, files - filesFree);
    }
  }

  /** The answer, or why there is none (a human-readable reason: it becomes the volume condition's message). */
  public sealed interface Result {
    record Ok(StatFs stats) implements Result {}

    record Failed(String reason) implements Result {}
  }

  public MountStats(Duration timeout) {
    this.timeout = timeout;
  }

  public Result statfs(Path mountPoint) {
    if (!outstanding.tryAcquire()) {
      return new Result.Failed("statfs of " + mountPoint + " not attempted: " + MAX_OUTSTANDING
          + " earlier statfs calls on hung mounts have not returned yet");
    }
    Process p;
    try {
      p = new ProcessBuilder("stat", "-f", "-c", "%S %b %f %a %c %d", "--", mountPoint.toString())
          .redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
          .start();
    } catch (IOException e) {
      outstanding.release();
      return new Result.Failed("cannot run stat -f: " + e.getMessage());
    }
    p.onExit().whenComplete((x, t) -> outstanding.release());
    try {
      if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return new Result.Failed("statfs of " + mountPoint + " did not answer within " + timeout.toMillis()
            + " ms: the mount or the metadata service behind it hangs");
      }
      String out = read(p.getInputStream());
      if (p.exitValue() != 0) {
        return new Result.Failed("statfs of " + mountPoint + " failed: " + out);
      }
      return parse(mountPoint, out);
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      return new Result.Failed("interrupted while waiting for statfs of " + mountPoint);
    } catch (IOException e) {
      return new Result.Failed("cannot read the statfs of " + mountPoint + ": " + e.getMessage());
    }
  }

  /** The process has exited, so its pipe is at end of file: this read cannot block. */
  private static String read(InputStream in) throws IOException {
    try (in) {
      return new String(in.readNBytes(MAX_OUTPUT), StandardCharsets.UTF_8).trim();
    }
  }

  private static Result parse(Path mountPoint, String out) {
    String[] f = out.split("\\s+");
    if (f.length != 6) {
      return new Result.Failed("unexpected statfs answer for " + mountPoint + ": '" + out + "'");
    }
    try {
      return new Result.Ok(new StatFs(Long.parseLong(f[0]), Long.parseLong(f[1]), Long.parseLong(f[2]),
          Long.parseLong(f[3]), Long.parseLong(f[4]), Long.parseLong(f[5])));
    } catch (NumberFormatException e) {
      return new Result.Failed("unexpected statfs answer for " + mountPoint + ": '" + out + "'");
    }
  }
}
