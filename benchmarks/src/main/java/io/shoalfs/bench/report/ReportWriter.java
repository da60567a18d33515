package io.shoalfs.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.shoalfs.bench.jfr.JfrSummary;
import io.shoalfs.bench.report.BenchReport.Row;
import io.shoalfs.common.Sizes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes a {@link BenchReport} as report.json (for tools), report.md (for people) and plot-PART.png. */
public final class ReportWriter {
  private static final Logger LOG = LoggerFactory.getLogger(ReportWriter.class);
  public static final String JSON = "report.json";
  public static final String MARKDOWN = "report.md";

  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final List<String> PARTS = List.of("metadata", "cp", "fio");

  private ReportWriter() {}

  public static void write(BenchReport report, Path dir) throws IOException {
    Files.createDirectories(dir);
    MAPPER.writeValue(dir.resolve(JSON).toFile(), report);
    List<String> plots = new ArrayList<>();
    for (String part : PARTS) {
      try {
        String name = Plots.write(report, part, dir);
        if (name != null) {
          plots.add(name);
        }
      } catch (IOException | RuntimeException | LinkageError e) {
        // A plot is a view of the JSON; a machine without fonts must still get the numbers.
        LOG.warn("could not draw the {} plot: {}", part, e.toString());
      }
    }
    Files.writeString(dir.resolve(MARKDOWN), markdown(report, plots));
  }

  public static BenchReport read(Path dir) throws IOException {
    return MAPPER.readValue(dir.resolve(JSON).toFile(), BenchReport.class);
  }

  /** MiB/s as printed everywhere (terminal, markdown). */
  public static String mib(double mibPerSec) {
    return String.format(Locale.ROOT, "%.1f", mibPerSec);
  }

  public static String ratio(Double ratio) {
    return ratio == null ? "n/a" : String.format(Locale.ROOT, "%.2f", ratio);
  }

  /** A row's value in its unit, as printed everywhere; "failed" when the target has no figure. */
  public static String value(Row r, String target) {
    Double v = r.value(target);
    if (v == null) {
      return "failed";
    }
    return switch (r.unit()) {
      case "ops/s" -> String.format(Locale.ROOT, "%,.0f", v);
      case "s" -> String.format(Locale.ROOT, "%.2f", v);
      default -> mib(v);
    };
  }

