package io.shoalfs.bench.report;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/** Bar charts of a report (XChart, PNG): one per part, a bar per target per benchmark. */
public final class Plots {
  private static final int WIDTH = 1400;
  private static final int HEIGHT = 700;

  private Plots() {}

  /** The file name of a part's plot inside the report directory. */
  public static String fileName(String part) {
    return "plot-" + part + ".png";
  }

  /**
   * Writes {@code dir/plot-PART.png} for the rows of {@code part}; returns the file name, or null when the part
   * has no row. Metadata rates span four orders of magnitude (stat of a cached entry against a replicated
   * create), so that chart's axis is logarithmic.
   */
  public static String write(BenchReport report, String part, Path dir) throws IOException {
    List<BenchReport.Row> rows = report.results().stream().filter(r -> r.part().equals(part)).toList();
    if (rows.isEmpty()) {
      return null;
    }
    String unit = rows.getFirst().unit();
    String title = switch (part) {
      case "metadata" -> "Metadata operations per second (log scale; higher is better)";
      case "cp" -> "cp -a time in seconds (lower is better)";
      default -> "fio sequential throughput, MiB/s (higher is better)";
    };
    CategoryChart chart = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title)
        .xAxisTitle("benchmark").yAxisTitle(unit).build();
    Styler styler = chart.getStyler();
    styler.setLegendPosition(Styler.LegendPosition.OutsideE);
    chart.getStyler().setXAxisLabelRotation(rows.size() > 6 ? 45 : 0);
    if (part.equals("metadata")) {
      // XChart starts bars at 0, which a log axis cannot show: the floor is 1 op/s instead.
      chart.getStyler().setYAxisLogarithmic(true);
      chart.getStyler().setYAxisMin(1.0);
    }
    chart.getStyler().setYAxisDecimalPattern(part.equals("metadata") ? "#,###" : "#,##0.##");
    List<String> labels = rows.stream().map(BenchReport.Row::id).toList();
    for (String target : BenchReport.TARGET_NAMES) {
      List<Double> values = new ArrayList<>();
      for (BenchReport.Row r : rows) {
        Double v = r.value(target);
        // A failed benchmark has no bar; a log axis cannot show 0, so an absent bar is drawn at the floor.
        values.add(v == null || v <= 0 ? (part.equals("metadata") ? 1.0 : 0.0) : v);
      }
      chart.addSeries(target, labels, values);
    }
    String name = fileName(part);
    BitmapEncoder.saveBitmap(chart, dir.resolve(name).toString(), BitmapEncoder.BitmapFormat.PNG);
    return name;
  }
}
