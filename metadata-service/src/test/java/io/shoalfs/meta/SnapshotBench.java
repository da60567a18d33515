package io.shoalfs.meta;

import io.shoalfs.client.MetaClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Not a timed test (the name keeps it out of the suite): snapshot create and clone time for subvolumes of 1k, 10k
 * and 100k files (acceptance 6 of issue 6), on 3 replicas in this JVM, through MetaClient. Files are made with 16
 * threads in 100 directories. Prints one BENCH line per size. Run it alone:
 * {@code mvn -o -pl metadata-service -am test -Dtest=SnapshotBench -Dsurefire.failIfNoSpecifiedTests=false}
 * ({@code -Dbench.sizes=1000,10000} for fewer).
 */
class SnapshotBench {
  static final String SIZES = System.getProperty("bench.sizes", "1000,10000,100000");
  static final int THREADS = 16;
  static final int DIRS = 100;

  @Test
  @Timeout(1800)
  void snapshotAndCloneTimes() throws Exception {
    Path dir = Files.createTempDirectory("snap-bench");
    try (MetaCluster cluster = MetaCluster.start(dir, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(60));
      MetaClient admin = cluster.client();
      List<MetaClient> clients = new ArrayList<>();
      for (int i = 0; i < THREADS; i++) {
        clients.add(cluster.client());
      }
      ExecutorService pool = Executors.newFixedThreadPool(THREADS);
      try {
        for (String s : SIZES.split(",")) {
          int n = Integer.parseInt(s.trim());
          String name = "bench-" + n;
          long root = admin.createSubvolume(name, 1L << 40).getRootIno();
          long[] dirs = new long[DIRS];
          for (int d = 0; d < DIRS; d++) {
            dirs[d] = admin.mkdir(root, "d" + d, 0755, 0, 0).getIno();
          }
          long f0 = System.nanoTime();
          List<Future<?>> work = new ArrayList<>();
          for (int t = 0; t < THREADS; t++) {
            int me = t;
            work.add(pool.submit(() -> {
              for (int i = me; i < n; i += THREADS) {
                clients.get(me).create(dirs[i % DIRS], "f" + i, 0644, 0, 0, true);
              }
              return null;
            }));
          }
          for (Future<?> w : work) {
            w.get(30, TimeUnit.MINUTES);
          }
          double fillS = (System.nanoTime() - f0) / 1e9;
          long t0 = System.nanoTime();
          admin.createSnapshot(name, "s");
          double snapMs = (System.nanoTime() - t0) / 1e6;
          long t1 = System.nanoTime();
          admin.cloneSubvolume(name, name + "-clone", "s", 0);
          double cloneMs = (System.nanoTime() - t1) / 1e6;
          long t2 = System.nanoTime();
          admin.cloneSubvolume(name, name + "-live", "", 0);
          double liveCloneMs = (System.nanoTime() - t2) / 1e6;
          System.out.printf("BENCH files=%d fill=%.1fs snapshot=%.1fms clone-of-snapshot=%.1fms clone-of-live=%.1fms%n",
              n, fillS, snapMs, cloneMs, liveCloneMs);
        }
      } finally {
        pool.shutdownNow();
      }
    }
  }
}
