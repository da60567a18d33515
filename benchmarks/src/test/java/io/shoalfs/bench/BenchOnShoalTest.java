package io.shoalfs.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.bench.report.BenchReport;
import io.shoalfs.bench.report.BenchReport.Row;
import io.shoalfs.bench.report.ReportWriter;
import io.shoalfs.common.cli.Cli;
import io.shoalfs.common.mount.MountInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * `shoal bench` end to end on small sizes against a real Shoal (metadata service, storage daemon, a separate
 * mount process), the bindfs passthrough it mounts itself and the local disk; with --jfr on the mount process.
 * No figure is asserted against a speed: the figures' presence, their ratios and the report are.
 */
@Timeout(300)
class BenchOnShoalTest {
  private static final byte[] PNG_MAGIC = {(byte) 0x89, 'P', 'N', 'G'};

  @TempDir
  static Path shared;
  private static ShoalUnderTest shoal;

  @TempDir
  Path tmp;

  @BeforeAll
  static void startShoal() throws Exception {
    shoal = ShoalUnderTest.start(shared.resolve("mnt"));
  }

  @AfterAll
  static void stopShoal() throws Exception {
    if (shoal != null) {
      shoal.close();
    }
    assertFalse(MountInfo.hasFuseMount(shared.resolve("mnt")), "Shoal mount left behind");
  }

