package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A storage daemon that goes away: data calls fail with EIO, promptly; the namespace keeps working. */
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StorageFailureTest {
  @TempDir
  Path tmp;

  @Test
  void dataFailsWithEioWhileTheNamespaceWorks() throws IOException {
    try (TestCluster cluster = TestCluster.start(); TestMount mount = TestMount.open(cluster, tmp, "m")) {
      Path before = Files.writeString(mount.root().resolve("before.txt"), "stored");
      assertEquals("stored", Files.readString(before));
      cluster.stopStorage();
      // The kernel keeps pages of an unchanged file across opens (keep_cache): a changed inode version (here a
      // chmod) makes the next open drop them, so the read below has to reach the storage daemon.
      Files.setPosixFilePermissions(before, java.nio.file.attribute.PosixFilePermissions.fromString("rw-rw-r--"));

      IOException read = assertThrows(IOException.class, () -> Files.readString(before));
      assertTrue(read.getMessage().contains("Input/output error"), read.getMessage());
      IOException write = assertThrows(IOException.class, () -> {
        try (OutputStream out = Files.newOutputStream(mount.root().resolve("after.bin"))) {
          out.write(new byte[3 << 20]);
        }
      });
      assertTrue(write.getMessage().contains("Input/output error"), write.getMessage());

      Files.createDirectory(mount.root().resolve("still-works"));
      assertEquals(6, Files.size(before));
      try (Stream<Path> s = Files.list(mount.root())) {
        assertEquals(3, s.count(), "before.txt, after.bin, still-works");
      }
    }
  }
}
