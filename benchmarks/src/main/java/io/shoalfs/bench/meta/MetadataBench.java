package io.shoalfs.bench.meta;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * The metadata benchmark on one target directory: create, stat (of cached entries), rename and unlink of empty
 * files, by N platform threads at once, for each {@link Case} (thread count x directory layout).
 *
 * <p>Each operation runs for every case before the next operation starts (all creates, then all stats, ...), so a
 * profiler can be started and stopped around one operation. The system calls are the plain ones: create is
 * {@code open(O_CREAT|O_EXCL)} + {@code close} ({@link Files#createFile}), stat is one {@code stat}/{@code statx}
 * ({@link Files#readAttributes}), rename is one {@code rename(2)} ({@link Files#move} with ATOMIC_MOVE, which
 * skips the JDK's existence check), unlink is one {@code unlink(2)} ({@link File#delete}; {@link Files#delete}
 * would lstat first).
 */
public final class MetadataBench implements AutoCloseable {
  /** Directories of the "many" layout: one per thread with 16 threads (the setting). */
  public static final int MANY_DIRS = 16;
  /** The timed stat phase repeats full passes over each thread's files until at least this long has passed. */
  public static final Duration STAT_MIN_TIME = Duration.ofSeconds(1);
  /** A phase that has not ended after this long is reported as failed (a hung mount must not hang the suite). */
  static final Duration PHASE_TIMEOUT = Duration.ofMinutes(10);

  public enum Op {
    CREATE("create"), STAT("stat"), RENAME("rename"), UNLINK("unlink");

    public final String id;

    Op(String id) {
      this.id = id;
    }
  }

  public enum Layout {
    ONE_DIR("one-dir", "one directory"), MANY_DIRS("many-dirs", MetadataBench.MANY_DIRS + " directories");

    public final String id;
    public final String description;

    Layout(String id, String description) {
      this.id = id;
      this.description = description;
    }
  }

  public record Case(int threads, Layout layout) {
    public String id() {
      return threads + "t-" + layout.id;
    }
  }

  /**
   * One operation of one case. {@code error} is set (and the figures are 0) when the phase failed or was not
   * run because an earlier phase of the case failed.
   */
  public record Measurement(Op op, Case c, long ops, long nanos, String error) {
    public Double opsPerSec() {
      return error == null && nanos > 0 ? ops * 1e9 / nanos : null;
    }
  }

  private final Path base;
  private final int filesPerThread;
  private final Map<Case, CaseFiles> files = new LinkedHashMap<>();
  private final Map<Case, String> broken = new LinkedHashMap<>();

  /** The paths of one case: [thread][i], the created name and the renamed name. */
  private record CaseFiles(Path[][] created, Path[][] renamed, File[][] renamedFiles) {}

  /**
   * Prepares {@code cases} under {@code base} (which must not exist yet): the directories are made here,
   * outside any timed phase.
   */
  public MetadataBench(Path base, List<Case> cases, int filesPerThread) throws IOException {
    this.base = base;
    this.filesPerThread = filesPerThread;
    Files.createDirectories(base);
    for (Case c : cases) {
      Path caseDir = base.resolve(c.id());
      int dirs = c.layout() == Layout.ONE_DIR ? 1 : MANY_DIRS;
      Path[] dirPaths = new Path[dirs];
      for (int d = 0; d < dirs; d++) {
        dirPaths[d] = Files.createDirectories(caseDir.resolve("d" + d));
      }
      Path[][] created = new Path[c.threads()][filesPerThread];
      Path[][] renamed = new Path[c.threads()][filesPerThread];
      File[][] renamedFiles = new File[c.threads()][filesPerThread];
      for (int t = 0; t < c.threads(); t++) {
        for (int i = 0; i < filesPerThread; i++) {
          // (t + i * threads) mod dirs: with 16 threads each thread owns one directory; with fewer, each
          // thread's files are spread over directories no other thread uses.
          Path dir = dirPaths[(int) ((t + (long) i * c.threads()) % dirs)];
          created[t][i] = dir.resolve("f" + t + "-" + i);
          renamed[t][i] = dir.resolve("r" + t + "-" + i);
          renamedFiles[t][i] = renamed[t][i].toFile();
        }
      }
      files.put(c, new CaseFiles(created, renamed, renamedFiles));
    }
  }

  public List<Case> cases() {
    return List.copyOf(files.keySet());
  }

  /** Runs {@code op} for case {@code c}; never throws for a failure of the target, which is returned instead. */
  public Measurement run(Op op, Case c) {
    CaseFiles f = files.get(c);
    if (f == null) {
      throw new IllegalArgumentException("unknown case " + c);
    }
    String earlier = broken.get(c);
    if (earlier != null) {
      return new Measurement(op, c, 0, 0, "not run: " + earlier);
    }
    Measurement m = switch (op) {
      case CREATE -> phase(op, c, (t, deadline) -> {
        for (Path p : f.created()[t]) {
          Files.createFile(p);
        }
        return f.created()[t].length;
      });
      case STAT -> {
        // Warm-up: the first stat of each file fills whatever cache the target has; the timed pass measures
        // stat of cached entries, as the target asks.
        Measurement warm = phase(op, c, (t, deadline) -> statPass(f.created()[t]));
        yield warm.error() != null ? warm : phase(op, c, (t, deadline) -> {
          long n = 0;
          do {
            n += statPass(f.created()[t]);
          } while (System.nanoTime() < deadline);
          return n;
        });
      }
      case RENAME -> phase(op, c, (t, deadline) -> {
        Path[] from = f.created()[t];
        Path[] to = f.renamed()[t];
        for (int i = 0; i < from.length; i++) {
          Files.move(from[i], to[i], StandardCopyOption.ATOMIC_MOVE);
        }
        return from.length;
      });
      case UNLINK -> phase(op, c, (t, deadline) -> {
        for (File file : f.renamedFiles()[t]) {
          if (!file.delete()) {
            throw new IOException("unlink " + file + " failed" + (file.exists() ? "" : ": no such file"));
          }
        }
        return f.renamedFiles()[t].length;
      });
    };
    if (m.error() != null) {
      broken.put(c, op.id + " failed");
    }
    return m;
  }

  private static long statPass(Path[] paths) throws IOException {
    for (Path p : paths) {
      Files.readAttributes(p, BasicFileAttributes.class);
    }
    return paths.length;
  }

  @FunctionalInterface
  private interface Work {
    /** Thread {@code t}'s part of a phase; returns the operations done. */
    long run(int t, long statDeadlineNanos) throws IOException;
  }

  /**
   * Runs {@code work} on {@code c.threads()} new platform threads released together; the figure is all their
   * operations over the time from release until the last one finished.
   */
  private Measurement phase(Op op, Case c, Work work) {
    int n = c.threads();
    CountDownLatch ready = new CountDownLatch(n);
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(n);
    long[] counts = new long[n];
    long[] ends = new long[n];
    long[] start = new long[1];
    AtomicReference<String> failure = new AtomicReference<>();
    List<Thread> threads = new ArrayList<>(n);
    for (int t = 0; t < n; t++) {
      int id = t;
      Thread th = Thread.ofPlatform().daemon(true).name("shoal-bench-" + op.id + "-" + t).unstarted(() -> {
        try {
          ready.countDown();
          go.await();
          counts[id] = work.run(id, start[0] + STAT_MIN_TIME.toNanos());
        } catch (IOException | UncheckedIOException | SecurityException e) {
          failure.compareAndSet(null, describe(e));
        } catch (InterruptedException e) {
          failure.compareAndSet(null, "interrupted");
        } finally {
          ends[id] = System.nanoTime();
          done.countDown();
        }
      });
      threads.add(th);
      th.start();
    }
    try {
      if (!ready.await(PHASE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        return new Measurement(op, c, 0, 0, "threads did not start");
      }
      start[0] = System.nanoTime();
      go.countDown();
      if (!done.await(PHASE_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
        threads.forEach(Thread::interrupt);
        return new Measurement(op, c, 0, 0, "did not finish within " + PHASE_TIMEOUT.toMinutes() + " min");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      threads.forEach(Thread::interrupt);
      return new Measurement(op, c, 0, 0, "interrupted");
    }
    if (failure.get() != null) {
      return new Measurement(op, c, 0, 0, failure.get());
    }
    long end = start[0];
    long ops = 0;
    for (int t = 0; t < n; t++) {
      end = Math.max(end, ends[t]);
      ops += counts[t];
    }
    return new Measurement(op, c, ops, end - start[0], null);
  }

  /** "FileSystemException: /x/f0-1: Function not implemented" style, one line. */
  static String describe(Exception e) {
    Throwable cause = e instanceof UncheckedIOException u && u.getCause() != null ? u.getCause() : e;
    String msg = cause.getMessage() == null ? "" : cause.getMessage().replace('\n', ' ');
    return cause.getClass().getSimpleName() + ": " + msg;
  }

  public int filesPerThread() {
    return filesPerThread;
  }

  /** Removes everything under the base directory; a leftover is reported by the return value, never thrown. */
  @Override
  public void close() {
    deleteTree(base);
  }

  /** Deletes {@code root} and everything under it; returns the first failure's message, or null. */
  public static String deleteTree(Path root) {
    if (!Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      return null;
    }
    String first = null;
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          if (first == null) {
            first = describe(e);
          }
        }
      }
    } catch (IOException | UncheckedIOException e) {
      return describe(e);
    }
    return first;
  }
}