  static String markdown(BenchReport r, List<String> plots) {
    StringBuilder md = new StringBuilder();
    BenchReport.Settings s = r.settings();
    md.append("# Shoal benchmark\n\n");
    md.append("Run ").append(r.timestamp()).append(": ").append(String.join(", ", r.parts()))
        .append(" on three targets in the same run.\n\n");
    for (BenchReport.Target t : r.targets()) {
      md.append("- **").append(t.name()).append("**: `").append(t.path()).append("` (").append(t.filesystemType())
          .append(")\n");
    }
    if (s.bindfsCommand() != null) {
      md.append("\nbindfs was mounted by the benchmark: `").append(s.bindfsCommand()).append("`.\n");
    }

    md.append("\n## Targets of the issue (acceptance 7)\n\n| target | measured on Shoal | verdict |\n|---|---|---|\n");
    for (BenchReport.Goal g : r.goals()) {
      md.append("| ").append(g.description()).append(" | ").append(cell(g.measured())).append(" | ")
          .append(g.verdict()).append(" |\n");
    }

    for (String part : PARTS) {
      List<Row> rows = r.results().stream().filter(x -> x.part().equals(part)).toList();
      if (rows.isEmpty()) {
        continue;
      }
      String unit = rows.getFirst().unit();
      md.append("\n## ").append(switch (part) {
        case "metadata" -> "Metadata operations (" + unit + ")";
        case "cp" -> "cp -a (" + unit + ")";
        default -> "fio (" + unit + ")";
      }).append("\n\n");
      md.append("| benchmark | Shoal | bindfs | local disk | Shoal / bindfs | Shoal / local |\n");
      md.append("|---|---:|---:|---:|---:|---:|\n");
      List<String> errors = new ArrayList<>();
      for (Row row : rows) {
        md.append("| ").append(row.description()).append(" | ").append(value(row, BenchReport.SHOAL)).append(" | ")
            .append(value(row, BenchReport.BINDFS)).append(" | ").append(value(row, BenchReport.LOCAL)).append(" | ")
            .append(ratio(row.shoalPerBindfs())).append(" | ").append(ratio(row.shoalPerLocal())).append(" |\n");
        row.errors().forEach((target, e) -> errors.add("- " + row.id() + " on " + target + ": " + cell(e)));
      }
      if (!errors.isEmpty()) {
        md.append("\nFailures (the suite went on):\n\n").append(String.join("\n", errors)).append('\n');
      }
      if (part.equals("cp")) {
        md.append("\n| target | seconds | cp exit | cp error lines | exact (diff -r + attributes) | first error or difference |\n");
        md.append("|---|---:|---:|---:|---|---|\n");
        for (BenchReport.Copy c : r.copies()) {
          String first = c.firstErrors().isEmpty() ? (c.mismatch() == null ? "" : c.mismatch()) : c.firstErrors().getFirst();
          md.append("| ").append(c.target()).append(" | ").append(String.format(Locale.ROOT, "%.2f", c.seconds()))
              .append(" | ").append(c.exitCode()).append(" | ").append(c.errorLines()).append(" | ")
              .append(c.exact() ? "yes" : "no").append(" | ").append(cell(first)).append(" |\n");
        }
      }
      String plot = Plots.fileName(part);
      if (plots.contains(plot)) {
        md.append("\n![").append(part).append("](").append(plot).append(")\n");
      }
    }

    if (!r.profiles().isEmpty()) {
      md.append("\n## Where the time went (JFR)\n\n");
      md.append("Recordings taken with `--jfr` (JFR `profile` settings) while Shoal ran each part; the files are in `jfr/`.")
          .append(" CPU samples are threads running Java code; native samples are threads inside native calls")
          .append(" (e.g. waiting on /dev/fuse or a socket); waits are parks and monitor waits longer than JFR's")
          .append(" threshold, summed by the first Shoal frame.\n");
      for (JfrSummary.Summary p : r.profiles()) {
        md.append("\n### ").append(p.part()).append(", pid ").append(p.pid()).append(" (`jfr/").append(p.file())
            .append("`)\n\n").append(p.cpuSamples()).append(" CPU samples, ").append(p.nativeSamples())
            .append(" native samples.\n\n");
        entries(md, "top frame of CPU samples", "samples", p.topFrames());
        entries(md, "first Shoal frame of CPU samples", "samples", p.shoalFrames());
        entries(md, "first Shoal frame of native samples", "samples", p.nativeShoalFrames());
        entries(md, "waits by first Shoal frame", "ms", p.waitsMs());
      }
    }

    md.append("\n## Method\n\n");
    md.append("- Targets run one after another, Shoal first, in each part (metadata, cp, fio); nothing else of the")
        .append(" benchmark runs meanwhile. Other processes on the machine do: see the load average under Machine.\n");
    if (r.parts().contains("metadata")) {
      md.append("- Metadata: Java on the target directory, one platform thread per worker, all released together;")
          .append(" a figure is all threads' operations over the time from release until the last thread ended. Each")
          .append(" thread works on ").append(s.filesPerThread()).append(" empty files of its own; threads: ")
          .append(s.threads()).append("; layouts: one directory shared by all threads, or ").append(s.manyDirs())
          .append(" directories (file i of thread t in directory (t + i * threads) mod ").append(s.manyDirs())
          .append(", so with 16 threads each thread has its own). Every case runs one operation before the next")
          .append(" operation starts: create (`open(O_CREAT|O_EXCL)` + `close`), stat (one untimed pass, then")
          .append(" passes over the same files until ").append(s.statMinSeconds()).append(" s have passed: stat of")
          .append(" cached entries), rename (`rename(2)` to a new name in the same directory), unlink (`unlink(2)`).\n");
    }
    if (r.parts().contains("cp")) {
      md.append("- cp: `").append(s.cpSource()).append("` (").append(s.cpFiles()).append(" files, ").append(s.cpDirs())
          .append(" directories, ").append(s.cpSymlinks()).append(" symlinks, ").append(Sizes.format(s.cpBytes()))
          .append(") is first copied to the local disk (untimed), then `cp -a` of that copy into each target is timed;")
          .append(" the copy is then checked with `diff -r --no-dereference` and by comparing every entry's type,")
          .append(" mode, owner, size, symlink target and mtime. A failed or inexact copy has no figure.\n");
    }
    if (r.parts().contains("fio")) {
      md.append("- fio (").append(s.fioVersion()).append("): each job moves ").append(Sizes.format(s.fioSizeBytes()))
          .append(" (sequential jobs in ").append(s.fioBlockSizeBytes() / (1024 * 1024))
          .append(" MiB blocks; random jobs: 4 jobs of that size each, in 4 KiB blocks), capped at ")
          .append(s.fioRuntimeLimitSeconds()).append(" s; buffered I/O (`direct=0`). Writes end with `end_fsync=1`")
          .append(" inside the timed runtime (data on stable storage per second); reads use `invalidate=1` (fio")
          .append(" drops the file's pages before reading). Job files are in `fio/`, fio's raw JSON in `fio-json/`.\n");
      if (r.fioRuns().stream().anyMatch(run -> !run.completed())) {
        md.append("- Some fio jobs were stopped by the runtime limit before moving the whole size (see `completed` in")
            .append(" report.json); their figures cover the part they did.\n");
      }
      md.append("\n## fio command lines\n\n```\n");
      for (BenchReport.FioRun run : r.fioRuns()) {
        md.append(run.commandLine()).append('\n');
      }
      md.append("```\n");
    }

    MachineInfo m = r.machine();
    md.append("\n## Machine\n\n");
    md.append("| nproc | memory | load average (1/5/15 min, at the end) | kernel | CPU | OS | Java |\n|---|---|---|---|---|---|---|\n");
    md.append("| ").append(m.nproc()).append(" | ").append(m.memTotalBytes() < 0 ? "unknown" : Sizes.format(m.memTotalBytes()))
        .append(" | ").append(m.loadAverage()).append(" | ").append(m.kernel()).append(" | ").append(m.cpuModel()).append(" | ").append(m.os())
        .append(" | ").append(m.java()).append(" |\n");
    return md.toString();
  }

  private static void entries(StringBuilder md, String title, String unit, List<JfrSummary.Entry> list) {
    if (list.isEmpty()) {
      return;
    }
    md.append("| ").append(title).append(" | ").append(unit).append(" | % |\n|---|---:|---:|\n");
    for (JfrSummary.Entry e : list) {
      md.append("| `").append(e.frame()).append("` | ").append(e.value()).append(" | ")
          .append(String.format(Locale.ROOT, "%.1f", e.percent())).append(" |\n");
    }
    md.append('\n');
  }

  /** Text safe inside a markdown table cell. */
  private static String cell(String s) {
    return s == null ? "" : s.replace("|", "\\|").replace('\n', ' ');
  }
}
