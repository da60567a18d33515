package io.shoalfs.bench.copy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code cp -a} of a directory tree into a target, timed, then checked: {@code diff -r --no-dereference}
 * (contents, and symlinks compared as links) plus a walk comparing each entry's type, mode, owner, size,
 * symlink target and mtime, which diff does not look at but {@code cp -a} promises to keep.
 */
public final class CopyBench {
  /** A copy of /usr/share/doc takes seconds on a disk; this bounds a hung mount. */
  static final Duration CP_TIMEOUT = Duration.ofMinutes(30);
  private static final int KEPT_ERROR_LINES = 3;

  private CopyBench() {}

  /**
   * The tree every target copies from: a copy of the original on the local disk, made before any timing, so all
   * targets read the same bytes from the same (warm) place.
   */
  public record Source(Path original, Path dir, long files, long dirs, long symlinks, long bytes) {}

  /**
   * One target's copy.
   *
   * @param seconds wall time of {@code cp -a}, also when it failed
   * @param exitCode cp's exit status
   * @param errorLines how many lines cp wrote to stderr
   * @param firstErrors the first few of them
   * @param exact true when cp succeeded and both checks found no difference
   * @param mismatch the first difference found by diff or by the attribute walk, else null
   */
  public record Result(String target, String command, double seconds, int exitCode, long errorLines,
      List<String> firstErrors, boolean exact, String mismatch) {

    public boolean succeeded() {
      return exitCode == 0;
    }

    /** One line for the report: null when the copy succeeded and is exact. */
    public String problem() {
      if (!succeeded()) {
        String first = firstErrors.isEmpty() ? "no message" : firstErrors.getFirst();
        return "cp -a failed (exit " + exitCode + ", " + errorLines + " error line" + (errorLines == 1 ? "" : "s")
            + "): " + first;
      }
      return exact ? null : "copy differs: " + mismatch;
    }
  }

  /** Copies {@code original} to {@code staging} (which must not exist) with cp -a and counts what it holds. */
  public static Source stage(Path original, Path staging) throws IOException {
    if (!Files.isDirectory(original)) {
      throw new IOException(original + " is not a directory");
    }
    Result r = copy("staging", original, staging);
    if (!r.succeeded()) {
      throw new IOException("could not stage " + original + " on the local disk: " + r.problem());
    }
    long[] n = new long[4];
    Files.walkFileTree(staging, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        n[1]++;
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        if (attrs.isSymbolicLink()) {
          n[2]++;
        } else {
          n[0]++;
          n[3] += attrs.isRegularFile() ? attrs.size() : 0;
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return new Source(original, staging, n[0], n[1], n[2], n[3]);
  }

  /** {@code cp -a source.dir dest} (dest must not exist), timed, then both checks. */
  public static Result run(String target, Source source, Path dest) throws IOException {
    Result r = copy(target, source.dir(), dest);
    String mismatch = diff(source.dir(), dest);
    if (mismatch == null) {
      mismatch = compareAttributes(source.dir(), dest);
    }
    return new Result(r.target(), r.command(), r.seconds(), r.exitCode(), r.errorLines(), r.firstErrors(),
        r.succeeded() && mismatch == null, mismatch);
  }

  private static Result copy(String target, Path from, Path to) throws IOException {
    List<String> cmd = List.of("cp", "-a", from.toString(), to.toString());
    Path errors = Files.createTempFile("shoal-bench-cp", ".err");
    try {
      long t0 = System.nanoTime();
      int exit = runBounded(cmd, errors);
      double seconds = (System.nanoTime() - t0) / 1e9;
      long count;
      List<String> first;
      try (Stream<String> lines = Files.lines(errors, StandardCharsets.UTF_8)) {
        List<String> all = lines.filter(l -> !l.isBlank()).toList();
        count = all.size();
        first = all.subList(0, (int) Math.min(KEPT_ERROR_LINES, count));
      }
      return new Result(target, String.join(" ", cmd), seconds, exit, count, List.copyOf(first), exit == 0, null);
    } finally {
      Files.deleteIfExists(errors);
    }
  }

  /** The first line of {@code diff -r --no-dereference}'s report, or null when it finds no difference. */
  static String diff(Path a, Path b) throws IOException {
    if (!Files.isDirectory(b, LinkOption.NOFOLLOW_LINKS)) {
      return b + " was not created";
    }
    Path out = Files.createTempFile("shoal-bench-diff", ".out");
    try {
      int exit = runBounded(List.of("diff", "-r", "--no-dereference", a.toString(), b.toString()), out);
      if (exit == 0) {
        return null;
      }
      try (Stream<String> lines = Files.lines(out, StandardCharsets.UTF_8)) {
        return "diff -r: " + lines.filter(l -> !l.isBlank()).findFirst().orElse("exit " + exit);
      }
    } finally {
      Files.deleteIfExists(out);
    }
  }

  /** Type, mode, owner, size (not of directories), symlink target and mtime (ms) of each entry; first mismatch. */
  static String compareAttributes(Path a, Path b) throws IOException {
    List<Path> entries;
    try (Stream<Path> s = Files.walk(a)) {
      entries = new ArrayList<>(s.toList());
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
    for (Path p : entries) {
      Path q = b.resolve(a.relativize(p).toString());
      Map<String, Object> x = Files.readAttributes(p, "unix:mode,uid,gid,size,lastModifiedTime,isDirectory,isSymbolicLink",
          LinkOption.NOFOLLOW_LINKS);
      Map<String, Object> y;
      try {
        y = Files.readAttributes(q, "unix:mode,uid,gid,size,lastModifiedTime,isDirectory,isSymbolicLink",
            LinkOption.NOFOLLOW_LINKS);
      } catch (IOException e) {
        return q + ": missing (" + e.getClass().getSimpleName() + ")";
      }
      for (String key : List.of("mode", "uid", "gid")) {
        if (!Objects.equals(x.get(key), y.get(key))) {
          return q + ": " + key + " " + y.get(key) + ", source has " + x.get(key);
        }
      }
      boolean dir = (Boolean) x.get("isDirectory");
      if (!dir && !Objects.equals(x.get("size"), y.get("size"))) {
        return q + ": size " + y.get("size") + ", source has " + x.get("size");
      }
      if ((Boolean) x.get("isSymbolicLink") && !Files.readSymbolicLink(p).equals(Files.readSymbolicLink(q))) {
        return q + ": links to " + Files.readSymbolicLink(q) + ", source links to " + Files.readSymbolicLink(p);
      }
      long mx = ((FileTime) x.get("lastModifiedTime")).toMillis();
      long my = ((FileTime) y.get("lastModifiedTime")).toMillis();
      if (mx != my) {
        return q + ": mtime " + y.get("lastModifiedTime") + ", source has " + x.get("lastModifiedTime");
      }
    }
    return null;
  }

  private static int runBounded(List<String> cmd, Path output) throws IOException {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
    try {
      if (!p.waitFor(CP_TIMEOUT.toMinutes(), TimeUnit.MINUTES)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new IOException(String.join(" ", cmd) + " did not finish within " + CP_TIMEOUT.toMinutes() + " min");
      }
      return p.exitValue();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted: " + String.join(" ", cmd));
    }
  }
}
