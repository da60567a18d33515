package io.shoalfs.csi;

import io.shoalfs.csi.core.MountProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Leaves nothing behind under a test's directory, whatever the test did: every mount below it is detached
 * (deepest first, lazily, so a dead FUSE server cannot block it) and every mount process serving a path below
 * it is killed. A leaked FUSE mount would hang later test runs.
 */
final class MountCleanup {
  private MountCleanup() {}

  static void under(Path root) throws Exception {
    String prefix = root.toRealPath().toString();
    for (int round = 0; round < 5; round++) {
      List<String> mounts = mountsUnder(prefix);
      if (mounts.isEmpty()) {
        break;
      }
      for (String m : mounts) {
        new ProcessBuilder("umount", "-l", m).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor(30, TimeUnit.SECONDS);
      }
    }
    for (ProcessHandle h : mountProcessesUnder(prefix)) {
      h.destroyForcibly();
      h.onExit().get(10, TimeUnit.SECONDS);
    }
  }

  static List<String> mountsUnder(String prefix) throws Exception {
    List<String> out = new ArrayList<>();
    for (String line : Files.readAllLines(Path.of("/proc/self/mountinfo"))) {
      String mp = line.split(" ")[4].replace("\\040", " ");
      if (mp.equals(prefix) || mp.startsWith(prefix + "/")) {
        out.add(mp);
      }
    }
    out.sort(Comparator.comparingInt(String::length).reversed());
    return out;
  }

  /**
   * Mount processes serving a path under the prefix. Reads /proc/PID/cmdline itself: ProcessHandle.Info gives no
   * arguments at all for command lines longer than a few KiB, and ours carry a long class path.
   */
  static List<ProcessHandle> mountProcessesUnder(String prefix) {
    return ProcessHandle.allProcesses().filter(h -> {
      String[] args;
      try {
        args = new String(Files.readAllBytes(Path.of("/proc", Long.toString(h.pid()), "cmdline")),
            java.nio.charset.StandardCharsets.UTF_8).split("\0");
      } catch (java.io.IOException e) {
        return false; // exited meanwhile
      }
      boolean mount = false;
      boolean ours = false;
      for (String a : args) {
        mount |= a.equals(MountProcesses.MAIN_CLASS);
        ours |= a.startsWith(prefix);
      }
      return mount && ours;
    }).toList();
  }
}
