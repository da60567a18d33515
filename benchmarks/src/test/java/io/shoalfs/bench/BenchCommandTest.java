package io.shoalfs.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.bench.report.BenchReport;
import io.shoalfs.bench.report.ReportWriter;
import io.shoalfs.common.cli.Cli;
import io.shoalfs.common.cli.UserError;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `shoal bench` end to end with the real fio, on two temp directories standing in for the mount and the disk. */
@Timeout(60)
class BenchCommandTest {
  private static final long SIZE = 8L * 1024 * 1024;

  @TempDir
  Path tmp;

  private record Outcome(int exit, String out, String err) {
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
  void measuresBothTargetsAndWritesTheReport() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    Path local = Files.createDirectories(tmp.resolve("local"));
    Path out = tmp.resolve("out");
    Outcome o = run("--mount", mount.toString(), "--local-dir", local.toString(), "--out", out.toString(),
        "--size", "8Mi", "--runtime-limit", "30s");
    assertEquals(0, o.exit(), o.err());

    BenchReport report = ReportWriter.read(out);
    assertEquals(SIZE, report.sizeBytes());
    assertEquals(List.of("seq-write-1m", "seq-read-1m"), report.results().stream().map(BenchReport.Result::workload).toList());
    assertEquals(4, report.runs().size());
    for (BenchReport.Run r : report.runs()) {
      assertEquals(SIZE, r.bytes(), r.toString());
      assertTrue(r.completed(), r.toString());
      assertTrue(r.mibPerSec() > 0, r.toString());
      assertTrue(Files.isRegularFile(out.resolve(r.fioJson())), r.fioJson());
      String dir = r.target().equals("shoal") ? mount.toString() : local.toString();
      assertTrue(r.commandLine().contains("BENCH_DIR=" + dir + "/.shoal-bench-"), r.commandLine());
    }
    assertEquals(List.of(mount.toString(), local.toString()), report.targets().stream().map(BenchReport.Target::path).toList());

    String md = Files.readString(out.resolve("report.md"));
    List<String> stdout = o.out().lines().toList();
    assertEquals(3, stdout.size(), o.out());
    for (int i = 0; i < 2; i++) {
      BenchReport.Result r = report.results().get(i);
      assertTrue(r.shoalMibPerSec() > 0 && r.localMibPerSec() > 0, r.toString());
      assertEquals(r.shoalMibPerSec() / r.localMibPerSec(), r.ratio(), 1e-9);
      String shoal = ReportWriter.mib(r.shoalMibPerSec());
      String localMib = ReportWriter.mib(r.localMibPerSec());
      String ratio = ReportWriter.ratio(r.ratio());
      assertTrue(md.contains("| " + r.description() + " | " + shoal + " | " + localMib + " | " + ratio + " |"), md);
      String line = stdout.get(i);
      assertTrue(line.startsWith(r.workload() + ":") && line.contains("shoal " ) && line.contains(shoal + " MiB/s")
          && line.contains(localMib + " MiB/s") && line.endsWith("shoal/local " + ratio), line);
    }
    assertEquals("report: " + out.resolve("report.md"), stdout.get(2));
    for (BenchReport.Run r : report.runs()) {
      assertTrue(md.contains(r.commandLine()), "command line missing from report.md: " + r.commandLine());
    }
    assertTrue(md.contains("| " + Runtime.getRuntime().availableProcessors() + " | "), "nproc missing");
    assertTrue(md.contains(report.machine().kernel()) && report.machine().memTotalBytes() > 0, md);
    assertTrue(Files.isRegularFile(out.resolve("fio/seq-write-1m.fio")) && Files.isRegularFile(out.resolve("fio/seq-read-1m.fio")));

    assertEquals(List.of(), leftovers(mount), "benchmark data left on the mount");
    assertEquals(List.of(), leftovers(local), "benchmark data left on the local disk");
  }

  @Test
  void defaultLocalDirIsAScratchDirUnderOutThatIsRemovedAfterwards() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    Path out = tmp.resolve("out");
    Outcome o = run("--mount", mount.toString(), "--out", out.toString(), "--size", "1Mi");
    assertEquals(0, o.exit(), o.err());
    BenchReport report = ReportWriter.read(out);
    assertEquals(out.resolve("local-scratch").toString(), report.targets().get(1).path());
    assertFalse(Files.exists(out.resolve("local-scratch")), "scratch directory left behind");
  }

  @Test
  void missingMountIsOneLineError() throws Exception {
    Path out = tmp.resolve("out");
    Path missing = tmp.resolve("no-such-mount");
    Outcome o = run("--mount", missing.toString(), "--out", out.toString());
    assertEquals(2, o.exit());
    assertEquals(List.of("shoal: mount point " + missing + " is not a directory"), o.errLines());
    assertEquals("", o.out());
    assertFalse(Files.exists(out), "nothing is written for a bad mount");

    Path file = Files.writeString(tmp.resolve("a-file"), "x");
    Outcome f = run("--mount", file.toString(), "--out", out.toString());
    assertEquals(2, f.exit());
    assertEquals(List.of("shoal: mount point " + file + " is not a directory"), f.errLines());
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
  void missingFioIsOneLineError() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    Path emptyBin = Files.createDirectories(tmp.resolve("bin"));
    Outcome o = run(Map.of("PATH", emptyBin.toString()), "--mount", mount.toString(), "--out", tmp.resolve("out").toString());
    assertEquals(2, o.exit());
    assertEquals(List.of("shoal: fio not found: install fio (apt-get install fio)"), o.errLines());
  }

  @Test
  void badSizesAndDurationsAreOneLineErrors() throws Exception {
    Path mount = Files.createDirectories(tmp.resolve("mount"));
    for (String[] args : new String[][] {
        {"--size", "1Ki"}, {"--size", "lots"}, {"--runtime-limit", "soon"}, {"--runtime-limit", "0s"}, {"--bogus"}}) {
      String[] full = Stream.concat(Stream.of("--mount", mount.toString()), Stream.of(args)).toArray(String[]::new);
      Outcome o = run(full);
      assertEquals(2, o.exit(), String.join(" ", args));
      assertEquals(1, o.errLines().size(), o.err());
      assertTrue(o.err().startsWith("shoal: "), o.err());
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

  private static List<Path> leftovers(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      List<Path> found = s.toList();
      assertNotNull(found);
      return found;
    }
  }
}
