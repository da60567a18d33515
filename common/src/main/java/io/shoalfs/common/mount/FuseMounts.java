package io.shoalfs.common.mount;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Detaching a FUSE mount whose server is gone or will not let go, the same way everywhere. */
public final class FuseMounts {
  private static final Logger LOG = LoggerFactory.getLogger(FuseMounts.class);
  /** A lazy unmount returns at once; a hung one must not hang its caller. */
  private static final long COMMAND_TIMEOUT_SECONDS = 10;

  private FuseMounts() {}

  /**
   * While a FUSE mount is listed at {@code mountPoint}, tries {@code fusermount3 -u -z}, then {@code umount -l}
   * (lazy: files still open are served until closed, nothing blocks on a dead server). Returns true if no FUSE
   * mount is left there. Never touches a mount of another type at that path.
   */
  public static boolean detach(Path mountPoint) {
    for (List<String> cmd : List.of(List.of("fusermount3", "-u", "-z", mountPoint.toString()),
        List.of("umount", "-l", mountPoint.toString()))) {
      if (!MountInfo.hasFuseMount(mountPoint)) {
        return true;
      }
      LOG.warn("{} is still mounted; trying {}", mountPoint, String.join(" ", cmd));
      run(cmd);
    }
    return !MountInfo.hasFuseMount(mountPoint);
  }

  private static void run(List<String> cmd) {
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!p.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      LOG.warn("{} failed: {}", cmd.get(0), e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
