package io.shoalfs.cli;

import io.shoalfs.cli.local.Preflight;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** Test safety net: never leave a mount behind, whatever failed. */
final class TestMounts {
  private TestMounts() {}

  static void forceUnmount(Path mount) {
    for (int i = 0; i < 3 && Preflight.isMounted(mount); i++) {
      try {
        new ProcessBuilder("umount", "-l", mount.toString()).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("umount -l " + mount + " failed: " + e);
      }
    }
  }
}
