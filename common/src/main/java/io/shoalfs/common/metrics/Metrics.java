package io.shoalfs.common.metrics;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;

/**
 * The process's one meter registry (Micrometer's Prometheus registry: what {@code /metrics} serves), with the
 * JVM's own figures. Components register their meters through a {@link MeterGroup}, which removes them again
 * when the component closes. Every Shoal series is named {@code shoal_*}; docs/metrics.md lists the key ones.
 */
public final class Metrics {
  /** Latency buckets of every request timer: 250 us to 10 s, so a histogram is 16 series, not 70. */
  private static final Duration[] BUCKETS = {Duration.ofNanos(250_000), Duration.ofNanos(500_000),
      Duration.ofMillis(1), Duration.ofMillis(2), Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(20),
      Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(200), Duration.ofMillis(500),
      Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(10)};
  /** RocksDB properties every database reports (sizes and pressure; cheap: no Statistics object). */
  private static final String[] ROCKS_PROPERTIES = {"rocksdb.estimate-num-keys", "rocksdb.cur-size-all-mem-tables",
      "rocksdb.total-sst-files-size", "rocksdb.live-blob-file-size", "rocksdb.num-running-compactions",
      "rocksdb.num-running-flushes", "rocksdb.estimate-pending-compaction-bytes", "rocksdb.background-errors"};

  private static final PrometheusMeterRegistry REGISTRY = create();

  private Metrics() {}

  private static PrometheusMeterRegistry create() {
    PrometheusMeterRegistry r = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(r);
    new JvmGcMetrics().bindTo(r);
    new JvmThreadMetrics().bindTo(r);
    new ClassLoaderMetrics().bindTo(r);
    new ProcessorMetrics().bindTo(r);
    new UptimeMetrics().bindTo(r);
    return r;
  }

  public static PrometheusMeterRegistry registry() {
    return REGISTRY;
  }

  /** The registry in Prometheus's text format. */
  public static String scrape() {
    return REGISTRY.scrape();
  }

  static Duration[] buckets() {
    return BUCKETS.clone();
  }

  static String[] rocksProperties() {
    return ROCKS_PROPERTIES.clone();
  }

  static double property(RocksDB db, String property) {
    try {
      if (db == null) {
        return Double.NaN;
      }
      try {
        return db.getAggregatedLongProperty(property); // summed over every table (column family)
      } catch (RocksDBException perDatabase) {
        return db.getLongProperty(property); // a figure of the whole database
      }
    } catch (RocksDBException | RuntimeException e) {
      return Double.NaN; // closed, or a property this version lacks
    }
  }
}