  static BenchCommandTest.Outcome run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Cli.commandLine(new BenchCommand(System.getenv()));
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int exit = cl.execute(args);
    return new BenchCommandTest.Outcome(exit, out.toString(), err.toString());
  }

  /** A small tree like /usr/share/doc: nested directories, files, a relative symlink, a gzip-like binary. */
  static Path sourceTree(Path root) throws Exception {
    Path doc = Files.createDirectories(root.resolve("doc"));
    for (String pkg : List.of("alpha", "beta", "gamma")) {
      Path d = Files.createDirectories(doc.resolve(pkg));
      Files.writeString(d.resolve("copyright"), "Copyright " + pkg + "\n");
      byte[] bin = new byte[70_000];
      for (int i = 0; i < bin.length; i++) {
        bin[i] = (byte) (i * 31 + pkg.length());
      }
      Files.write(d.resolve("changelog.gz"), bin);
    }
    Files.createSymbolicLink(doc.resolve("delta"), Path.of("alpha"));
    return doc;
  }

  @Test
  void measuresShoalBindfsAndLocalInOneRunAndReportsEveryRowRatioGoalAndProfile() throws Exception {
    Path out = tmp.resolve("out");
    Path local = Files.createDirectories(tmp.resolve("local"));
    BenchCommandTest.Outcome o = run("--mount", shoal.mountPoint().toString(), "--local-dir", local.toString(),
        "--out", out.toString(), "--files", "6", "--threads", "1,3", "--cp-source", sourceTree(tmp).toString(),
        "--size", "2Mi", "--runtime-limit", "30s", "--jfr", Long.toString(shoal.mountPid()));
    assertEquals(0, o.exit(), o.err());

    BenchReport report = ReportWriter.read(out);
    assertEquals(BenchReport.FORMAT_VERSION, report.formatVersion());
    assertEquals(List.of("metadata", "cp", "fio"), report.parts());
    assertEquals(BenchReport.TARGET_NAMES, report.targets().stream().map(BenchReport.Target::name).toList());
    assertTrue(report.targets().get(0).filesystemType().startsWith("fuse"), report.targets().toString());
    assertEquals("fuse", report.targets().get(1).filesystemType(), "bindfs is a FUSE mount");

    List<String> expected = new ArrayList<>();
    for (String op : List.of("create", "stat", "rename", "unlink")) {
      for (String c : List.of("1t-one-dir", "1t-many-dirs", "3t-one-dir", "3t-many-dirs")) {
        expected.add(op + "-" + c);
      }
    }
    expected.add("cp-a");
    expected.addAll(List.of("seq-write-1m", "seq-read-1m", "rand-write-4k", "rand-read-4k"));
    assertEquals(expected, report.results().stream().map(Row::id).toList());

    for (Row r : report.results()) {
      // bindfs and the local disk must always give a figure; Shoal may fail a row (today: cp -a's symlinks),
      // and then that row says why instead of a figure.
      for (String t : List.of(BenchReport.BINDFS, BenchReport.LOCAL)) {
        assertNotNull(r.value(t), r.id() + " on " + t + ": " + r.errors());
        assertTrue(r.value(t) > 0, r.toString());
      }
      Double s = r.value(BenchReport.SHOAL);
      if (s == null) {
        assertNotNull(r.errors().get(BenchReport.SHOAL), r.toString());
        assertNull(r.shoalPerBindfs(), r.toString());
      } else {
        assertEquals(s / r.value(BenchReport.BINDFS), r.shoalPerBindfs(), 1e-9, r.id());
        assertEquals(s / r.value(BenchReport.LOCAL), r.shoalPerLocal(), 1e-9, r.id());
      }
    }
    // The metadata rows' operations are counted: every file of every thread, and stat repeats full passes.
    for (Row r : report.results().stream().filter(r -> r.part().equals("metadata")).toList()) {
      assertEquals("ops/s", r.unit());
    }
    assertTrue(report.results().stream().filter(r -> r.part().equals("metadata"))
        .allMatch(r -> r.value(BenchReport.SHOAL) != null), "metadata on Shoal: " + report.results());

    assertEquals(3, report.copies().size());
    for (BenchReport.Copy c : report.copies()) {
      if (!c.target().equals(BenchReport.SHOAL)) {
        assertTrue(c.exact() && c.exitCode() == 0, c.toString());
      }
    }
    assertEquals(12, report.fioRuns().size(), "four fio jobs on each of three targets");
    assertEquals(List.of(6L, 4L, 1L), List.of(report.settings().cpFiles(), report.settings().cpDirs(),
        report.settings().cpSymlinks()), "files, directories, symlinks of the source tree");

    assertEquals(List.of("create-16t", "create-1t", "stat-vs-bindfs", "unlink-16t", "cp-vs-bindfs"),
        report.goals().stream().map(BenchReport.Goal::id).toList());
    assertEquals(BenchReport.Verdict.NOT_MEASURED, report.goals().get(0).verdict(), "no 16-thread run");
    assertTrue(report.goals().get(1).measured().contains("create-1t-"), report.goals().get(1).toString());
    assertTrue(Set.of(BenchReport.Verdict.PASS, BenchReport.Verdict.MISS).contains(report.goals().get(2).verdict()));

    String md = Files.readString(out.resolve("report.md"));
    for (Row r : report.results()) {
      assertTrue(md.contains("| " + r.description() + " | " + ReportWriter.value(r, BenchReport.SHOAL) + " | "
          + ReportWriter.value(r, BenchReport.BINDFS) + " | " + ReportWriter.value(r, BenchReport.LOCAL) + " | "
          + ReportWriter.ratio(r.shoalPerBindfs()) + " | " + ReportWriter.ratio(r.shoalPerLocal()) + " |"), r.id());
    }
    for (String part : List.of("metadata", "cp", "fio")) {
      Path png = out.resolve("plot-" + part + ".png");
      assertTrue(Files.size(png) > 1000, png.toString());
      assertArrayEquals(PNG_MAGIC, Arrays.copyOf(Files.readAllBytes(png), 4), png.toString());
      assertTrue(md.contains("](plot-" + part + ".png)"), part);
    }

    // --jfr: one recording of the mount process per part, each summarised with its samples.
    assertEquals(List.of("create", "stat", "rename", "unlink", "cp", "fio"),
        report.profiles().stream().map(p -> p.part()).toList());
    for (var p : report.profiles()) {
      assertEquals(shoal.mountPid(), p.pid());
      assertTrue(Files.size(out.resolve("jfr").resolve(p.file())) > 0, p.file());
    }
    assertTrue(report.profiles().stream().anyMatch(p -> p.cpuSamples() + p.nativeSamples() > 0), "no samples at all");
    assertTrue(md.contains("## Where the time went (JFR)"), md);

    List<String> stdout = o.out().lines().toList();
    assertEquals(expected.size() + 5 + 1, stdout.size(), o.out());
    assertEquals("report: " + out.resolve("report.md"), stdout.getLast());

    assertNoLeftovers(local);
    try (Stream<Path> s = Files.list(shoal.mountPoint())) {
      assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".shoal-bench-")).toList());
    }
  }

  static void assertNoLeftovers(Path local) throws Exception {
    try (Stream<Path> s = Files.list(local)) {
      assertEquals(List.of(), s.toList(), "scratch data left in " + local);
    }
    for (MountInfo m : MountInfo.readAll()) {
      assertFalse(m.mountPoint().startsWith(local), "mount left behind: " + m);
    }
  }
}
