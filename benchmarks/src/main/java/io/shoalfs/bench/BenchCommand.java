package io.shoalfs.bench;

import io.shoalfs.bench.fio.Fio;
import io.shoalfs.bench.fio.FioOutput;
import io.shoalfs.bench.fio.JobFiles;
import io.shoalfs.bench.report.BenchReport;
import io.shoalfs.bench.report.MachineInfo;
import io.shoalfs.bench.report.ReportWriter;
import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.UserError;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code shoal bench}: fio's 1 MiB sequential write and read on the Shoal mount and on the local disk in the
 * same run, both figures and their ratio printed and written to a report (report.md + report.json).
 *
 * <p>The fio job files come from benchmarks/fio/, packaged into the jar ({@link JobFiles}); relative
 * defaults resolve against the working directory (the mount, as `bin/shoal local` uses it) or against the
 * project root (the report: system property {@code shoal.home}, else the working directory).
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = {"Run fio's 1 MiB sequential write and read on a Shoal mount and on the local disk,",
        "print both throughputs and their ratio, and write a report (report.md, report.json)."})
public final class BenchCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(BenchCommand.class);
  private static final Path DEFAULT_MOUNT = Path.of(".shoal", "mnt");
  private static final long MIN_SIZE = 1024 * 1024;
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(s|m|h)?");
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
  private static final String DATA_DIR_PREFIX = ".shoal-bench-";

  /** The two workloads, in the order they run on each target (the read reads what the write wrote). */
  private static final List<Workload> WORKLOADS = List.of(
      new Workload("seq-write-1m", JobFiles.SEQ_WRITE_1M, "sequential write, 1 MiB blocks, end_fsync", true),
      new Workload("seq-read-1m", JobFiles.SEQ_READ_1M, "sequential read, 1 MiB blocks, page cache invalidated", false));

  private record Workload(String id, String jobFile, String description, boolean write) {}

  private record Target(String name, Path dir) {}

  @Spec
  private CommandSpec spec;

  @Option(names = "--mount", paramLabel = "M",
      description = "The Shoal mount to measure (default: ./.shoal/mnt, where `bin/shoal local` mounts).")
  private Path mount;

  @Option(names = "--local-dir", paramLabel = "L",
      description = "A local-disk directory to compare with (default: a scratch directory under --out).")
  private Path localDir;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Where the report goes (default: benchmarks/results/<UTC timestamp>/ under the project root).")
  private Path out;

  @Option(names = "--size", paramLabel = "SIZE", defaultValue = "256Mi",
      description = "Bytes each job writes or reads: bytes or Ki/Mi/Gi (default: ${DEFAULT-VALUE}).")
  private String size;

  @Option(names = "--runtime-limit", paramLabel = "DURATION", defaultValue = "60s",
      description = "Stop each job after this long even if --size is not done: N, Ns, Nm or Nh (default: ${DEFAULT-VALUE}).")
  private String runtimeLimit;

  private final Map<String, String> environment;

  public BenchCommand() {
    this(System.getenv());
  }

  /** For tests: {@code environment} supplies PATH, where fio is looked up. */
  BenchCommand(Map<String, String> environment) {
    this.environment = Map.copyOf(environment);
  }

  @Override
  public Integer call() throws IOException {
    long sizeBytes = Sizes.parse(size);
    if (sizeBytes < MIN_SIZE) {
      throw new UserError("--size must be at least 1Mi (one 1 MiB block), got " + size);
    }
    long runtimeSeconds = parseSeconds(runtimeLimit);
    Path shoalDir = validatedMount();
    if (localDir != null && !Files.isDirectory(localDir)) {
      throw new UserError("local directory " + localDir + " is not a directory");
    }
    Fio fio = Fio.locate(environment.get("PATH"));

    Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String stamp = STAMP.format(started);
    Path outDir = (out != null ? out : projectRoot().resolve(Path.of("benchmarks", "results", stamp))).toAbsolutePath().normalize();
    if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
      throw new UserError("--out " + outDir + " is not a directory");
    }
    Files.createDirectories(outDir.resolve("fio-json"));
    Path localBase = localDir != null ? localDir.toAbsolutePath().normalize() : outDir.resolve("local-scratch");
    Files.createDirectories(localBase);
    List<Target> targets = List.of(
        new Target("shoal", shoalDir.resolve(DATA_DIR_PREFIX + stamp)),
        new Target("local", localBase.resolve(DATA_DIR_PREFIX + stamp)));
    List<BenchReport.Target> described = List.of(
        new BenchReport.Target("shoal", shoalDir.toString(), fsType(shoalDir)),
        new BenchReport.Target("local", localBase.toString(), fsType(localBase)));
    if (!described.getFirst().filesystemType().startsWith("fuse")) {
      LOG.warn("{} is not a FUSE mount (filesystem type {}); measuring it anyway", shoalDir,
          described.getFirst().filesystemType());
    }

    Thread stopFio = new Thread(fio::stopRunning, "shoal-bench-stop-fio");
    Runtime.getRuntime().addShutdownHook(stopFio);
    List<BenchReport.Run> runs = new ArrayList<>();
    String fioVersion = "unknown";
    try {
      for (Target target : targets) {
        for (Workload w : WORKLOADS) {
          FioRunResult r = runOne(fio, target, w, sizeBytes, runtimeSeconds, outDir);
          runs.add(r.run());
          fioVersion = r.fioVersion();
        }
        deleteTree(target.dir());
      }
    } finally {
      targets.forEach(t -> deleteTree(t.dir()));
      if (localDir == null) {
        deleteTree(localBase);
      }
      try {
        Runtime.getRuntime().removeShutdownHook(stopFio);
      } catch (IllegalStateException shuttingDown) {
        // the hook is running or about to: nothing to undo
      }
    }

    BenchReport report = new BenchReport(BenchReport.FORMAT_VERSION, started.toString(), sizeBytes, (int) MIN_SIZE,
        runtimeSeconds, fioVersion, described, results(runs), runs, MachineInfo.current());
    ReportWriter.write(report, outDir);

    PrintWriter stdout = spec.commandLine().getOut();
    for (BenchReport.Result r : report.results()) {
      stdout.printf("%-13s shoal %8s MiB/s   local %8s MiB/s   shoal/local %s%n", r.workload() + ":",
          ReportWriter.mib(r.shoalMibPerSec()), ReportWriter.mib(r.localMibPerSec()), ReportWriter.ratio(r.ratio()));
    }
    stdout.println("report: " + outDir.resolve(ReportWriter.MARKDOWN));
    stdout.flush();
    return 0;
  }

  private record FioRunResult(BenchReport.Run run, String fioVersion) {}

  private FioRunResult runOne(Fio fio, Target target, Workload w, long sizeBytes, long runtimeSeconds, Path outDir)
      throws IOException {
    Files.createDirectories(target.dir());
    Path jobFile = JobFiles.extract(w.jobFile(), outDir.resolve("fio"));
    String jsonName = "fio-json/" + target.name() + "-" + w.id() + ".json";
    Map<String, String> env = Map.of(
        "BENCH_DIR", target.dir().toString(),
        "BENCH_SIZE", Long.toString(sizeBytes),
        "BENCH_RUNTIME", Long.toString(runtimeSeconds));
    // fio's own runtime cap ends the I/O; the wait bound leaves room for the final fsync and file layout.
    Duration timeout = Duration.ofSeconds(runtimeSeconds * 2 + 300);
    LOG.info("running {} on {} ({})", w.id(), target.name(), target.dir());
    Fio.Run run = fio.run(jobFile, env, outDir.resolve(jsonName), timeout);
    FioOutput.Job job = run.output().job(w.id());
    if (job.error() != 0) {
      throw new UserError("fio job " + w.id() + " on " + target.name() + " failed with error " + job.error()
          + " (see " + outDir.resolve(jsonName) + ")", 1);
    }
    FioOutput.Direction d = w.write() ? job.write() : job.read();
    if (d.ioBytes() == 0) {
      throw new UserError("fio job " + w.id() + " on " + target.name() + " moved no data (see " + outDir.resolve(jsonName) + ")", 1);
    }
    LOG.info("{} on {}: {} MiB/s", w.id(), target.name(), ReportWriter.mib(d.mibPerSec()));
    return new FioRunResult(new BenchReport.Run(target.name(), w.id(), run.commandLine(), d.ioBytes(), d.runtimeMs(),
        d.mibPerSec(), d.ioBytes() >= sizeBytes, jsonName), run.output().fioVersion());
  }

  private static List<BenchReport.Result> results(List<BenchReport.Run> runs) {
    List<BenchReport.Result> results = new ArrayList<>();
    for (Workload w : WORKLOADS) {
      double shoal = figure(runs, "shoal", w.id());
      double local = figure(runs, "local", w.id());
      results.add(BenchReport.Result.of(w.id(), w.description(), shoal, local));
    }
    return results;
  }

  private static double figure(List<BenchReport.Run> runs, String target, String workload) {
    return runs.stream().filter(r -> r.target().equals(target) && r.workload().equals(workload)).findFirst()
        .orElseThrow(() -> new IllegalStateException("no " + workload + " run on " + target)).mibPerSec();
  }

  private Path validatedMount() {
    Path m = mount != null ? mount : DEFAULT_MOUNT;
    if (!Files.isDirectory(m)) {
      String hint = mount == null ? " (start Shoal with 'bin/shoal local', or pass --mount)" : "";
      throw new UserError("mount point " + m + " is not a directory" + hint);
    }
    return m.toAbsolutePath().normalize();
  }

  private static Path projectRoot() {
    String home = System.getProperty("shoal.home");
    return home != null && !home.isBlank() ? Path.of(home) : Path.of("");
  }

  /** "60", "60s", "2m", "1h" to seconds (at least 1). */
  static long parseSeconds(String text) {
    Matcher m = DURATION.matcher(text == null ? "" : text.trim());
    if (!m.matches()) {
      throw new UserError("bad --runtime-limit '" + text + "': use N, Ns, Nm or Nh (e.g. 60s)");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new UserError("--runtime-limit '" + text + "' is too large");
    }
    long unit = switch (m.group(2) == null ? "s" : m.group(2)) {
      case "s" -> 1;
      case "m" -> 60;
      case "h" -> 3600;
      default -> throw new IllegalStateException("unreachable: " + m.group(2));
    };
    if (n < 1 || n > 7 * 24 * 3600 / unit) {
      throw new UserError("--runtime-limit must be between 1s and 168h, got " + text);
    }
    return n * unit;
  }

  private static String fsType(Path p) {
    try {
      return Files.getFileStore(p).type();
    } catch (IOException e) {
      return "unknown";
    }
  }

  /** Removes the benchmark's scratch data; a leftover file is reported, never fatal. */
  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException | UncheckedIOException e) {
      LOG.warn("could not remove benchmark data {}: {}", root, e.getMessage());
    }
  }
}
