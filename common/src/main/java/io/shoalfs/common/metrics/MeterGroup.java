package io.shoalfs.common.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;
import org.rocksdb.RocksDB;

/**
 * The meters of one component instance (a metadata replica, a storage daemon, a mount), all carrying the
 * instance's tags (for example {@code replica=m1}), so several instances in one JVM (tests, {@code shoal
 * local}'s in-process parts) neither collide nor report each other's figures. {@link #close()} removes every
 * meter it registered: a restarted instance starts from fresh meters bound to its new objects.
 */
public final class MeterGroup implements AutoCloseable {
  private final Tags tags;
  private final List<Meter> meters = new CopyOnWriteArrayList<>();
  private final List<MultiGauge> multiGauges = new CopyOnWriteArrayList<>();
  private final Map<String, Timer> timers = new ConcurrentHashMap<>();
  private final Map<String, Counter> counters = new ConcurrentHashMap<>();

  /** @param tags alternating names and values, e.g. {@code "daemon", "s1"} */
  public MeterGroup(String... tags) {
    this.tags = Tags.of(tags);
  }

  /**
   * The request timer of one operation ({@code NAME_seconds_count/_sum/_bucket{op=...}}, latency buckets from
   * 250 us to 10 s), made on first use and kept.
   */
  public Timer requests(String name, String description, String op) {
    return timers.computeIfAbsent(name + '\0' + op, k -> keep(Timer.builder(name).description(description)
        .tags(tags).tag("op", op).serviceLevelObjectives(Metrics.buckets()).register(Metrics.registry())));
  }

  /** A byte counter: {@code NAME_bytes_total}. */
  public Counter bytes(String name, String description) {
    return keep(Counter.builder(name).description(description).tags(tags).baseUnit("bytes")
        .register(Metrics.registry()));
  }

  /** A counter of events: {@code NAME_total}; made on first use and kept. */
  public Counter counter(String name, String description, String... extraTags) {
    return counters.computeIfAbsent(name + '\0' + String.join("\0", extraTags), k -> keep(Counter.builder(name)
        .description(description).tags(tags).tags(extraTags).register(Metrics.registry())));
  }

  /** A gauge read at each scrape (the group holds {@code obj} until it closes). */
  public <T> void gauge(String name, String description, T obj, ToDoubleFunction<T> value, String... extraTags) {
    keep(Gauge.builder(name, obj, value).description(description).tags(tags).tags(extraTags).strongReference(true)
        .register(Metrics.registry()));
  }

  /** A gauge with one series per row (per volume, per group), replaced by each {@link MultiGauge#register}. */
  public MultiGauge multiGauge(String name, String description, String baseUnit) {
    MultiGauge g = MultiGauge.builder(name).description(description).tags(tags).baseUnit(baseUnit)
        .register(Metrics.registry());
    multiGauges.add(g);
    return g;
  }

  /**
   * RocksDB's own figures for one database as {@code shoal_rocksdb_<property>{db=...}}: estimated keys,
   * memtable, SST and blob sizes, running flushes and compactions, pending compaction bytes, background
   * errors. {@code db} is asked at each scrape (a store may be replaced, e.g. by a snapshot install).
   */
  public void rocksdb(String name, Supplier<RocksDB> db) {
    for (String p : Metrics.rocksProperties()) {
      gauge("shoal." + p.replace('-', '.'), "RocksDB property " + p, db, d -> Metrics.property(d.get(), p),
          "db", name);
    }
  }

  private <M extends Meter> M keep(M meter) {
    meters.add(meter);
    return meter;
  }

  @Override
  public void close() {
    for (Meter m : meters) {
      Metrics.registry().remove(m);
    }
    meters.clear();
    timers.clear();
    counters.clear();
    for (MultiGauge g : multiGauges) {
      g.register(List.of(), true);
    }
    multiGauges.clear();
  }
}
