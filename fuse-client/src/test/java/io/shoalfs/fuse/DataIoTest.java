package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.shoalfs.common.Layout;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** File data through a real mount: large sequential files, random pwrite/pread against a model, truncate. */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DataIoTest {
  private static final int MiB = 1 << 20;
  private static final int CHUNK = Layout.CHUNK_SIZE;

  @TempDir
  static Path tmp;
  static TestMount mount;

  @BeforeAll
  static void mount(TestCluster cluster) throws IOException {
    mount = TestMount.open(cluster, tmp, "data");
  }

  @AfterAll
  static void unmount() {
    if (mount != null) {
      mount.close();
    }
  }

  private static long seed() {
    long seed = Long.getLong("shoal.test.seed", System.nanoTime());
    System.out.println("DataIoTest seed=" + seed + " (replay with -Dshoal.test.seed=" + seed + ")");
    return seed;
  }

  @Test
  void largeFileSequentialRoundTrip() throws IOException {
    long seed = seed();
    byte[] data = new byte[64 * MiB];
    new Random(seed).nextBytes(data);
    Path file = mount.root().resolve("big.bin");
    try (OutputStream out = Files.newOutputStream(file)) {
      for (int off = 0; off < data.length; off += MiB) {
        out.write(data, off, MiB);
      }
    }
    assertEquals(data.length, Files.size(file));
    byte[] back = new byte[data.length];
    try (InputStream in = Files.newInputStream(file)) {
      int n = in.readNBytes(back, 0, back.length);
      assertEquals(data.length, n, "short read");
      assertEquals(-1, in.read(), "read past the end");
    }
    assertSame(data, back, "64 MiB file, seed " + seed);
  }

  @Test
  void randomWritesAndReadsMatchModel() throws IOException {
    long seed = seed();
    Random rnd = new Random(seed);
    Path file = mount.root().resolve("random.bin");
    int maxSize = 3 * CHUNK + CHUNK / 2;
    byte[] model = new byte[maxSize];
    int size = 0;
    try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
      FileChannel ch = raf.getChannel();
      for (int op = 0; op < 300; op++) {
        int kind = rnd.nextInt(10);
        if (kind < 5) {
          int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 4096 : 300_000);
          int off = rnd.nextInt(maxSize - len);
          byte[] chunk = new byte[len];
          rnd.nextBytes(chunk);
          writeFully(ch, ByteBuffer.wrap(chunk), off);
          System.arraycopy(chunk, 0, model, off, len);
          size = Math.max(size, off + len);
        } else if (kind < 9) {
          int off = rnd.nextInt(maxSize);
          int len = 1 + rnd.nextInt(400_000);
          ByteBuffer got = ByteBuffer.allocate(len);
          int n = readFully(ch, got, off);
          int expect = Math.max(0, Math.min(len, size - off));
          assertEquals(expect, n, "read of " + len + " at " + off + " (size " + size + "), op " + op + ", seed " + seed);
          assertArrayEquals(Arrays.copyOfRange(model, off, off + expect), Arrays.copyOf(got.array(), n),
              "data at " + off + ", op " + op + ", seed " + seed);
        } else {
          int newSize = rnd.nextInt(maxSize);
          raf.setLength(newSize);
          if (newSize < size) {
            Arrays.fill(model, newSize, size, (byte) 0);
          }
          size = newSize;
        }
        assertEquals(size, ch.size(), "size after op " + op + ", seed " + seed);
      }
    }
    // Reopen: what was committed at close is what a new open sees.
    byte[] back = Files.readAllBytes(file);
    assertSame(Arrays.copyOf(model, size), back, "after reopen, seed " + seed);
  }

  @Test
  void truncateDownThenUpReadsZeros() throws IOException {
    long seed = seed();
    Path file = mount.root().resolve("trunc.bin");
    byte[] data = new byte[10 * MiB];
    new Random(seed).nextBytes(data);
    Files.write(file, data);
    for (long cut : new long[] {5L * MiB + 100, CHUNK, 2L * CHUNK + 1, 0}) {
      Files.write(file, data);
      try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
        raf.setLength(cut);
        assertEquals(cut, raf.length());
        raf.setLength(12L * MiB);
      }
      byte[] back = Files.readAllBytes(file);
      byte[] expect = new byte[12 * MiB];
      System.arraycopy(data, 0, expect, 0, (int) cut);
      assertSame(expect, back, "truncate to " + cut + " then extend, seed " + seed);
    }
    // Truncating by path with O_TRUNC empties the file.
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
      assertEquals(0, ch.size());
    }
    assertEquals(0, Files.size(file));
  }

  @Test
  void appendsAccumulate() throws IOException {
    Path file = mount.root().resolve("log.txt");
    StringBuilder expect = new StringBuilder();
    for (int i = 0; i < 50; i++) {
      String line = "line " + i + " " + "x".repeat(i * 97) + "\n";
      Files.writeString(file, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      expect.append(line);
    }
    assertEquals(expect.toString(), Files.readString(file));
    assertEquals(expect.length(), Files.size(file));
  }

  @Test
  void openFileShowsUnflushedSizeAndSharesWritesAcrossHandles() throws IOException {
    Path file = mount.root().resolve("shared.bin");
    byte[] first = "hello, ".getBytes();
    byte[] second = "world".getBytes();
    try (FileChannel writer = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileChannel reader = FileChannel.open(file, StandardOpenOption.READ)) {
      writer.write(ByteBuffer.wrap(first));
      // Not flushed to the metadata service yet, still the size the kernel and other handles must see.
      assertEquals(first.length, Files.size(file));
      writer.write(ByteBuffer.wrap(second));
      ByteBuffer got = ByteBuffer.allocate(64);
      int n = readFully(reader, got, 0);
      assertEquals("hello, world", new String(got.array(), 0, n));
      writer.force(true);
      assertEquals(first.length + second.length, reader.size());
    }
    assertEquals("hello, world", Files.readString(file));
  }

  @Test
  void sparseFileReadsZerosInHoles() throws IOException {
    Path file = mount.root().resolve("sparse.bin");
    long far = 3L * CHUNK + 12345;
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      writeFully(ch, ByteBuffer.wrap(new byte[] {7, 8, 9}), far);
    }
    assertEquals(far + 3, Files.size(file));
    byte[] back = Files.readAllBytes(file);
    byte[] expect = new byte[(int) far + 3];
    expect[(int) far] = 7;
    expect[(int) far + 1] = 8;
    expect[(int) far + 2] = 9;
    assertSame(expect, back, "sparse file");
  }

  @Test
  void concurrentWritersOfDifferentFilesAndOfOneFile() throws Exception {
    long seed = seed();
    int threads = 4;
    byte[][] data = new byte[threads][];
    Random rnd = new Random(seed);
    for (int i = 0; i < threads; i++) {
      data[i] = new byte[6 * MiB + rnd.nextInt(MiB)];
      rnd.nextBytes(data[i]);
    }
    Path shared = mount.root().resolve("interleaved.bin");
    int slice = 2 * MiB + 4096;
    try (FileChannel one = FileChannel.open(shared, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      List<Callable<Void>> jobs = new ArrayList<>();
      for (int i = 0; i < threads; i++) {
        int t = i;
        jobs.add(() -> {
          Files.write(mount.root().resolve("own-" + t + ".bin"), data[t]);
          // Each thread also fills its own slice of one shared file through its own handle.
          try (FileChannel mine = FileChannel.open(shared, StandardOpenOption.WRITE)) {
            writeFully(mine, ByteBuffer.wrap(data[t], 0, slice), (long) t * slice);
          }
          return null;
        });
      }
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        for (Future<Void> f : pool.invokeAll(jobs)) {
          f.get();
        }
      } finally {
        pool.shutdownNow();
      }
    }
    byte[] expectShared = new byte[threads * slice];
    for (int i = 0; i < threads; i++) {
      assertSame(data[i], Files.readAllBytes(mount.root().resolve("own-" + i + ".bin")), "file " + i + ", seed " + seed);
      System.arraycopy(data[i], 0, expectShared, i * slice, slice);
    }
    assertSame(expectShared, Files.readAllBytes(shared), "shared file, seed " + seed);
  }

  static void writeFully(FileChannel ch, ByteBuffer src, long off) throws IOException {
    while (src.hasRemaining()) {
      off += ch.write(src, off);
    }
  }

  static int readFully(FileChannel ch, ByteBuffer dst, long off) throws IOException {
    int total = 0;
    while (dst.hasRemaining()) {
      int n = ch.read(dst, off + total);
      if (n <= 0) {
        break;
      }
      total += n;
    }
    return total;
  }

  /** assertArrayEquals for big arrays: reports the first differing offset, not megabytes of bytes. */
  static void assertSame(byte[] expect, byte[] actual, String what) {
    if (expect.length != actual.length) {
      fail(what + ": length " + actual.length + ", expected " + expect.length);
    }
    int i = Arrays.mismatch(expect, actual);
    if (i >= 0) {
      fail(what + ": first difference at offset " + i + " (got " + actual[i] + ", expected " + expect[i] + ")");
    }
  }
}
