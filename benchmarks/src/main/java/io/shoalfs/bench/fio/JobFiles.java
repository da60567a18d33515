package io.shoalfs.bench.fio;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The fio job files of benchmarks/fio/, packaged into the jar (see the module's pom) and written out where
 * fio can read them. Packaging them means `shoal bench` needs no checkout next to it (it runs the same from
 * any directory and inside the container image), and writing them into the report directory records exactly
 * which job a figure came from.
 */
public final class JobFiles {
  public static final String SEQ_WRITE_1M = "seq-write-1m.fio";
  public static final String SEQ_READ_1M = "seq-read-1m.fio";
  public static final String RAND_WRITE_4K = "rand-write-4k.fio";
  public static final String RAND_READ_4K = "rand-read-4k.fio";

  private static final String RESOURCE_DIR = "/io/shoalfs/bench/fio/";

  private JobFiles() {}

  /** Writes job file {@code name} into {@code dir} (created if needed) and returns its path. */
  public static Path extract(String name, Path dir) {
    try (InputStream in = JobFiles.class.getResourceAsStream(RESOURCE_DIR + name)) {
      if (in == null) {
        throw new IllegalStateException("fio job file " + name + " is missing from the build (benchmarks/fio/)");
      }
      Files.createDirectories(dir);
      Path file = dir.resolve(name);
      Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write fio job file " + name + " to " + dir, e);
    }
  }
}
