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

/** {@code shoal snapshot create|delete|list} and {@code shoal clone} against a running cluster. */
class CliSnapshotIT {
  @TempDir Path tmp;

  private ShoalProcess run(String... args) throws Exception {
    ShoalProcess p = ShoalProcess.start(tmp, args);
    p.waitFor(120);
    return p;
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void snapshotsAndClones() throws Exception {
    for (List<String> c : List.of(List.of("snapshot"), List.of("snapshot", "create"), List.of("clone"))) {
      String[] args = java.util.stream.Stream.concat(c.stream(), java.util.stream.Stream.of("--help"))
          .toArray(String[]::new);
      try (ShoalProcess p = run(args)) {
        assertEquals(0, p.process.exitValue(), c + " --help; stderr: " + p.err);
        assertTrue(p.out.stream().anyMatch(l -> l.startsWith("Usage: shoal")), c + " prints usage: " + p.out);
      }
    }
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    ShoalProcess cluster = null;
    try {
      cluster = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("data").toString(), "--mount", mnt.toString(),
          "--meta-replicas", "1", "--storage-daemons", "1");
      LocalClusterIT.awaitStarted(cluster, mnt);
      String meta = cluster.awaitLine("meta: ", 10).substring("meta: ".length());
      try (ShoalProcess p = run("subvolume", "create", "vol", "--size", "1Gi", "--meta", meta)) {
        assertEquals(0, p.process.exitValue(), p.lastErr(10));
      }
      for (int i = 0; i < 2; i++) { // the same snapshot again: exit 0
        try (ShoalProcess p = run("snapshot", "create", "vol", "s1", "--meta", meta)) {
          assertEquals(0, p.process.exitValue(), p.lastErr(10));
          assertTrue(p.out.get(0).startsWith("created snapshot s1 of vol (seq 1) in "), p.out.toString());
        }
      }
      try (ShoalProcess p = run("snapshot", "list", "vol", "--meta", meta)) {
        assertEquals(1, p.out.size(), p.out.toString());
        assertTrue(p.out.get(0).startsWith("s1\t"), p.out.get(0));
      }
      try (ShoalProcess p = run("clone", "vol", "vol-restore", "--snapshot", "s1", "--meta", meta)) {
        assertEquals(0, p.process.exitValue(), p.lastErr(10));
        assertTrue(p.out.get(0).startsWith("cloned vol@s1 as vol-restore in "), p.out.toString());
      }
      try (ShoalProcess p = run("clone", "vol", "vol-live", "--meta", meta)) {
        assertEquals(0, p.process.exitValue(), p.lastErr(10));
      }
      try (ShoalProcess p = run("clone", "vol", "vol-x", "--snapshot", "nope", "--meta", meta)) {
        assertEquals(1, p.process.exitValue());
        assertEquals(1, p.err.size(), "one line: " + p.err);
        assertTrue(p.err.get(0).contains("ENOENT"), p.err.get(0));
      }
      try (ShoalProcess p = run("subvolume", "list", "--meta", meta)) {
        assertTrue(p.out.stream().anyMatch(l -> l.split("\\s+")[0].equals("vol-restore")), p.out.toString());
        assertTrue(p.out.stream().anyMatch(l -> l.split("\\s+")[0].equals("vol-live")), p.out.toString());
      }
      try (ShoalProcess p = run("snapshot", "delete", "vol", "s1", "--meta", meta)) {
        assertEquals(List.of("deleted snapshot s1 of vol"), p.out);
      }
      try (ShoalProcess p = run("snapshot", "list", "vol", "--meta", meta)) {
        assertEquals(List.of(), p.out);
      }
      try (ShoalProcess p = run("snapshot", "delete", "vol", "s1", "--meta", meta)) {
        assertEquals(1, p.process.exitValue());
        assertTrue(p.err.get(0).contains("ENOENT"), p.err.toString());
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
