package io.shoalfs.meta;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Not a timed test (the name keeps it out of the suite): creates and stats of empty files through MetaClient
 * against 3 replicas in this JVM, with 1 and 16 threads; prints ops/s. Run it alone:
 * {@code mvn -o -pl metadata-service -am test -Dtest=MetaThroughputBench -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class MetaThroughputBench {
  static final Duration WARMUP = Duration.ofSeconds(Long.getLong("bench.warmup", 3));
  static final Duration RUN = Duration.ofSeconds(Long.getLong("bench.seconds", 8));
  /** Also measure reads spread over every replica (read index on followers); off for the old code. */
  static final boolean READS_ANYWHERE = Boolean.parseBoolean(System.getProperty("bench.readsAnywhere", "true"));

  @Test
  @Timeout(300)
  void createsAndStats() throws Exception {
    Path dir = Files.createTempDirectory("meta-bench");
    try (MetaCluster cluster = MetaCluster.start(dir, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient setup = cluster.client();
      long parent = setup.mkdir(Layout.ROOT_INO, "bench", 0755, 0, 0).getIno();
      for (int threads : new int[] {1, 16}) {
        List<MetaClient> clients = new ArrayList<>();
        for (int i = 0; i < threads; i++) {
          clients.add(cluster.client());
        }
        long[] inos = new long[threads];
        double creates = run(threads, (t, n) -> {
          Attr a = clients.get(t).create(parent, "f-" + threads + "-" + t + "-" + n, 0644, 0, 0, true);
          inos[t] = a.getIno();
        });
        double stats = run(threads, (t, n) -> clients.get(t).getAttr(inos[t]));
        System.out.printf("BENCH threads=%d creates/s=%.0f getattr/s=%.0f%n", threads, creates, stats);
        if (READS_ANYWHERE && threads > 1) {
          List<MetaClient> spread = new ArrayList<>();
          for (int i = 0; i < threads; i++) {
            spread.add(new MetaClient(setup.addresses(), Duration.ofSeconds(60), true));
          }
          try {
            double any = run(threads, (t, n) -> spread.get(t).getAttr(inos[t]));
            System.out.printf("BENCH threads=%d getattr-any-replica/s=%.0f%n", threads, any);
          } finally {
            spread.forEach(MetaClient::close);
          }
        }
      }
    } finally {
      TestDirs.deleteRecursively(dir);
    }
  }

  interface Op {
    void run(int thread, long n) throws Exception;
  }

  private static double run(int threads, Op op) throws Exception {
    AtomicBoolean measuring = new AtomicBoolean();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong done = new AtomicLong();
    AtomicLong failures = new AtomicLong();
    List<Thread> ts = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int id = t;
      ts.add(Thread.ofPlatform().start(() -> {
        long n = 0;
        while (!stop.get()) {
          try {
            op.run(id, n++);
            if (measuring.get()) {
              done.incrementAndGet();
            }
          } catch (Exception e) {
            failures.incrementAndGet();
          }
        }
      }));
    }
    Thread.sleep(WARMUP.toMillis());
    measuring.set(true);
    long t0 = System.nanoTime();
    Thread.sleep(RUN.toMillis());
    measuring.set(false);
    double secs = (System.nanoTime() - t0) / 1e9;
    long n = done.get();
    stop.set(true);
    for (Thread t : ts) {
      t.join(60_000);
    }
    if (failures.get() > 0) {
      throw new AssertionError(failures.get() + " operations failed");
    }
    return n / secs;
  }
}
