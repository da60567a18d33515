package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The administrative commands against a running cluster, and --help of every command. */
class CliCommandsIT {
  @TempDir Path tmp;

  private ShoalProcess run(String... args) throws Exception {
    ShoalProcess p = ShoalProcess.start(tmp, args);
    p.waitFor(120);
    return p;
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void everyCommandHasHelp() throws Exception {
    List<List<String>> commands = List.of(List.of(), List.of("local"), List.of("meta"), List.of("storage"),
        List.of("mount"), List.of("csi"), List.of("subvolume"), List.of("subvolume", "create"), List.of("subvolume", "resize"), List.of("status"),
        List.of("bench"));
    for (List<String> c : commands) {
      List<String> args = new ArrayList<>(c);
      args.add("--help");
      try (ShoalProcess p = run(args.toArray(String[]::new))) {
        assertEquals(0, p.process.exitValue(), c + " --help; stderr: " + p.err);
        assertTrue(p.out.stream().anyMatch(l -> l.startsWith("Usage: shoal")), c + " prints usage: " + p.out);
      }
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void subvolumesAndStatus() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    ShoalProcess cluster = null;
    try {
      cluster = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("data").toString(), "--mount", mnt.toString(),
          "--meta-replicas", "1", "--storage-daemons", "1");
      LocalClusterIT.awaitStarted(cluster, mnt);
      String meta = cluster.awaitLine("meta: ", 10).substring("meta: ".length());

      try (ShoalProcess p = run("subvolume", "create", "vol-1", "--size", "10Gi", "--meta", meta)) {
        assertEquals(0, p.process.exitValue(), p.lastErr(10));
        assertEquals(List.of("created vol-1: 10.0Gi (10737418240 bytes), no inode limit"), p.out);
      }
      try (ShoalProcess p = run("subvolume", "create", "vol-1", "--size", "5Gi", "--meta", meta)) {
        assertEquals(1, p.process.exitValue());
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).startsWith("shoal: subvolume vol-1 exists with 10.0Gi"), p.err.get(0));
      }
      try (ShoalProcess p = run("subvolume", "create", "vol-2", "--size", "ten", "--meta", meta)) {
        assertEquals(2, p.process.exitValue());
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).contains("bad size 'ten'"), p.err.get(0));
      }
      try (ShoalProcess p = run("subvolume", "list", "--meta", meta)) {
        assertEquals(2, p.out.size(), String.join("\n", p.out));
        assertEquals(List.of("vol-1", "10.0Gi", "0B", "0%", "1", "-", "0"), List.of(p.out.get(1).trim().split("\\s+")));
      }
      try (ShoalProcess p = run("status", "--meta", meta)) {
        assertEquals(0, p.process.exitValue(), p.lastErr(10));
        assertTrue(p.out.contains("metadata replicas:"), String.join("\n", p.out));
        assertTrue(p.out.stream().anyMatch(l -> l.matches("  m1  127\\.0\\.0\\.1:\\d+  LEADER  term \\d+  applied \\d+")),
            String.join("\n", p.out));
        assertTrue(p.out.contains("leader: m1"), String.join("\n", p.out));
        assertTrue(p.out.contains("storage groups: 1"), String.join("\n", p.out));
        assertTrue(p.out.stream().anyMatch(l -> l.contains("s1") && l.contains("127.0.0.1:")), String.join("\n", p.out));
        assertTrue(p.out.stream().anyMatch(l -> l.trim().startsWith("vol-1")), String.join("\n", p.out));
      }
      try (ShoalProcess p = run("subvolume", "delete", "vol-1", "--meta", meta)) {
        assertEquals(List.of("deleted vol-1"), p.out);
      }
      try (ShoalProcess p = run("subvolume", "list", "--meta", meta)) {
        assertEquals(1, p.out.size(), "only the header: " + p.out);
      }
      LocalClusterIT.stopAndCheckClean(cluster, mnt);
    } finally {
      if (cluster != null) {
        cluster.close();
      }
      TestMounts.forceUnmount(mnt);
    }
  }
}
