package io.shoalfs.fuse.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.storage.testing.TestCluster;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Attributes fetched before this client's own commit of a file landed (a getattr or open racing the background
 * flusher, or another descriptor's close) are older than what the open file knows: an open or a getattr with them
 * must not take the file back to the old size, or reads stop short of bytes this client wrote and committed (the
 * FileIoModelTest failure "read [9718435, +100) size 12217284 ... expected: <100> but was: <0>"). Attributes
 * newer than the open file's (another client's truncate) still win: close-to-open.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileIoStaleAttrTest {
  private static final int O_RDWR = 2;

  private static void write(FileIo io, long fh, long off, byte[] b) throws Exception {
    io.write(fh, off, b.length, (so, dst, doff, l) -> System.arraycopy(b, (int) so, dst, doff, l));
  }

  private static byte[] read(FileIo io, long fh, long off, int len) throws Exception {
    byte[] out = new byte[len];
    int n = io.read(fh, off, len, (d, src, so, l) -> System.arraycopy(src, so, out, (int) d, l));
    return Arrays.copyOf(out, n);
  }

  private static byte[] pattern(int len, int seed) {
    byte[] b = new byte[len];
    for (int i = 0; i < len; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  @Test
  void attributesFromBeforeThisClientsCommitDoNotShrinkTheOpenFile() throws Exception {
    try (TestCluster cluster = TestCluster.start();
        MetaClient meta = MetaClient.connect(cluster.metaAddrs());
        StorageClient storage = new StorageClient(meta)) {
      // No flusher: the test makes the interleaving the flusher makes by chance.
      FileIo io = new FileIo(meta, storage, FsConfig.DEFAULTS.withDirtyAge(Duration.ZERO));
      try {
        long ino = cluster.client().create(Layout.ROOT_INO, "f", 0644, 0, 0, true).getIno();
        long fh1 = io.open(meta.getAttr(ino), O_RDWR);
        byte[] first = pattern(5000, 1);
        write(io, fh1, 0, first);
        io.flush(fh1);
        byte[] more = pattern(3000, 2);
        write(io, fh1, first.length, more);
        // Fetched while the second write is still uncommitted (the flusher commits it right after, say) ...
        Attr stale = cluster.client().getAttr(ino);
        assertEquals(first.length, stale.getSize());
        io.flush(fh1);
        long size = first.length + more.length;
        // ... and used afterwards: by a getattr, and by an open of a second descriptor.
        assertEquals(size, io.withLocalSize(stale).getSize(), "getattr with attributes older than the commit");
        long fh2 = io.open(stale, O_RDWR);
        byte[] all = new byte[(int) size];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(more, 0, all, first.length, more.length);
        assertArrayEquals(all, read(io, fh2, 0, (int) size + 10), "read through the second descriptor");
        assertArrayEquals(all, read(io, fh1, 0, (int) size + 10), "read through the first descriptor");
        io.release(fh2);
        io.release(fh1);
      } finally {
        io.close();
      }
    }
  }

  @Test
  void anotherClientsTruncateIsStillSeenOnOpen() throws Exception {
    try (TestCluster cluster = TestCluster.start();
        MetaClient meta = MetaClient.connect(cluster.metaAddrs());
        StorageClient storage = new StorageClient(meta)) {
      FileIo io = new FileIo(meta, storage, FsConfig.DEFAULTS.withDirtyAge(Duration.ZERO));
      try {
        long ino = cluster.client().create(Layout.ROOT_INO, "g", 0644, 0, 0, true).getIno();
        long fh1 = io.open(meta.getAttr(ino), O_RDWR);
        byte[] data = pattern(8000, 3);
        write(io, fh1, 0, data);
        io.flush(fh1);
        // Another client truncates; this client's next open (fresh attributes) sees it, and so does getattr.
        cluster.client().setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(100).build());
        Attr fresh = cluster.client().getAttr(ino);
        assertEquals(100, io.withLocalSize(fresh).getSize());
        long fh2 = io.open(fresh, O_RDWR);
        assertArrayEquals(Arrays.copyOf(data, 100), read(io, fh2, 0, 8000));
        io.release(fh2);
        io.release(fh1);
      } finally {
        io.close();
      }
    }
  }
}
