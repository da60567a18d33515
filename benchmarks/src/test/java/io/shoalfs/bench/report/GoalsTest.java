package io.shoalfs.bench.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.bench.report.BenchReport.Goal;
import io.shoalfs.bench.report.BenchReport.Row;
import io.shoalfs.bench.report.BenchReport.Verdict;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The targets judged on rows: the worst row decides, a failure is a MISS, nothing measured is said so. */
class GoalsTest {
  private static Row meta(String id, Double shoal, double bindfs) {
    Map<String, Double> v = new HashMap<>();
    v.put("shoal", shoal);
    v.put("bindfs", bindfs);
    v.put("local", bindfs * 2);
    Map<String, String> e = shoal == null ? Map.of("shoal", "FileSystemException: x: Function not implemented") : Map.of();
    return Row.of("metadata", id, id, "ops/s", v, e);
  }

  private static Row cp(Double shoal, double bindfs) {
    Map<String, Double> v = new HashMap<>();
    v.put("shoal", shoal);
    v.put("bindfs", bindfs);
    v.put("local", bindfs / 2);
    return Row.of("cp", "cp-a", "cp", "s", v, shoal == null ? Map.of("shoal", "cp -a failed (exit 1, 77 error lines): x") : Map.of());
  }

  private static Map<String, Goal> judge(Row... rows) {
    Map<String, Goal> m = new HashMap<>();
    for (Goal g : Goals.judge(List.of(rows))) {
      m.put(g.id(), g);
    }
    assertEquals(5, m.size());
    return m;
  }

  @Test
  void worstRowDecidesAndIsNamed() {
    Map<String, Goal> g = judge(meta("create-16t-one-dir", 6000.0, 9000), meta("create-16t-many-dirs", 4999.0, 9000),
        meta("create-1t-one-dir", 1500.0, 3000), meta("create-1t-many-dirs", 1600.0, 3000),
        meta("stat-1t-one-dir", 60_000.0, 100_000), meta("stat-16t-one-dir", 49_000.0, 100_000),
        meta("unlink-16t-one-dir", 5000.0, 9000), cp(29.0, 10));
    assertEquals(Verdict.MISS, g.get("create-16t").verdict());
    assertTrue(g.get("create-16t").measured().startsWith("4,999 ops/s (create-16t-many-dirs, the worst of 2 rows)"),
        g.get("create-16t").measured());
    assertEquals(Verdict.PASS, g.get("create-1t").verdict(), "the bound itself passes");
    assertEquals(Verdict.MISS, g.get("stat-vs-bindfs").verdict());
    assertTrue(g.get("stat-vs-bindfs").measured().startsWith("49.0% of bindfs (stat-16t-one-dir"), g.get("stat-vs-bindfs").measured());
    assertEquals(Verdict.PASS, g.get("unlink-16t").verdict());
    assertEquals(Verdict.PASS, g.get("cp-vs-bindfs").verdict());
    assertTrue(g.get("cp-vs-bindfs").measured().startsWith("2.90x the bindfs time"), g.get("cp-vs-bindfs").measured());
  }

  @Test
  void failuresAreMissesAndAbsentRowsAreNotMeasured() {
    Map<String, Goal> g = judge(meta("create-1t-one-dir", null, 3000), cp(null, 10), cp(31.0, 10));
    assertEquals(Verdict.MISS, g.get("create-1t").verdict());
    assertTrue(g.get("create-1t").measured().contains("Function not implemented"), g.get("create-1t").measured());
    assertEquals(Verdict.MISS, g.get("cp-vs-bindfs").verdict());
    assertTrue(g.get("cp-vs-bindfs").measured().contains("cp -a failed"), g.get("cp-vs-bindfs").measured());
    assertEquals(Verdict.NOT_MEASURED, g.get("create-16t").verdict());
    assertEquals(Verdict.NOT_MEASURED, g.get("stat-vs-bindfs").verdict());
    assertEquals(Verdict.MISS, judge(cp(31.0, 10)).get("cp-vs-bindfs").verdict(), "over 3x");
  }
}
