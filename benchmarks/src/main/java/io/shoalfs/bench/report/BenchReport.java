package io.shoalfs.bench.report;

import io.shoalfs.bench.jfr.JfrSummary;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one `shoal bench` run measured; written as report.json and rendered as report.md and the plots.
 *
 * @param timestamp ISO-8601 start time (UTC)
 * @param parts the parts that ran, in order: metadata, cp, fio
 * @param targets shoal, bindfs, local: where each target's work ran
 * @param results one row per benchmark, every target side by side, with the ratios
 * @param goals the targets (acceptance 7), each PASS, MISS or NOT_MEASURED
 * @param copies each target's cp -a in detail (empty when cp did not run)
 * @param fioRuns every fio invocation, in the order they ran
 * @param profiles summaries of the JFR recordings taken with --jfr (empty without it)
 */
public record BenchReport(
    int formatVersion,
    String timestamp,
    List<String> parts,
    Settings settings,
    List<Target> targets,
    List<Row> results,
    List<Goal> goals,
    List<Copy> copies,
    List<FioRun> fioRuns,
    List<JfrSummary.Summary> profiles,
    MachineInfo machine) {

  /** 2: three targets, metadata and cp rows, goals, profiles (1 had only fio on shoal and local). */
  public static final int FORMAT_VERSION = 2;
  public static final String SHOAL = "shoal";
  public static final String BINDFS = "bindfs";
  public static final String LOCAL = "local";
  public static final List<String> TARGET_NAMES = List.of(SHOAL, BINDFS, LOCAL);

  public BenchReport {
    parts = List.copyOf(parts);
    targets = List.copyOf(targets);
    results = List.copyOf(results);
    goals = List.copyOf(goals);
    copies = List.copyOf(copies);
    fioRuns = List.copyOf(fioRuns);
    profiles = List.copyOf(profiles);
  }

  /**
   * How the run was set up.
   *
   * @param filesPerThread metadata benchmark: empty files each thread creates, stats, renames and unlinks
   * @param threads metadata benchmark: the thread counts
   * @param manyDirs directories of the many-dirs layout
   * @param statMinSeconds the timed stat phase repeats passes until this long has passed
   * @param cpSource the tree copied with cp -a (staged on the local disk first)
   * @param bindfsCommand how the bindfs target was mounted
   */
  public record Settings(int filesPerThread, List<Integer> threads, int manyDirs, double statMinSeconds,
      long fioSizeBytes, int fioBlockSizeBytes, long fioRuntimeLimitSeconds, String fioVersion, String cpSource,
      long cpFiles, long cpDirs, long cpSymlinks, long cpBytes, String bindfsCommand) {}

  /** Where a target's work ran. {@code name} is shoal, bindfs or local. */
  public record Target(String name, String path, String filesystemType) {}

  /**
   * One benchmark on every target.
   *
   * @param part metadata, cp or fio
   * @param id e.g. create-16t-one-dir, cp-a, seq-write-1m
   * @param unit "ops/s", "MiB/s" (higher is better) or "s" (lower is better)
   * @param values per target; null where it failed
   * @param errors per target, only where it failed: one line
   * @param shoalPerBindfs shoal / bindfs (of the values in {@code unit}); null when either is missing
   * @param shoalPerLocal shoal / local, likewise
   */
  public record Row(String part, String id, String description, String unit, Map<String, Double> values,
      Map<String, String> errors, Double shoalPerBindfs, Double shoalPerLocal) {

    public Row {
      values = new LinkedHashMap<>(values);
      errors = new LinkedHashMap<>(errors);
    }

    public static Row of(String part, String id, String description, String unit, Map<String, Double> values,
        Map<String, String> errors) {
      return new Row(part, id, description, unit, values, errors, ratio(values.get(SHOAL), values.get(BINDFS)),
          ratio(values.get(SHOAL), values.get(LOCAL)));
    }

    public Double value(String target) {
      return values.get(target);
    }

    private static Double ratio(Double a, Double b) {
      return a == null || b == null || b == 0 ? null : a / b;
    }
  }

  public enum Verdict { PASS, MISS, NOT_MEASURED }

  /**
   * One target of the issue.
   *
   * @param measured the figure compared, in words (the worst row it covers, named), or why it was not measured
   */
  public record Goal(String id, String description, String measured, Verdict verdict) {}

  /** One target's cp -a in detail. */
  public record Copy(String target, String command, double seconds, int exitCode, long errorLines,
      List<String> firstErrors, boolean exact, String mismatch) {}

  /** One fio invocation. {@code completed} is false when the runtime limit ended the job early. */
  public record FioRun(String target, String workload, String commandLine, long bytes, long runtimeMs,
      double mibPerSec, boolean completed, String fioJson) {}
}
