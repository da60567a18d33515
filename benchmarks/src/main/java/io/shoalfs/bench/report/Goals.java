package io.shoalfs.bench.report;

import io.shoalfs.bench.report.BenchReport.Goal;
import io.shoalfs.bench.report.BenchReport.Row;
import io.shoalfs.bench.report.BenchReport.Verdict;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * The performance targets (acceptance 7) judged against a run's rows. A goal over several rows (both
 * directory layouts, every thread count) is judged on the worst of them, which the report names.
 */
public final class Goals {
  public static final double CREATE_16T = 5_000;
  public static final double CREATE_1T = 1_500;
  public static final double STAT_OF_BINDFS = 0.5;
  public static final double UNLINK_16T = 5_000;
  public static final double CP_OF_BINDFS = 3.0;

  private Goals() {}

  public static List<Goal> judge(List<Row> rows) {
    List<Goal> goals = new ArrayList<>();
    goals.add(atLeast("create-16t", "creates >= 5,000/s with 16 threads", rows, r -> r.id().startsWith("create-16t-"),
        CREATE_16T));
    goals.add(atLeast("create-1t", "creates >= 1,500/s with 1 thread", rows, r -> r.id().startsWith("create-1t-"),
        CREATE_1T));
    goals.add(ratio("stat-vs-bindfs", "stat of cached entries >= 50% of bindfs", rows,
        r -> r.part().equals("metadata") && r.id().startsWith("stat-"), STAT_OF_BINDFS, true));
    goals.add(atLeast("unlink-16t", "unlink >= 5,000/s with 16 threads", rows, r -> r.id().startsWith("unlink-16t-"),
        UNLINK_16T));
    goals.add(ratio("cp-vs-bindfs", "cp -a /usr/share/doc within 3x of its time into bindfs", rows,
        r -> r.part().equals("cp"), CP_OF_BINDFS, false));
    return goals;
  }

  private static Goal atLeast(String id, String description, List<Row> rows, Predicate<Row> which, double min) {
    List<Row> covered = rows.stream().filter(r -> r.part().equals("metadata")).filter(which).toList();
    if (covered.isEmpty()) {
      return new Goal(id, description, "not measured in this run (see --only and --threads)", Verdict.NOT_MEASURED);
    }
    Row worst = null;
    for (Row r : covered) {
      if (r.value(BenchReport.SHOAL) == null) {
        return new Goal(id, description, r.id() + " failed on Shoal: " + r.errors().get(BenchReport.SHOAL), Verdict.MISS);
      }
      if (worst == null || r.value(BenchReport.SHOAL) < worst.value(BenchReport.SHOAL)) {
        worst = r;
      }
    }
    double v = worst.value(BenchReport.SHOAL);
    return new Goal(id, description, String.format(Locale.ROOT, "%,.0f ops/s (%s, the worst of %d row%s)", v,
        worst.id(), covered.size(), covered.size() == 1 ? "" : "s"), v >= min ? Verdict.PASS : Verdict.MISS);
  }

  /**
   * {@code higherIsBetter}: shoal/bindfs must be at least {@code limit} (rates); otherwise at most (times).
   */
  private static Goal ratio(String id, String description, List<Row> rows, Predicate<Row> which, double limit,
      boolean higherIsBetter) {
    List<Row> covered = rows.stream().filter(which).toList();
    if (covered.isEmpty()) {
      return new Goal(id, description, "not measured in this run (see --only)", Verdict.NOT_MEASURED);
    }
    Row worst = null;
    for (Row r : covered) {
      if (r.value(BenchReport.SHOAL) == null) {
        return new Goal(id, description, r.id() + " failed on Shoal: " + r.errors().get(BenchReport.SHOAL), Verdict.MISS);
      }
      if (r.shoalPerBindfs() == null) {
        return new Goal(id, description, r.id() + " has no bindfs figure: " + r.errors().get(BenchReport.BINDFS),
            Verdict.NOT_MEASURED);
      }
      Function<Row, Double> k = Row::shoalPerBindfs;
      if (worst == null || (higherIsBetter ? k.apply(r) < k.apply(worst) : k.apply(r) > k.apply(worst))) {
        worst = r;
      }
    }
    double q = worst.shoalPerBindfs();
    boolean pass = higherIsBetter ? q >= limit : q <= limit;
    String shown = higherIsBetter ? String.format(Locale.ROOT, "%.1f%% of bindfs", 100 * q)
        : String.format(Locale.ROOT, "%.2fx the bindfs time", q);
    return new Goal(id, description, shown + " (" + worst.id() + (covered.size() > 1 ? ", the worst of " + covered.size()
        + " rows" : "") + ")", pass ? Verdict.PASS : Verdict.MISS);
  }
}
