package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI's safety lines with real processes: `shoal local` in ./.shoal and commands without --meta that find
 * it; sizes as users type them (10M is 10^6-based, 10Mi 2^20-based); create of an existing name (same size:
 * exit 0, another size: one line, non-zero); size 0 refused; delete refused while a mount is live unless
 * --force; resize up, and down below usage refused; list and status with usage, mounts and daemon liveness.
 */
class SubvolumeSafetyIT {
  @TempDir Path tmp;

  private ShoalProcess run(Path cwd, String... args) throws Exception {
    ShoalProcess p = ShoalProcess.start(cwd, args);
    p.waitFor(120);
    return p;
  }

  private static String dump(ShoalProcess p) {
    return "stdout:\n" + String.join("\n", p.out) + "\nstderr:\n" + p.lastErr(20);
  }

  /** The list line of {@code name}, split in columns: NAME SIZE USED USE% INODES IQUOTA MOUNTS. */
  private static String[] row(List<String> out, String name) {
    for (String l : out) {
      String[] f = l.trim().split("\\s+");
      if (f[0].equals(name)) {
        return f;
      }
    }
    throw new AssertionError("no line for " + name + " in " + out);
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void subvolumeSafetyLinesAgainstALocalCluster() throws Exception {
    Path work = Files.createDirectories(tmp.resolve("work"));
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    Path volMnt = Files.createDirectories(tmp.resolve("vol-mnt"));
    Path elsewhere = Files.createDirectories(tmp.resolve("elsewhere"));
    ShoalProcess cluster = null;
    ShoalProcess mount = null;
    try {
      // The default --dir: ./.shoal of the working directory.
      cluster = ShoalProcess.start(work, "local", "--mount", mnt.toString(), "--meta-replicas", "1",
          "--storage-daemons", "1");
      LocalClusterIT.awaitStarted(cluster, mnt);
      String meta = cluster.awaitLine("meta: ", 10).substring("meta: ".length());
      assertTrue(Files.readString(work.resolve(".shoal/cluster.properties")).contains("meta.addrs=" + meta.replace(
          ":", "\\:")), "the addresses are written down");

      try (ShoalProcess p = run(work, "subvolume", "create", "vol-a", "--size", "10M")) {
        assertEquals(0, p.process.exitValue(), dump(p));
        assertEquals(List.of("created vol-a: 9.5Mi (10000000 bytes), no inode limit"), p.out);
      }
      try (ShoalProcess p = run(work, "subvolume", "create", "vol-a", "--size", "10M")) {
        assertEquals(0, p.process.exitValue(), dump(p));
        assertEquals(List.of("subvolume vol-a exists: 9.5Mi (10000000 bytes), no inode limit"), p.out);
      }
      try (ShoalProcess p = run(work, "subvolume", "create", "vol-a", "--size", "10Mi")) {
        assertEquals(1, p.process.exitValue(), dump(p));
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).startsWith("shoal: subvolume vol-a exists with 9.5Mi (10000000 bytes)"), p.err.get(0));
      }
      for (String zero : List.of("0", "0Gi", "0G")) {
        try (ShoalProcess p = run(work, "subvolume", "create", "vol-zero", "--size", zero)) {
          assertEquals(2, p.process.exitValue(), dump(p));
          assertEquals(1, p.err.size(), "one line: " + p.err);
          assertTrue(p.err.get(0).contains("size must be more than 0"), p.err.get(0));
        }
      }
      try (ShoalProcess p = run(work, "subvolume", "create", "vol-b", "--size", "10Gi", "--inodes", "1000")) {
        assertEquals(List.of("created vol-b: 10.0Gi (10737418240 bytes), 1000 inodes"), p.out, dump(p));
      }
      try (ShoalProcess p = run(work, "subvolume", "create", "vol-c", "--size", "10G")) {
        assertEquals(List.of("created vol-c: 9.3Gi (10000000000 bytes), no inode limit"), p.out, dump(p));
      }
      try (ShoalProcess p = run(work, "subvolume", "create", "vol-d", "--size", "3000000")) {
        assertEquals(List.of("created vol-d: 2.9Mi (3000000 bytes), no inode limit"), p.out, dump(p));
      }

      // A mount of vol-a with 1 MiB written: list and status show it, delete refuses it.
      mount = ShoalProcess.start(work, "mount", "--meta", meta, "--subvolume", "vol-a", volMnt.toString());
      mount.awaitLine("ready: ", 120);
      Files.write(volMnt.resolve("data"), new byte[1 << 20]);
      try (ShoalProcess p = run(work, "subvolume", "list")) {
        assertEquals(0, p.process.exitValue(), dump(p));
        assertEquals(List.of("NAME", "SIZE", "USED", "USE%", "INODES", "IQUOTA", "MOUNTS"),
            List.of(p.out.get(0).trim().split("\\s+")));
        assertEquals(List.of("vol-a", "9.5Mi", "1.0Mi", "10%", "2", "-", "1"), List.of(row(p.out, "vol-a")));
        assertEquals(List.of("vol-b", "10.0Gi", "0B", "0%", "1", "1000", "0"), List.of(row(p.out, "vol-b")));
      }
      try (ShoalProcess p = run(work, "status")) {
        assertEquals(0, p.process.exitValue(), dump(p));
        assertTrue(p.out.stream().anyMatch(l -> l.contains(" s1 ") && l.contains("up, used ")), dump(p));
        assertEquals("1.0Mi", row(p.out, "vol-a")[2], dump(p));
      }
      try (ShoalProcess p = run(work, "subvolume", "delete", "vol-a")) {
        assertEquals(1, p.process.exitValue(), dump(p));
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).contains("1 live mount session") && p.err.get(0).contains("--force"), p.err.get(0));
      }
      assertTrue(Files.exists(volMnt.resolve("data")), "the refused delete left the volume alone");

      // Resize: down below the usage refused, up allowed.
      try (ShoalProcess p = run(work, "subvolume", "resize", "vol-a", "--size", "512Ki")) {
        assertEquals(1, p.process.exitValue(), dump(p));
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).contains("below its usage"), p.err.get(0));
      }
      try (ShoalProcess p = run(work, "subvolume", "resize", "vol-a", "--size", "20Mi")) {
        assertEquals(0, p.process.exitValue(), dump(p));
        assertTrue(p.out.get(0).startsWith("resized vol-a: 20.0Mi (20971520 bytes)"), dump(p));
      }
      try (ShoalProcess p = run(work, "subvolume", "delete", "vol-a", "--force")) {
        assertEquals(List.of("deleted vol-a"), p.out, dump(p));
      }
      mount.terminate();
      mount.waitFor(60);
      try (ShoalProcess p = run(work, "subvolume", "delete", "vol-b")) {
        assertEquals(List.of("deleted vol-b"), p.out, dump(p));
      }

      // Elsewhere there is no ./.shoal: one line saying what to do.
      try (ShoalProcess p = run(elsewhere, "subvolume", "list")) {
        assertEquals(2, p.process.exitValue(), dump(p));
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).contains("no --meta given and no local cluster"), p.err.get(0));
      }
      try (ShoalProcess p = run(elsewhere, "subvolume", "list", "--meta", meta)) {
        assertEquals(0, p.process.exitValue(), dump(p));
        row(p.out, "vol-c");
      }
      LocalClusterIT.stopAndCheckClean(cluster, mnt);
    } finally {
      if (mount != null) {
        mount.close();
      }
      if (cluster != null) {
        cluster.close();
      }
      TestMounts.forceUnmount(volMnt);
      TestMounts.forceUnmount(mnt);
    }
  }
}
