package io.shoalfs.fuse.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.storage.testing.TestCluster;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Acceptance 6: a seeded model-based randomized test of the data layer. Random sequences of open, write (tiny to
 * several MiB, sparse offsets, across chunk boundaries), read, truncate, flush, fsync and close on several handles
 * of the same files at once, with the background flusher running, against an in-memory model of every file's
 * bytes; every read is checked, and after each batch the contents are checked through a fresh FileIo (another
 * client). Between batches the storage daemon is sometimes restarted. A failure prints the seed; replay with
 * {@code -Dshoal.seed=N} (and {@code -Dshoal.batches=N} for a longer run).
 */
@Timeout(value = 600, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileIoModelTest {
  private static final int CHUNK = Layout.CHUNK_SIZE;
  private static final int O_RDWR = 2;
  private static final int FILES = 3;
  private static final long MAX_SIZE = 3L * CHUNK + 12345;

  /** One file's expected bytes and size. */
  private static final class Model {
    final long ino;
    byte[] data = new byte[0];
    long size;

    Model(long ino) {
      this.ino = ino;
    }

    void write(long off, byte[] b) {
      long end = off + b.length;
      ensure(end);
      System.arraycopy(b, 0, data, (int) off, b.length);
      size = Math.max(size, end);
    }

    void truncate(long newSize) {
      ensure(newSize);
      if (newSize < size) {
        Arrays.fill(data, (int) newSize, (int) size, (byte) 0);
      }
      size = newSize;
    }

    private void ensure(long n) {
      if (data.length < n) {
        data = Arrays.copyOf(data, (int) Math.max(n, Math.min(MAX_SIZE + (8 << 20), data.length * 2L)));
      }
    }

    byte[] range(long off, int len) {
      int n = (int) Math.max(0, Math.min(len, size - off));
      byte[] out = new byte[n];
      if (n > 0) { // a read past the end may start past the model's array too
        System.arraycopy(data, (int) off, out, 0, n);
      }
      return out;
    }
  }

  private record Open(long fh, Model file) {}

  private static FileIo client(TestCluster cluster, List<AutoCloseable> closers, FsConfig cfg) {
    MetaClient meta = MetaClient.connect(cluster.metaAddrs());
    StorageClient storage = new StorageClient(meta);
    FileIo io = new FileIo(meta, storage, cfg);
    closers.add(meta);
    closers.add(storage);
    closers.add(io);
    return io;
  }

  private static byte[] read(FileIo io, long fh, long off, int len) throws Exception {
    byte[] out = new byte[len];
    int n = io.read(fh, off, len, (dst, src, so, l) -> System.arraycopy(src, so, out, (int) dst, l));
    return Arrays.copyOf(out, n);
  }

  @Test
  void randomOperationsMatchTheModel() throws Exception {
    long seed = Long.getLong("shoal.seed", System.nanoTime());
    int batches = Integer.getInteger("shoal.batches", 6);
    System.out.println("FileIoModelTest seed=" + seed + " (replay with -Dshoal.seed=" + seed + ")");
    Random rnd = new Random(seed);
    String step = "start";
    try (TestCluster cluster = TestCluster.start()) {
      List<Model> files = new ArrayList<>();
      for (int i = 0; i < FILES; i++) {
        Attr a = cluster.client().create(Layout.ROOT_INO, "model-" + seed + "-" + i, 0644, 0, 0, true);
        files.add(new Model(a.getIno()));
      }
      for (int batch = 0; batch < batches; batch++) {
        // Small buffers and read-ahead reach the buffer rules more often; a short dirty age runs the flusher.
        FsConfig cfg = new FsConfig(rnd.nextBoolean() ? 64 << 10 : 1 << 20, rnd.nextBoolean() ? 96 << 10 : 1 << 20,
            Duration.ofSeconds(1), 1024, 64, 1 + rnd.nextInt(8))
            .withDirtyAge(rnd.nextBoolean() ? Duration.ofMillis(20 + rnd.nextInt(200)) : Duration.ZERO);
        List<AutoCloseable> closers = new ArrayList<>();
        try {
          FileIo io = client(cluster, closers, cfg);
          List<Open> open = new ArrayList<>();
          int ops = 150 + rnd.nextInt(150);
          for (int op = 0; op < ops; op++) {
            int kind = rnd.nextInt(100);
            if (open.isEmpty() || (kind < 10 && open.size() < 6)) {
              Model f = files.get(rnd.nextInt(FILES));
              step = "batch " + batch + " op " + op + ": open " + f.ino;
              open.add(new Open(io.open(cluster.client().getAttr(f.ino), O_RDWR), f));
              continue;
            }
            Open h = open.get(rnd.nextInt(open.size()));
            Model f = h.file();
            if (kind < 45) {
              long off = switch (rnd.nextInt(4)) {
                case 0 -> f.size;                                                  // append
                case 1 -> (long) (1 + rnd.nextInt(3)) * CHUNK - rnd.nextInt(5000); // across a chunk boundary
                case 2 -> (long) (rnd.nextDouble() * MAX_SIZE);                    // sparse
                default -> f.size == 0 ? 0 : (long) (rnd.nextDouble() * f.size);   // overwrite
              };
              int len = switch (rnd.nextInt(5)) {
                case 0 -> 1 + rnd.nextInt(16);
                case 1 -> 1 + rnd.nextInt(70_000);
                case 2 -> 1 + rnd.nextInt(2 << 20);
                case 3 -> 1 + rnd.nextInt(CHUNK + 100_000);
                default -> 1 + rnd.nextInt(4096);
              };
              off = Math.max(0, Math.min(off, MAX_SIZE - len));
              byte[] b = new byte[len];
              rnd.nextBytes(b);
              step = "batch " + batch + " op " + op + ": write " + f.ino + " [" + off + ", +" + len + ")";
              long o = off;
              assertEquals(len, io.write(h.fh(), o, len, (so, dst, doff, l) ->
                  System.arraycopy(b, (int) so, dst, doff, l)), step);
              f.write(off, b);
            } else if (kind < 70) {
              long off = rnd.nextInt(10) == 0 ? f.size + rnd.nextInt(100)
                  : (long) (rnd.nextDouble() * Math.max(1, f.size));
              int len = rnd.nextBoolean() ? 1 + rnd.nextInt(5000) : 1 + rnd.nextInt(3 << 20);
              step = "batch " + batch + " op " + op + ": read " + f.ino + " [" + off + ", +" + len + ") size "
                  + f.size;
              assertArrayEquals(f.range(off, len), read(io, h.fh(), off, len), step);
            } else if (kind < 76) {
              long size = switch (rnd.nextInt(3)) {
                case 0 -> 0;
                case 1 -> (long) (rnd.nextDouble() * f.size);
                default -> Math.min(MAX_SIZE, f.size + rnd.nextInt(CHUNK));
              };
              step = "batch " + batch + " op " + op + ": truncate " + f.ino + " to " + size;
              io.truncate(f.ino, size);
              f.truncate(size);
            } else if (kind < 84) {
              step = "batch " + batch + " op " + op + ": flush " + f.ino;
              io.flush(h.fh());
            } else if (kind < 88) {
              step = "batch " + batch + " op " + op + ": fsync " + f.ino;
              io.fsync(h.fh(), rnd.nextBoolean());
            } else if (kind < 92) {
              step = "batch " + batch + " op " + op + ": getattr " + f.ino;
              assertEquals(f.size, io.withLocalSize(cluster.client().getAttr(f.ino)).getSize(), step);
            } else {
              step = "batch " + batch + " op " + op + ": close " + f.ino;
              io.release(h.fh());
              open.remove(h);
            }
          }
          for (Open h : open) {
            step = "batch " + batch + ": final close of " + h.file().ino;
            io.release(h.fh());
          }
          // Close-to-open across clients: another FileIo sees exactly the model.
          FileIo other = client(cluster, closers, FsConfig.DEFAULTS);
          for (Model f : files) {
            step = "batch " + batch + ": check " + f.ino + " through another client";
            Attr a = cluster.client().getAttr(f.ino);
            assertEquals(f.size, a.getSize(), step);
            long fh = other.open(a, 0);
            assertArrayEquals(f.range(0, (int) f.size), read(other, fh, 0, (int) f.size + 10), step);
            other.release(fh);
          }
        } finally {
          for (int i = closers.size() - 1; i >= 0; i--) {
            closers.get(i).close();
          }
        }
        if (rnd.nextInt(3) == 0) {
          step = "batch " + batch + ": storage daemon restart";
          cluster.stopStorage();
          cluster.startStorage();
        }
      }
    } catch (Throwable t) {
      throw new AssertionError("FileIoModelTest failed at " + step + "; replay with -Dshoal.seed=" + seed, t);
    }
  }
}
