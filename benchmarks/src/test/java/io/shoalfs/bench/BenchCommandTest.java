package io.shoalfs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.bench.report.BenchReport;
import io.shoalfs.bench.report.BenchReport.Row;
import io.shoalfs.bench.report.ReportWriter;
import io.shoalfs.common.cli.Cli;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.mount.MountInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `shoal bench` flags, one-line errors, and what happens when a target fails: a failing benchmark is a report
 * row, a failure that stops the suite still unmounts bindfs. Targets here are temp directories and small tmpfs
 * mounts (made to fail); the run against a real Shoal is {@link BenchOnShoalTest}.
 */
@Timeout(120)
class BenchCommandTest {
  @TempDir
  Path tmp;

  record Outcome(int exit, String out, String err) {
    List<String> errLines() {
      return err.lines().toList();
    }
  }

  private static Outcome run(Map<String, String> env, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Cli.commandLine(new BenchCommand(env));
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new Outcome(exit, out.toString(), err.toString());
  }

  private static Outcome run(String... args) {
    return run(System.getenv(), args);
  }

  @Test
  void badFlagsAreOneLineErrorsAndWriteNothing() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    Path out = tmp.resolve("out");
    for (String[] args : new String[][] {
        {"--only", "bogus"}, {"--only", ""}, {"--only", "metadata,,fio"}, {"--files", "0"}, {"--files", "many"},
        {"--files", "1000001"}, {"--threads", "0"}, {"--threads", "1,,16"}, {"--threads", "a"}, {"--threads", "257"},
        {"--jfr", "x"}, {"--jfr", "0"}, {"--jfr", "2147483000"}, {"--size", "1Ki"}, {"--size", "lots"},
        {"--runtime-limit", "soon"}, {"--runtime-limit", "0s"}, {"--cp-source", tmp.resolve("none").toString()},
        {"--local-dir", tmp.resolve("none").toString()}, {"--bogus"}}) {
      String[] full = Stream.concat(Stream.of("--mount", mount.toString(), "--out", out.toString()), Stream.of(args))
          .toArray(String[]::new);
      Outcome o = run(full);
      String what = String.join(" ", args);
      assertEquals(2, o.exit(), what + ": " + o.err());
      assertEquals(1, o.errLines().size(), what + ": " + o.err());
      assertTrue(o.err().startsWith("shoal: "), o.err());
      assertEquals("", o.out(), what);
      assertFalse(Files.exists(out), "nothing is written for " + what);
    }
    assertTrue(run("--mount", mount.toString(), "--only", "bogus").err().contains("use metadata, cp and/or fio"));
    assertTrue(run("--mount", mount.toString(), "--jfr", "2147483000").err()
        .contains("no running process with pid 2147483000"));
  }

  @Test
  void missingMountIsOneLineError() throws Exception {
    Path out = tmp.resolve("out");
    Path missing = tmp.resolve("no-such-mount");
    Outcome o = run("--mount", missing.toString(), "--out", out.toString());
    assertEquals(2, o.exit());
    assertEquals(List.of("shoal: mount point " + missing + " is not a directory"), o.errLines());
    assertFalse(Files.exists(out), "nothing is written for a bad mount");
  }

  @Test
  void defaultMountMissingPointsAtShoalLocal() {
    // The default ./.shoal/mnt resolves against the working directory (the module during tests).
    org.junit.jupiter.api.Assumptions.assumeFalse(Files.exists(Path.of(".shoal", "mnt")));
    Outcome o = run("--out", tmp.resolve("out").toString());
    assertEquals(2, o.exit());
    assertEquals(1, o.errLines().size(), o.err());
    assertTrue(o.err().contains(".shoal/mnt is not a directory") && o.err().contains("bin/shoal local"), o.err());
  }

  @Test
  void missingToolsAreOneLineErrors() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    Path emptyBin = Files.createDirectories(tmp.resolve("bin"));
    Outcome o = run(Map.of("PATH", emptyBin.toString()), "--mount", mount.toString(), "--out", tmp.resolve("out").toString());
    assertEquals(2, o.exit());
    assertEquals(List.of("shoal: fio not found: install fio (apt-get install fio)"), o.errLines());

    Outcome b = run(Map.of("PATH", emptyBin.toString()), "--mount", mount.toString(), "--only", "metadata",
        "--out", tmp.resolve("out").toString());
    assertEquals(2, b.exit());
    assertEquals(List.of("shoal: bindfs not found: install bindfs (apt-get install bindfs)"), b.errLines());
  }

  /**
   * A target that fails (a tmpfs of 100 inodes: the 4-thread creates and the cp -a of 120 files fail with ENOSPC) is reported in its rows;
   * the other targets are measured and the report is written.
   */
  @Test
  void aFailingTargetIsReportedInItsRowsAndTheSuiteGoesOn() throws Exception {
    Path small = Files.createDirectories(tmp.resolve("small"));
    mountTmpfs(small, "size=64m,nr_inodes=100");
    try {
      Path out = tmp.resolve("out");
      Path local = Files.createDirectories(tmp.resolve("local"));
      Path tree = BenchOnShoalTest.sourceTree(tmp);
      Path many = Files.createDirectories(tree.resolve("many"));
      for (int i = 0; i < 120; i++) {
        Files.writeString(many.resolve("f" + i), "x");
      }
      Outcome o = run("--mount", small.toString(), "--local-dir", local.toString(), "--out", out.toString(),
          "--only", "metadata,cp", "--files", "10", "--threads", "1,4", "--cp-source", tree.toString());
      assertEquals(0, o.exit(), o.err());
      BenchReport report = ReportWriter.read(out);
      assertEquals(List.of("metadata", "cp"), report.parts());
      Row create4 = row(report, "create-4t-one-dir");
      assertNull(create4.value(BenchReport.SHOAL));
      assertTrue(create4.errors().get(BenchReport.SHOAL).contains("No space left"), create4.toString());
      assertNull(create4.shoalPerBindfs());
      Row unlink4 = row(report, "unlink-4t-one-dir");
      assertEquals("not run: create failed", unlink4.errors().get(BenchReport.SHOAL));
      for (Row r : report.results()) {
        assertNotNull(r.value(BenchReport.BINDFS), r.toString());
        assertNotNull(r.value(BenchReport.LOCAL), r.toString());
        assertFalse(r.errors().containsKey(BenchReport.BINDFS) || r.errors().containsKey(BenchReport.LOCAL), r.toString());
      }
      Row cp = row(report, "cp-a");
      assertNull(cp.value(BenchReport.SHOAL));
      assertTrue(cp.errors().get(BenchReport.SHOAL).startsWith("cp -a failed (exit 1"), cp.toString());
      assertEquals(BenchReport.Verdict.MISS, report.goals().stream()
          .filter(g -> g.id().equals("cp-vs-bindfs")).findFirst().orElseThrow().verdict());
      String md = Files.readString(out.resolve("report.md"));
      assertTrue(md.contains("- create-4t-one-dir on shoal: FileSystemException"), md);
      BenchOnShoalTest.assertNoLeftovers(local);
    } finally {
      umount(small);
    }
  }

  /** A failure that stops the suite (the local disk cannot hold the staged cp source) still unmounts bindfs. */
  @Test
  void bindfsIsUnmountedWhenTheSuiteStops() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    Path small = Files.createDirectories(tmp.resolve("small"));
    Path source = Files.createDirectories(tmp.resolve("big"));
    Files.write(source.resolve("three-mib"), new byte[3 << 20]);
    mountTmpfs(small, "size=1m");
    try {
      Outcome o = run("--mount", mount.toString(), "--local-dir", small.toString(), "--out", tmp.resolve("out").toString(),
          "--only", "cp", "--cp-source", source.toString());
      assertEquals(1, o.exit(), o.err());
      assertEquals(1, o.errLines().size(), o.err());
      assertTrue(o.err().startsWith("shoal: cannot stage the cp -a source on the local disk"), o.err());
      for (MountInfo m : MountInfo.readAll()) {
        assertFalse(m.isFuse() && m.mountPoint().startsWith(small), "bindfs left mounted: " + m);
      }
      try (Stream<Path> s = Files.list(small)) {
        assertEquals(List.of(), s.toList(), "scratch left on the local disk");
      }
    } finally {
      umount(small);
    }
  }

  @Test
  void runtimeLimitParsing() {
    assertEquals(60, BenchCommand.parseSeconds("60"));
    assertEquals(60, BenchCommand.parseSeconds("60s"));
    assertEquals(120, BenchCommand.parseSeconds("2m"));
    assertEquals(3600, BenchCommand.parseSeconds("1h"));
    for (String bad : new String[] {"", "s", "-1s", "1.5s", "0", "999h", "99999999999999999999"}) {
      assertThrows(UserError.class, () -> BenchCommand.parseSeconds(bad), bad);
    }
  }

  @Test
  void listParsing() {
    assertEquals(List.of("metadata", "fio"), BenchCommand.parseParts("fio,metadata"));
    assertEquals(List.of("cp"), BenchCommand.parseParts(" cp "));
    assertEquals(List.of(1, 16, 4), BenchCommand.parseThreads("1,16,4,16"));
    assertEquals(List.of(12L, 34L), BenchCommand.parsePids("12, 34"));
    assertEquals(100, BenchCommand.parseFiles("100"));
  }

  private static Row row(BenchReport report, String id) {
    return report.results().stream().filter(r -> r.id().equals(id)).findFirst().orElseThrow(() -> new AssertionError(id));
  }

  private static void mountTmpfs(Path dir, String options) throws Exception {
    Process p = new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "shoal-bench-test", dir.toString())
        .inheritIO().start();
    assertTrue(p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0, "mount tmpfs on " + dir);
  }

  private static void umount(Path dir) throws Exception {
    for (int i = 0; i < 3 && MountInfo.isMounted(dir); i++) {
      new ProcessBuilder("umount", "-l", dir.toString()).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
    }
    assertFalse(MountInfo.isMounted(dir), "tmpfs left at " + dir);
  }
}
