package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shoalfs.client.MetaClient;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore of a 1 GiB volume (acceptance 2 of issue 6): write 1 GiB through a mount, snapshot it, overwrite part
 * of the source, clone the snapshot (O(1), no byte copied) and read the clone back through its own mount: byte
 * for byte the data as of the snapshot. Prints how long each step took.
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SnapshotRestoreTest {
  private static final int FILES = 8;
  private static final int BLOCK = 1 << 20;
  private static final int BLOCKS_PER_FILE = 128; // 8 x 128 MiB = 1 GiB
  @TempDir Path tmp;

  /** The content of block {@code b} of file {@code f} in version {@code v}: reproducible, incompressible. */
  private static byte[] block(int v, int f, int b) {
    byte[] out = new byte[BLOCK];
    SplittableRandom r = new SplittableRandom(((long) v << 40) ^ ((long) f << 20) ^ b);
    for (int i = 0; i < BLOCK; i += 8) {
      long x = r.nextLong();
      for (int k = 0; k < 8; k++) {
        out[i + k] = (byte) (x >>> (8 * k));
      }
    }
    return out;
  }

  @Test
  void aRestoreOfOneGibReadsBackByteExact(TestCluster cluster) throws Exception {
    MetaClient admin = cluster.client();
    admin.createSubvolume("restore-src", 4L << 30);
    try (TestMount src = TestMount.open(cluster, "restore-src", tmp, "src")) {
      long t0 = System.nanoTime();
      for (int f = 0; f < FILES; f++) {
        try (FileChannel ch = FileChannel.open(src.root().resolve("f" + f), StandardOpenOption.CREATE_NEW,
            StandardOpenOption.WRITE)) {
          for (int b = 0; b < BLOCKS_PER_FILE; b++) {
            ch.write(ByteBuffer.wrap(block(1, f, b)));
          }
          ch.force(false);
        }
      }
      long written = System.nanoTime();
      admin.createSnapshot("restore-src", "s");
      long snapped = System.nanoTime();
      // The source moves on: the first and a middle block of every file are rewritten (copy-on-write).
      for (int f = 0; f < FILES; f++) {
        try (FileChannel ch = FileChannel.open(src.root().resolve("f" + f), StandardOpenOption.WRITE)) {
          ch.write(ByteBuffer.wrap(block(2, f, 0)), 0);
          ch.write(ByteBuffer.wrap(block(2, f, 77)), 77L * BLOCK);
          ch.force(false);
        }
      }
      long c0 = System.nanoTime();
      admin.cloneSubvolume("restore-src", "restore-dst", "s", 0);
      long cloned = System.nanoTime();
      try (TestMount dst = TestMount.open(cluster, "restore-dst", tmp, "dst")) {
        ByteBuffer buf = ByteBuffer.allocate(BLOCK);
        for (int f = 0; f < FILES; f++) {
          Path p = dst.root().resolve("f" + f);
          assertEquals((long) BLOCKS_PER_FILE * BLOCK, Files.size(p));
          try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            for (int b = 0; b < BLOCKS_PER_FILE; b++) {
              buf.clear();
              while (buf.hasRemaining() && ch.read(buf) > 0) {
                // read the whole block
              }
              assertArrayEquals(block(1, f, b), buf.array(), "file f" + f + " block " + b + " of the restore");
            }
          }
        }
        long read = System.nanoTime();
        // The source has its new blocks; the restore did not disturb it.
        byte[] head = new byte[BLOCK];
        try (FileChannel ch = FileChannel.open(src.root().resolve("f3"), StandardOpenOption.READ)) {
          ch.read(ByteBuffer.wrap(head), 0);
        }
        assertArrayEquals(block(2, 3, 0), head);
        System.out.printf("1 GiB restore: write %.1f s, snapshot %.1f ms, clone %.1f ms, read back %.1f s%n",
            (written - t0) / 1e9, (snapped - written) / 1e6, (cloned - c0) / 1e6, (read - cloned) / 1e9);
      }
    } finally {
      deleteQuietly(admin, "restore-dst");
      try {
        admin.deleteSnapshot("restore-src", "s");
      } catch (RuntimeException | io.shoalfs.client.MetaException e) {
        System.err.println("cleanup: " + e);
      }
      deleteQuietly(admin, "restore-src");
    }
  }

  private static void deleteQuietly(MetaClient admin, String name) {
    try {
      admin.deleteSubvolume(name);
    } catch (io.shoalfs.client.MetaException | RuntimeException e) {
      System.err.println("cleanup of " + name + ": " + e);
    }
  }
}
