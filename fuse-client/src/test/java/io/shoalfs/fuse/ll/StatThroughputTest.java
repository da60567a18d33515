package io.shoalfs.fuse.ll;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.mount.MountInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * stat(2) throughput through the binding (MemFs) and through bindfs of a local directory, in the same run, with
 * no kernel caching (entry/attr timeouts 0: every stat is a lookup and a getattr through FUSE) and with 1 s
 * caching. Prints the numbers for docs/decisions/0001; asserts only that every stat succeeded and that the
 * binding is not pathologically slow (a floor far below what was measured).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class StatThroughputTest {
  private static final int FILES = 1000;
  private static final long RUN_MS = 1500;

  @TempDir Path tmp;

  static double statsPerSecond(Path dir, int threads) throws Exception {
    List<Path> files = new ArrayList<>();
    for (int i = 0; i < FILES; i++) {
      files.add(dir.resolve("f" + i));
    }
    AtomicLong ops = new AtomicLong();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MS);
      List<Future<?>> fs = new ArrayList<>();
      long t0 = System.nanoTime();
      for (int t = 0; t < threads; t++) {
        int start = t * 97;
        fs.add(pool.submit(() -> {
          int i = start;
          while (System.nanoTime() < end) {
            BasicFileAttributes a = Files.readAttributes(files.get(i++ % FILES), BasicFileAttributes.class);
            assertEquals(3, a.size());
            ops.incrementAndGet();
          }
          return null;
        }));
      }
      for (Future<?> f : fs) {
        f.get(60, TimeUnit.SECONDS);
      }
      return ops.get() / ((System.nanoTime() - t0) / 1e9);
    } finally {
      pool.shutdownNow();
    }
  }

  private static void fill(Path dir) throws Exception {
    for (int i = 0; i < FILES; i++) {
      Files.writeString(dir.resolve("f" + i), "abc");
    }
  }

  private record Result(String what, double t1, double t4) {
    @Override
    public String toString() {
      return String.format("%-40s 1 thread: %8.0f stat/s   4 threads: %8.0f stat/s", what, t1, t4);
    }
  }

  private Result measureBinding(String name, double timeout, int workers) throws Exception {
    Path mp = Files.createDirectories(tmp.resolve(name));
    MemFs fs = new MemFs(timeout, timeout);
    FuseSession s = FuseSession.start(mp, List.of(), fs, FuseSession.Config.defaults().withWorkerThreads(workers));
    try {
      fill(mp);
      statsPerSecond(mp, 2); // warm-up (JIT, worker threads)
      return new Result("binding, timeouts " + timeout + " s, " + workers + " workers", statsPerSecond(mp, 1),
          statsPerSecond(mp, 4));
    } finally {
      s.close();
      FuseSessionTest.forceUnmount(mp);
    }
  }

  private Result measureBindfs(String name, double timeout) throws Exception {
    Path src = Files.createDirectories(tmp.resolve(name + "-src"));
    Path mp = Files.createDirectories(tmp.resolve(name));
    fill(src);
    Py.exec(List.of("bindfs", "-o", "attr_timeout=" + timeout + ",entry_timeout=" + timeout, src.toString(),
        mp.toString()));
    try {
      assertTrue(MountInfo.hasFuseMount(mp));
      statsPerSecond(mp, 2);
      return new Result("bindfs (libfuse2), timeouts " + timeout + " s", statsPerSecond(mp, 1),
          statsPerSecond(mp, 4));
    } finally {
      Py.exec(List.of("umount", mp.toString()));
      FuseSessionTest.forceUnmount(mp);
    }
  }

  @Test
  void statThroughputAgainstBindfs() throws Exception {
    List<Result> results = new ArrayList<>();
    results.add(measureBinding("b0", 0, FuseSession.Config.DEFAULT_WORKER_THREADS));
    results.add(measureBinding("b0w1", 0, 1));
    results.add(measureBindfs("bf0", 0));
    results.add(measureBinding("b1", 1, FuseSession.Config.DEFAULT_WORKER_THREADS));
    results.add(measureBindfs("bf1", 1));
    results.forEach(System.out::println);
    assertTrue(results.get(0).t1() > 200, "binding stat rate " + results.get(0));
  }
}
