package io.shoalfs.bench;

import io.shoalfs.bench.copy.CopyBench;
import io.shoalfs.bench.fio.Fio;
import io.shoalfs.bench.fio.FioOutput;
import io.shoalfs.bench.fio.JobFiles;
import io.shoalfs.bench.jfr.Jfr;
import io.shoalfs.bench.jfr.JfrSummary;
import io.shoalfs.bench.meta.MetadataBench;
import io.shoalfs.bench.report.BenchReport;
import io.shoalfs.bench.report.BenchReport.Row;
import io.shoalfs.bench.report.Goals;
import io.shoalfs.bench.report.MachineInfo;
import io.shoalfs.bench.report.ReportWriter;
import io.shoalfs.bench.bindfs.Bindfs;
import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.UserError;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code shoal bench}: the metadata benchmark (create, stat, rename, unlink), {@code cp -a} of a tree, and fio's
 * 1 MiB sequential write and read, each on three targets in the same run: the Shoal mount, a bindfs
 * passthrough of a local directory (mounted here, unmounted in all cases) and the local disk itself. Prints one
 * line per benchmark and the issue's goals, and writes report.md, report.json and plot-*.png.
 *
 * <p>A failure of one benchmark on one target (today's Shoal has no symlinks, so its cp -a fails) is reported in
 * that row and the suite goes on; bad flags, missing tools and a local disk that cannot hold the scratch data
 * stop it with one line.
 */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmark a Shoal mount against a bindfs passthrough and the local disk in one run (metadata "
        + "operations, cp -a of a tree, fio sequential and 4 KiB random I/O); writes report.md, report.json and plots.")
public final class BenchCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(BenchCommand.class);
  private static final Path DEFAULT_MOUNT = Path.of(".shoal", "mnt");
  private static final long MIN_SIZE = 1024 * 1024;
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(s|m|h)?");
  private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss").withZone(ZoneOffset.UTC);
  private static final String DATA_DIR_PREFIX = ".shoal-bench-";
  static final List<String> PARTS = List.of("metadata", "cp", "fio");
  static final int MAX_FILES = 1_000_000;
  static final int MAX_THREADS = 256;

  /** The two fio workloads, in the order they run on each target (the read reads what the write wrote). */
  private static final List<Workload> WORKLOADS = List.of(
      new Workload("seq-write-1m", JobFiles.SEQ_WRITE_1M, "sequential write, 1 MiB blocks, end_fsync", true),
      new Workload("seq-read-1m", JobFiles.SEQ_READ_1M, "sequential read, 1 MiB blocks, page cache invalidated", false),
      new Workload("rand-write-4k", JobFiles.RAND_WRITE_4K, "random write, 4 KiB blocks, 4 jobs, end_fsync", true),
      new Workload("rand-read-4k", JobFiles.RAND_READ_4K, "random read, 4 KiB blocks, 4 jobs, page cache invalidated",
          false));

  private record Workload(String id, String jobFile, String description, boolean write) {}

  /** A target's name and the scratch directory its work runs in. */
  private record Target(String name, Path dir) {}

  @Spec
  private CommandSpec spec;

  @Option(names = "--mount", paramLabel = "M",
      description = "The Shoal mount to measure (default: ./.shoal/mnt, where `bin/shoal local` mounts).")
  private Path mount;

  @Option(names = "--local-dir", paramLabel = "L",
      description = "A local-disk directory for the local and bindfs targets (default: a scratch directory under --out).")
  private Path localDir;

  @Option(names = "--out", paramLabel = "DIR",
      description = "Where the report goes (default: benchmarks/results/<UTC timestamp>/ under the project root).")
  private Path out;

  @Option(names = "--only", paramLabel = "PARTS", defaultValue = "metadata,cp,fio",
      description = "Which parts run, comma-separated: metadata, cp, fio (default: all).")
  private String only;

  @Option(names = "--files", paramLabel = "N", defaultValue = "100",
      description = "Metadata benchmark: empty files per thread (default: ${DEFAULT-VALUE}).")
  private String files;

  @Option(names = "--threads", paramLabel = "LIST", defaultValue = "1,16",
      description = "Metadata benchmark: thread counts, comma-separated (default: ${DEFAULT-VALUE}).")
  private String threads;

  @Option(names = "--cp-source", paramLabel = "DIR", defaultValue = "/usr/share/doc",
      description = "The tree copied with cp -a (default: ${DEFAULT-VALUE}).")
  private Path cpSource;

  @Option(names = "--size", paramLabel = "SIZE", defaultValue = "256Mi",
      description = "fio: bytes each job writes or reads: bytes or Ki/Mi/Gi (default: ${DEFAULT-VALUE}).")
  private String size;

  @Option(names = "--runtime-limit", paramLabel = "DURATION", defaultValue = "60s",
      description = "fio: stop each job after this long even if --size is not done: N, Ns, Nm or Nh (default: ${DEFAULT-VALUE}).")
  private String runtimeLimit;

  @Option(names = "--jfr", paramLabel = "PID[,PID...]",
      description = "JFR-record these JVMs (e.g. the `shoal mount` process, the metadata leader) while each part "
          + "runs on Shoal; recordings go to OUT/jfr/ and are summarised in the report.")
  private String jfrPids;

  private final Map<String, String> environment;

  public BenchCommand() {
    this(System.getenv());
  }

  /** For tests: {@code environment} supplies PATH, where fio and bindfs are looked up. */
  BenchCommand(Map<String, String> environment) {
    this.environment = Map.copyOf(environment);
  }

  @Override
  public Integer call() throws IOException {
    List<String> parts = parseParts(only);
    int filesPerThread = parseFiles(files);
    List<Integer> threadCounts = parseThreads(threads);
    long sizeBytes = Sizes.parse(size);
    if (sizeBytes < MIN_SIZE) {
      throw new UserError("--size must be at least 1Mi (one 1 MiB block), got " + size);
    }
    long runtimeSeconds = parseSeconds(runtimeLimit);
    List<Long> pids = parsePids(jfrPids);
    Path shoalDir = validatedMount();
    if (localDir != null && !Files.isDirectory(localDir)) {
      throw new UserError("local directory " + localDir + " is not a directory");
    }
    if (parts.contains("cp") && !Files.isDirectory(cpSource)) {
      throw new UserError("--cp-source " + cpSource + " is not a directory");
    }
    Fio fio = parts.contains("fio") ? Fio.locate(environment.get("PATH")) : null;
    Path bindfsBinary = Bindfs.locate(environment.get("PATH"));
    Jfr jfr = pids.isEmpty() ? null : Jfr.forPids(pids);

    Instant started = Instant.now().truncatedTo(ChronoUnit.SECONDS);
    String stamp = STAMP.format(started);
    Path outDir = (out != null ? out : projectRoot().resolve(Path.of("benchmarks", "results", stamp))).toAbsolutePath().normalize();
    if (Files.exists(outDir) && !Files.isDirectory(outDir)) {
      throw new UserError("--out " + outDir + " is not a directory");
    }
    Files.createDirectories(outDir);
    Path localBase = localDir != null ? localDir.toAbsolutePath().normalize() : outDir.resolve("local-scratch");
    Files.createDirectories(localBase);
    Path bindSource = localBase.resolve(DATA_DIR_PREFIX + stamp + "-bindfs-src");
    Path bindMount = localBase.resolve(DATA_DIR_PREFIX + stamp + "-bindfs-mnt");
    Path staging = localBase.resolve(DATA_DIR_PREFIX + stamp + "-cp-source");
    List<Target> targets = List.of(
        new Target(BenchReport.SHOAL, shoalDir.resolve(DATA_DIR_PREFIX + stamp)),
        new Target(BenchReport.BINDFS, bindMount.resolve("bench")),
        new Target(BenchReport.LOCAL, localBase.resolve(DATA_DIR_PREFIX + stamp)));
    String shoalType = fsType(shoalDir);
    if (!shoalType.startsWith("fuse")) {
      LOG.warn("{} is not a FUSE mount (filesystem type {}); measuring it anyway", shoalDir, shoalType);
    }

    Thread stopFio = fio == null ? null : new Thread(fio::stopRunning, "shoal-bench-stop-fio");
    if (stopFio != null) {
      Runtime.getRuntime().addShutdownHook(stopFio);
    }
    Run run = new Run(outDir, jfr);
    List<BenchReport.Target> described;
    CopyBench.Source source = null;
    String fioVersion = "not run";
    try {
      Files.createDirectories(bindSource);
      Files.createDirectories(bindMount);
      try (Bindfs bindfs = mountBindfs(bindfsBinary, bindSource, bindMount)) {
        described = List.of(
            new BenchReport.Target(BenchReport.SHOAL, shoalDir.toString(), shoalType),
            new BenchReport.Target(BenchReport.BINDFS, bindfs.mountPoint() + " (bindfs of " + bindfs.source() + ")",
                fsType(bindMount)),
            new BenchReport.Target(BenchReport.LOCAL, localBase.toString(), fsType(localBase)));
        for (Target t : targets) {
          Files.createDirectories(t.dir());
        }
        if (parts.contains("metadata")) {
          run.metadata(targets, filesPerThread, threadCounts);
        }
        if (parts.contains("cp")) {
          try {
            source = CopyBench.stage(cpSource, staging);
          } catch (IOException e) {
            throw new UserError("cannot stage the cp -a source on the local disk: " + e.getMessage(), 1);
          }
          run.copy(targets, source);
        }
        if (parts.contains("fio")) {
          fioVersion = run.fio(fio, targets, sizeBytes, runtimeSeconds);
        }
      }
    } finally {
      for (Target t : targets) {
        removeScratch(t.dir());
      }
      removeScratch(staging);
      // Never delete through a mount that would not go away: that would walk the bindfs source twice.
      if (!io.shoalfs.common.mount.MountInfo.hasFuseMount(bindMount)) {
        removeScratch(bindSource);
        removeScratch(bindMount);
      }
      if (localDir == null) {
        removeScratch(localBase);
      }
      if (stopFio != null) {
        try {
          Runtime.getRuntime().removeShutdownHook(stopFio);
        } catch (IllegalStateException shuttingDown) {
          // the hook is running or about to: nothing to undo
        }
      }
    }

    BenchReport.Settings settings = new BenchReport.Settings(filesPerThread, threadCounts, MetadataBench.MANY_DIRS,
        MetadataBench.STAT_MIN_TIME.toMillis() / 1000.0, sizeBytes, (int) MIN_SIZE, runtimeSeconds, fioVersion,
        cpSource.toString(), source == null ? 0 : source.files(), source == null ? 0 : source.dirs(),
        source == null ? 0 : source.symlinks(), source == null ? 0 : source.bytes(),
        String.join(" ", Bindfs.command(bindfsBinary, bindSource, bindMount)));
    BenchReport report = new BenchReport(BenchReport.FORMAT_VERSION, started.toString(), parts, settings, described,
        run.rows, Goals.judge(run.rows), run.copies, run.fioRuns, run.profiles, MachineInfo.current());
    ReportWriter.write(report, outDir);

    PrintWriter stdout = spec.commandLine().getOut();
    for (Row r : report.results()) {
      stdout.printf(Locale.ROOT, "%-24s shoal %10s   bindfs %10s   local %10s %-5s  shoal/bindfs %5s   shoal/local %5s%n",
          r.id(), ReportWriter.value(r, BenchReport.SHOAL), ReportWriter.value(r, BenchReport.BINDFS),
          ReportWriter.value(r, BenchReport.LOCAL), r.unit(), ReportWriter.ratio(r.shoalPerBindfs()),
          ReportWriter.ratio(r.shoalPerLocal()));
    }
    for (BenchReport.Goal g : report.goals()) {
      stdout.println("goal " + g.id() + ": " + g.verdict() + " (" + g.measured() + ")");
    }
    stdout.println("report: " + outDir.resolve(ReportWriter.MARKDOWN));
    stdout.flush();
    return 0;
  }

  private static Bindfs mountBindfs(Path binary, Path source, Path mountPoint) {
    try {
      return Bindfs.mount(binary, source, mountPoint);
    } catch (IOException e) {
      throw new UserError(e.getMessage(), 1);
    }
  }

  /** The state of one run: rows and details as the parts add them. */
  private static final class Run {
    final Path outDir;
    final Jfr jfr;
    final List<Row> rows = new ArrayList<>();
    final List<BenchReport.Copy> copies = new ArrayList<>();
    final List<BenchReport.FioRun> fioRuns = new ArrayList<>();
    final List<JfrSummary.Summary> profiles = new ArrayList<>();

    Run(Path outDir, Jfr jfr) {
      this.outDir = outDir;
      this.jfr = jfr;
    }

    void metadata(List<Target> targets, int filesPerThread, List<Integer> threadCounts) {
      List<MetadataBench.Case> cases = new ArrayList<>();
      for (int n : threadCounts) {
        for (MetadataBench.Layout l : MetadataBench.Layout.values()) {
          cases.add(new MetadataBench.Case(n, l));
        }
      }
      // target -> op/case -> measurement
      Map<String, Map<String, MetadataBench.Measurement>> byTarget = new LinkedHashMap<>();
      for (Target t : targets) {
        Map<String, MetadataBench.Measurement> m = new LinkedHashMap<>();
        byTarget.put(t.name(), m);
        MetadataBench bench;
        try {
          bench = new MetadataBench(t.dir().resolve("metadata"), cases, filesPerThread);
        } catch (IOException e) {
          String why = "setup failed: " + e;
          for (MetadataBench.Op op : MetadataBench.Op.values()) {
            for (MetadataBench.Case c : cases) {
              m.put(op.id + "-" + c.id(), new MetadataBench.Measurement(op, c, 0, 0, why));
            }
          }
          continue;
        }
        try (bench) {
          for (MetadataBench.Op op : MetadataBench.Op.values()) {
            profiled(t, op.id, () -> {
              for (MetadataBench.Case c : cases) {
                MetadataBench.Measurement r = bench.run(op, c);
                LOG.info("{} {} on {}: {}", op.id, c.id(), t.name(),
                    r.error() != null ? r.error() : String.format(Locale.ROOT, "%.0f ops/s", r.opsPerSec()));
                m.put(op.id + "-" + c.id(), r);
              }
            });
          }
        }
      }
      for (MetadataBench.Op op : MetadataBench.Op.values()) {
        for (MetadataBench.Case c : cases) {
          String id = op.id + "-" + c.id();
          Map<String, Double> values = new LinkedHashMap<>();
          Map<String, String> errors = new LinkedHashMap<>();
          byTarget.forEach((target, m) -> {
            MetadataBench.Measurement r = m.get(id);
            values.put(target, r.opsPerSec());
            if (r.error() != null) {
              errors.put(target, r.error());
            }
          });
          String desc = op.id + ", " + c.threads() + (c.threads() == 1 ? " thread, " : " threads, ") + c.layout().description
              + (op == MetadataBench.Op.STAT ? " (cached)" : "");
          rows.add(Row.of("metadata", id, desc, "ops/s", values, errors));
        }
      }
    }

    void copy(List<Target> targets, CopyBench.Source source) {
      Map<String, Double> values = new LinkedHashMap<>();
      Map<String, String> errors = new LinkedHashMap<>();
      for (Target t : targets) {
        Path dest = t.dir().resolve("cp");
        profiled(t, "cp", () -> {
          try {
            CopyBench.Result r = CopyBench.run(t.name(), source, dest);
            LOG.info("cp -a on {}: {} s{}", t.name(), String.format(Locale.ROOT, "%.2f", r.seconds()),
                r.problem() == null ? "" : ", " + r.problem());
            copies.add(new BenchReport.Copy(t.name(), r.command(), r.seconds(), r.exitCode(), r.errorLines(),
                r.firstErrors(), r.exact(), r.mismatch()));
            values.put(t.name(), r.problem() == null ? r.seconds() : null);
            if (r.problem() != null) {
              errors.put(t.name(), r.problem());
            }
          } catch (IOException e) {
            values.put(t.name(), null);
            errors.put(t.name(), "cp -a could not run: " + e.getMessage());
          }
        });
        removeScratch(dest);
      }
      rows.add(Row.of("cp", "cp-a", "cp -a of " + source.original() + " (" + source.files() + " files, "
          + source.symlinks() + " symlinks, " + Sizes.format(source.bytes()) + ")", "s", values, errors));
    }

    String fio(Fio fio, List<Target> targets, long sizeBytes, long runtimeSeconds) throws IOException {
      String version = "unknown";
      Map<String, Map<String, Double>> values = new LinkedHashMap<>();
      Map<String, Map<String, String>> errors = new LinkedHashMap<>();
      for (Workload w : WORKLOADS) {
        values.put(w.id(), new LinkedHashMap<>());
        errors.put(w.id(), new LinkedHashMap<>());
      }
      Files.createDirectories(outDir.resolve("fio-json"));
      for (Target t : targets) {
        Path dir = t.dir().resolve("fio");
        Files.createDirectories(dir);
        String[] v = {version};
        profiled(t, "fio", () -> {
          boolean writeFailed = false;
          for (Workload w : WORKLOADS) {
            if (writeFailed) {
              values.get(w.id()).put(t.name(), null);
              errors.get(w.id()).put(t.name(), "not run: the write failed");
              continue;
            }
            try {
              FioRunResult r = runOne(fio, t, dir, w, sizeBytes, runtimeSeconds);
              fioRuns.add(r.run());
              v[0] = r.fioVersion();
              values.get(w.id()).put(t.name(), r.run().mibPerSec());
            } catch (UserError | IOException e) {
              LOG.warn("{} on {} failed: {}", w.id(), t.name(), e.getMessage());
              values.get(w.id()).put(t.name(), null);
              errors.get(w.id()).put(t.name(), e.getMessage());
              writeFailed = w.write();
            }
          }
        });
        version = v[0];
        removeScratch(dir);
      }
      for (Workload w : WORKLOADS) {
        rows.add(Row.of("fio", w.id(), w.description(), "MiB/s", values.get(w.id()), errors.get(w.id())));
      }
      return version;
    }

    private FioRunResult runOne(Fio fio, Target target, Path dir, Workload w, long sizeBytes, long runtimeSeconds)
        throws IOException {
      Path jobFile = JobFiles.extract(w.jobFile(), outDir.resolve("fio"));
      String jsonName = "fio-json/" + target.name() + "-" + w.id() + ".json";
      Map<String, String> env = Map.of(
          "BENCH_DIR", dir.toString(),
          "BENCH_SIZE", Long.toString(sizeBytes),
          "BENCH_RUNTIME", Long.toString(runtimeSeconds));
      // fio's own runtime cap ends the I/O; the wait bound leaves room for the final fsync and file layout.
      Duration timeout = Duration.ofSeconds(runtimeSeconds * 2 + 300);
      LOG.info("running {} on {} ({})", w.id(), target.name(), dir);
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
      return new FioRunResult(new BenchReport.FioRun(target.name(), w.id(), run.commandLine(), d.ioBytes(), d.runtimeMs(),
          d.mibPerSec(), d.ioBytes() >= sizeBytes, jsonName), run.output().fioVersion());
    }

    /**
     * Runs {@code body}; on Shoal with --jfr, inside a JFR recording named shoal-PART, summarised afterwards. A
     * recording that fails is logged and leaves the benchmark alone.
     */
    private void profiled(Target t, String part, Runnable body) {
      if (jfr == null || !t.name().equals(BenchReport.SHOAL)) {
        body.run();
        return;
      }
      String name = "shoal-" + part;
      boolean recording = false;
      try {
        jfr.start(name);
        recording = true;
      } catch (IOException e) {
        LOG.warn("JFR recording {} not started: {}", name, e.getMessage());
      }
      try {
        body.run();
      } finally {
        if (recording) {
          try {
            List<Path> files = jfr.stop(name, outDir.resolve("jfr"));
            for (int i = 0; i < files.size(); i++) {
              profiles.add(JfrSummary.summarize(files.get(i), jfr.pids().get(i), part));
            }
          } catch (IOException e) {
            LOG.warn("JFR recording {} not saved: {}", name, e.getMessage());
          }
        }
      }
    }
  }

  private record FioRunResult(BenchReport.FioRun run, String fioVersion) {}

  static List<String> parseParts(String text) {
    Set<String> chosen = new LinkedHashSet<>();
    for (String p : (text == null ? "" : text).split(",", -1)) {
      String part = p.trim();
      if (!PARTS.contains(part)) {
        throw new UserError("bad --only '" + text + "': use metadata, cp and/or fio, comma-separated");
      }
      chosen.add(part);
    }
    return PARTS.stream().filter(chosen::contains).toList();
  }

  static int parseFiles(String text) {
    int n = parseInt(text, "--files");
    if (n < 1 || n > MAX_FILES) {
      throw new UserError("--files must be between 1 and " + MAX_FILES + ", got " + text);
    }
    return n;
  }

  static List<Integer> parseThreads(String text) {
    Set<Integer> counts = new LinkedHashSet<>();
    for (String p : (text == null ? "" : text).split(",", -1)) {
      int n;
      try {
        n = Integer.parseInt(p.trim());
      } catch (NumberFormatException e) {
        throw new UserError("bad --threads '" + text + "': use thread counts separated by commas, e.g. 1,16");
      }
      if (n < 1 || n > MAX_THREADS) {
        throw new UserError("--threads: each count must be between 1 and " + MAX_THREADS + ", got " + p.trim());
      }
      counts.add(n);
    }
    return List.copyOf(counts);
  }

  static List<Long> parsePids(String text) {
    if (text == null) {
      return List.of();
    }
    List<Long> pids = new ArrayList<>();
    for (String p : text.split(",", -1)) {
      try {
        long pid = Long.parseLong(p.trim());
        if (pid < 1) {
          throw new NumberFormatException();
        }
        pids.add(pid);
      } catch (NumberFormatException e) {
        throw new UserError("bad --jfr '" + text + "': use process ids separated by commas, e.g. 4242,4250");
      }
    }
    return List.copyOf(pids);
  }

  private static int parseInt(String text, String option) {
    try {
      return Integer.parseInt(text == null ? "" : text.trim());
    } catch (NumberFormatException e) {
      throw new UserError("bad " + option + " '" + text + "': use a whole number");
    }
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
  private static void removeScratch(Path root) {
    String problem = MetadataBench.deleteTree(root);
    if (problem != null) {
      LOG.warn("could not remove benchmark data {}: {}", root, problem);
    }
  }
}
