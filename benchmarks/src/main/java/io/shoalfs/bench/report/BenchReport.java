package io.shoalfs.bench.report;

import java.util.List;

/**
 * Everything one `shoal bench` run measured; written as report.json and rendered as report.md.
 *
 * @param timestamp ISO-8601 start time (UTC)
 * @param sizeBytes bytes each job reads or writes (unless the runtime limit stops it first)
 * @param runtimeLimitSeconds fio's runtime cap per job
 * @param results one row per workload, both targets side by side
 * @param runs every fio invocation, in the order they ran
 */
public record BenchReport(
    int formatVersion,
    String timestamp,
    long sizeBytes,
    int blockSizeBytes,
    long runtimeLimitSeconds,
    String fioVersion,
    List<Target> targets,
    List<Result> results,
    List<Run> runs,
    MachineInfo machine) {

  public static final int FORMAT_VERSION = 1;

  public BenchReport {
    targets = List.copyOf(targets);
    results = List.copyOf(results);
    runs = List.copyOf(runs);
  }

  /** Where a target's jobs ran. {@code name} is "shoal" or "local". */
  public record Target(String name, String path, String filesystemType) {}

  /** One workload on both targets; {@code ratio} is shoal / local, null when the local figure is 0. */
  public record Result(String workload, String description, double shoalMibPerSec, double localMibPerSec, Double ratio) {

    public static Result of(String workload, String description, double shoal, double local) {
      return new Result(workload, description, shoal, local, local > 0 ? shoal / local : null);
    }
  }

  /**
   * One fio invocation.
   *
   * @param completed false when the runtime limit ended the job before {@code sizeBytes} were moved
   * @param fioJson the raw fio report, relative to the report directory
   */
  public record Run(String target, String workload, String commandLine, long bytes, long runtimeMs,
      double mibPerSec, boolean completed, String fioJson) {}
}
