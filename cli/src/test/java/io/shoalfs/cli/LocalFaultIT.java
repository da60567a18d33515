package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Components of {@code shoal local} killed with SIGKILL: the cluster keeps serving where Raft allows it, the
 * supervisor restarts what died, and a component that cannot start any more stops the cluster with one line.
 */
class LocalFaultIT {
  @TempDir Path tmp;

  /** The live process of a component, found by its command line ({@code ... ShoalMain <args...>}). */
  static Optional<ProcessHandle> component(ShoalProcess shoal, String... args) {
    String wanted = "io.shoalfs.cli.ShoalMain\0" + String.join("\0", args) + "\0";
    shoal.rememberDescendants();
    return shoal.process.descendants().filter(p -> cmdline(p).contains(wanted)).findFirst();
  }

  /** /proc/PID/cmdline: ProcessHandle.Info drops arguments of long command lines. */
  private static String cmdline(ProcessHandle p) {
    try {
      return new String(Files.readAllBytes(Path.of("/proc", String.valueOf(p.pid()), "cmdline")),
          StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "";
    }
  }

  static ProcessHandle awaitComponent(ShoalProcess shoal, long notPid, long seconds, String... args)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      Optional<ProcessHandle> p = component(shoal, args);
      if (p.isPresent() && p.get().pid() != notPid) {
        return p.get();
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no " + String.join(" ", args) + " process (other than " + notPid + ") after "
        + seconds + " s; stderr:\n" + shoal.lastErr(20));
  }

  /** Reads a file through the mount, retrying while the mount is being replaced. */
  static byte[] readEventually(Path file, long seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    IOException last = null;
    while (System.nanoTime() < deadline) {
      try {
        return Files.readAllBytes(file);
      } catch (IOException e) {
        last = e;
        Thread.sleep(500);
      }
    }
    throw new AssertionError("cannot read " + file + " after " + seconds + " s: " + last);
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void killedComponentsAreRestartedWhileTheMountKeepsServing() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    byte[] a = "written before the faults".getBytes(StandardCharsets.UTF_8);
    byte[] b = "written while a metadata replica was down".getBytes(StandardCharsets.UTF_8);
    ShoalProcess shoal = null;
    try {
      shoal = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("data").toString(), "--mount", mnt.toString(),
          "--meta-replicas", "3", "--storage-daemons", "1");
      LocalClusterIT.awaitStarted(shoal, mnt);
      Files.write(mnt.resolve("a.txt"), a);

      ProcessHandle m1 = component(shoal, "meta", "--id", "m1").orElseThrow();
      m1.destroyForcibly();
      // Two of three replicas keep a majority: the namespace and data stay writable.
      Files.write(mnt.resolve("b.txt"), b);
      assertArrayEquals(a, Files.readAllBytes(mnt.resolve("a.txt")));
      ProcessHandle m1Again = awaitComponent(shoal, m1.pid(), 60, "meta", "--id", "m1");
      assertNotEquals(m1.pid(), m1Again.pid());

      ProcessHandle mountProcess = component(shoal, "mount").orElseThrow();
      mountProcess.destroyForcibly();
      awaitComponent(shoal, mountProcess.pid(), 60, "mount");
      assertArrayEquals(a, readEventually(mnt.resolve("a.txt"), 90), "the restarted mount serves old data");
      assertArrayEquals(b, Files.readAllBytes(mnt.resolve("b.txt")));
      assertTrue(shoal.err.stream().anyMatch(l -> l.contains("meta-m1 exited") && l.contains("restarting")),
          "the restart is logged: " + shoal.lastErr(30));

      LocalClusterIT.stopAndCheckClean(shoal, mnt);
    } finally {
      if (shoal != null) {
        shoal.close();
      }
      TestMounts.forceUnmount(mnt);
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void aComponentThatCannotStartAgainStopsTheClusterWithOneLine() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    ShoalProcess shoal = null;
    try {
      // Restarts 200 ms apart (doubling) instead of 1 s: the crash loop is the same, the wait shorter.
      shoal = ShoalProcess.start(tmp, java.util.Map.of("SHOAL_JAVA_OPTS", "-Dshoal.local.firstBackoffMillis=200"),
          "local", "--dir", tmp.resolve("data").toString(), "--mount", mnt.toString(),
          "--meta-replicas", "1", "--storage-daemons", "1");
      LocalClusterIT.awaitStarted(shoal, mnt);
      ProcessHandle storage = component(shoal, "storage", "--id", "s1").orElseThrow();
      String listen = cmdline(storage).split("--listen\0")[1].split("\0")[0];
      int port = Integer.parseInt(listen.substring(listen.lastIndexOf(':') + 1));
      storage.destroyForcibly();
      storage.onExit().get(30, TimeUnit.SECONDS);
      // Another program takes the daemon's port: every restart fails at once.
      try (ServerSocket squatter = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
        int code = shoal.waitFor(180);
        assertEquals(1, code, "exit code; stderr:\n" + shoal.lastErr(30));
        String last = shoal.err.get(shoal.err.size() - 1);
        assertTrue(last.startsWith("shoal: storage-s1 exited with code") && last.contains("restarts"), last);
        assertEquals(1, shoal.err.stream().filter(l -> l.startsWith("shoal: ")).count(), "one error line");
      }
      assertTrue(!io.shoalfs.cli.local.Preflight.isMounted(mnt), "the cluster unmounted on its way out");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!shoal.liveDescendants().isEmpty() && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertEquals(java.util.List.of(), shoal.liveDescendants(), "no component process left");
    } finally {
      if (shoal != null) {
        shoal.close();
      }
      TestMounts.forceUnmount(mnt);
    }
  }
}
