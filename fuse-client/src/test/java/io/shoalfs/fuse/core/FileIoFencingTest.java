package io.shoalfs.fuse.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StaleChunkException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.storage.TestTokens;
import io.shoalfs.storage.testing.TestCluster;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Write fencing as the data layer meets it, against a real cluster: a client whose cached chunk map names a
 * chunk that another client's truncate freed and the GC deleted gets its write refused by the daemon, fetches
 * the chunk again and lands the write in a new chunk (the deleted one stays deleted); a chunk frozen above the
 * epoch the metadata service hands out refuses the write twice, which is ESTALE, and keeps its data.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileIoFencingTest {
  private static final int O_RDWR = 2;

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static void write(FileIo io, long fh, long off, byte[] b) throws Exception {
    io.write(fh, off, b.length, (so, dst, doff, l) -> System.arraycopy(b, (int) so, dst, doff, l));
  }

  private static byte[] read(FileIo io, long fh, long off, int len) throws Exception {
    byte[] out = new byte[len];
    int n = io.read(fh, off, len, (d, src, so, l) -> System.arraycopy(src, so, out, (int) d, l));
    return Arrays.copyOf(out, n);
  }

  private static void awaitUsed(StorageClient storage, String group, long bytes) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
    while (storage.status(group).getUsedBytes() != bytes) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("daemon's used bytes stayed at " + storage.status(group).getUsedBytes());
      }
      Thread.sleep(50);
    }
  }

  @Test
  void aWriteThroughAChunkTheGcDeletedLandsInANewChunk() throws Exception {
    try (TestCluster cluster = TestCluster.start();
        MetaClient meta = MetaClient.connect(cluster.metaAddrs());
        StorageClient storage = new StorageClient(meta)) {
      FileIo io = new FileIo(meta, storage, FsConfig.DEFAULTS.withDirtyAge(Duration.ZERO));
      try {
        String group = meta.getLayout().getGroups(0).getGroupId();
        long ino = cluster.client().create(Layout.ROOT_INO, "shared", 0644, 0, 0, true).getIno();
        long fh = io.open(meta.getAttr(ino), O_RDWR);
        write(io, fh, 0, bytes("first version"));
        io.fsync(fh, false);
        ChunkRef old = cluster.client().getChunks(ino, 0, 1).get(0);

        // Another client truncates the file to nothing; the collector deletes the chunk on the daemon.
        cluster.client().setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(0).build());
        awaitUsed(storage, group, 0);

        // This client still holds the old chunk map: its write is refused, refetched and lands anew.
        write(io, fh, 0, bytes("second"));
        io.fsync(fh, false);
        ChunkRef now = cluster.client().getChunks(ino, 0, 1).get(0);
        assertNotEquals(old.getChunkId(), now.getChunkId(), "a new chunk at index 0");
        assertArrayEquals(bytes("second"), storage.read(now, 0, 6).toByteArray());
        StaleChunkException gone = assertThrows(StaleChunkException.class, () -> storage.read(old, 0, 1));
        assertTrue(gone.deleted(), "the deleted chunk was not re-created");
        io.release(fh);
        long again = io.open(meta.getAttr(ino), O_RDWR);
        assertArrayEquals(bytes("second"), read(io, again, 0, 100));
        io.release(again);
      } finally {
        io.close();
      }
    }
  }

  @Test
  void aWriteIntoAFrozenChunkIsEstaleAndTheChunkKeepsItsData() throws Exception {
    try (TestCluster cluster = TestCluster.start();
        MetaClient meta = MetaClient.connect(cluster.metaAddrs());
        StorageClient storage = new StorageClient(meta)) {
      FileIo io = new FileIo(meta, storage, FsConfig.DEFAULTS.withDirtyAge(Duration.ZERO));
      try {
        long ino = cluster.client().create(Layout.ROOT_INO, "frozen", 0644, 0, 0, true).getIno();
        long fh = io.open(meta.getAttr(ino), O_RDWR);
        write(io, fh, 0, bytes("kept as it was"));
        io.fsync(fh, false);
        ChunkRef ref = cluster.client().getChunks(ino, 0, 1).get(0);
        // Frozen above the epoch the metadata service hands out (0): the refetched ref is refused too. (The test
        // fences as a copy-on-write writer would, with the fence token alloc_chunk would give it.)
        assertEquals(1, storage.fence(TestTokens.fenceable(ref, cluster.writeKey()), 1));

        write(io, fh, 0, bytes("OVERWRITE"));
        FsException e = assertThrows(FsException.class, () -> io.fsync(fh, false));
        assertEquals(Errno.ESTALE, e.errno(), e.getMessage());
        assertArrayEquals(bytes("kept as it was"), storage.read(ref, 0, 14).toByteArray());
        io.release(fh);
      } finally {
        io.close();
      }
    }
  }

  /**
   * A write another client still has in flight with the chunk map from before a snapshot must not land in the
   * chunk the snapshot froze after a writer copied it (the live file would lose it and the snapshot would
   * change): the copy-on-write writer fences the old chunk first, so the late write is refused as stale.
   */
  @Test
  void aLateWriteIntoAChunkASnapshotFrozeIsRefused() throws Exception {
    try (TestCluster cluster = TestCluster.start();
        MetaClient meta = MetaClient.connect(cluster.metaAddrs());
        StorageClient storage = new StorageClient(meta)) {
      FileIo io = new FileIo(meta, storage, FsConfig.DEFAULTS.withDirtyAge(Duration.ZERO));
      try {
        long root = cluster.client().createSubvolume("frozen-sv", 1L << 30).getRootIno();
        long ino = cluster.client().create(root, "f", 0644, 0, 0, true).getIno();
        long fh = io.open(meta.getAttr(ino), O_RDWR);
        write(io, fh, 0, bytes("base"));
        io.fsync(fh, false);
        ChunkRef before = cluster.client().allocChunk(ino, 0); // what another writer holds, token and all

        cluster.client().createSnapshot("frozen-sv", "s");
        write(io, fh, 100, bytes("after"));
        io.fsync(fh, false); // copy-on-write: a new chunk, the old one fenced before the copy

        StaleChunkException late = assertThrows(StaleChunkException.class,
            () -> storage.write(before, 0, com.google.protobuf.ByteString.copyFromUtf8("LATE"), true));
        assertTrue(!late.deleted(), "fenced, not deleted: the snapshot still reads it");
        assertArrayEquals(bytes("base"), storage.read(before, 0, 4).toByteArray(), "the snapshot's chunk is as it was");
        ChunkRef now = cluster.client().getChunks(ino, 0, 1).get(0);
        assertNotEquals(before.getChunkId(), now.getChunkId());
        assertArrayEquals(bytes("base"), storage.read(now, 0, 4).toByteArray(), "the copy kept the old bytes");
        assertArrayEquals(bytes("after"), storage.read(now, 100, 5).toByteArray());
        io.release(fh);
      } finally {
        io.close();
      }
    }
  }
}
