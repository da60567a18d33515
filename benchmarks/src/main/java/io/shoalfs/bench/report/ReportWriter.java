package io.shoalfs.bench.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.shoalfs.common.Sizes;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** Writes a {@link BenchReport} as report.json (for tools) and report.md (for people). */
public final class ReportWriter {
  public static final String JSON = "report.json";
  public static final String MARKDOWN = "report.md";

  private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private ReportWriter() {}

  public static void write(BenchReport report, Path dir) throws IOException {
    Files.createDirectories(dir);
    MAPPER.writeValue(dir.resolve(JSON).toFile(), report);
    Files.writeString(dir.resolve(MARKDOWN), markdown(report));
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

  static String markdown(BenchReport r) {
    StringBuilder md = new StringBuilder();
    md.append("# Shoal benchmark: sequential 1 MiB I/O\n\n");
    md.append("Run ").append(r.timestamp()).append(" with ").append(r.fioVersion()).append(": each job moves ")
        .append(Sizes.format(r.sizeBytes())).append(" in ").append(r.blockSizeBytes() / (1024 * 1024))
        .append(" MiB blocks, each job capped at ").append(r.runtimeLimitSeconds()).append(" s.\n\n");

    md.append("| workload | Shoal (MiB/s) | local disk (MiB/s) | Shoal / local |\n");
    md.append("|---|---:|---:|---:|\n");
    for (BenchReport.Result res : r.results()) {
      md.append("| ").append(res.description()).append(" | ").append(mib(res.shoalMibPerSec())).append(" | ")
          .append(mib(res.localMibPerSec())).append(" | ").append(ratio(res.ratio())).append(" |\n");
    }
    md.append('\n');
    for (BenchReport.Target t : r.targets()) {
      md.append("- ").append(t.name().equals("shoal") ? "Shoal" : "local disk").append(": `").append(t.path())
          .append("` (").append(t.filesystemType()).append(")\n");
    }
    boolean cut = r.runs().stream().anyMatch(run -> !run.completed());
    if (cut) {
      md.append("\nSome jobs were stopped by the runtime limit before moving the whole size (see `completed` in report.json);")
          .append(" their figures cover the part they did.\n");
    }

    md.append("\n## Method\n\n");
    md.append("- Both targets run the same fio job files in the same run, Shoal first: write, then read of the written file.\n");
    md.append("- Buffered I/O (`direct=0`), as applications do. Writes end with `end_fsync=1`; fio counts that fsync in the")
        .append(" job's time, so the write figure is data on stable storage per second.\n");
    md.append("- Reads use `invalidate=1`: fio drops the file's pages from the page cache before reading, so reads reach")
        .append(" the filesystem. This is per file and needs no root, unlike dropping the whole machine's page cache.\n");
    md.append("- The job files are in `fio/` next to this report; fio's raw JSON reports are in `fio-json/`.\n");

    md.append("\n## fio command lines\n\n```\n");
    for (BenchReport.Run run : r.runs()) {
      md.append(run.commandLine()).append('\n');
    }
    md.append("```\n");

    MachineInfo m = r.machine();
    md.append("\n## Machine\n\n");
    md.append("| nproc | memory | kernel | CPU | OS | Java |\n|---|---|---|---|---|---|\n");
    md.append("| ").append(m.nproc()).append(" | ").append(m.memTotalBytes() < 0 ? "unknown" : Sizes.format(m.memTotalBytes()))
        .append(" | ").append(m.kernel()).append(" | ").append(m.cpuModel()).append(" | ").append(m.os())
        .append(" | ").append(m.java()).append(" |\n");
    return md.toString();
  }
}
