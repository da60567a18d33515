package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReadDirRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.Snapshot;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.Subvolume;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots and clones over the wire, on three real replicas: the MetaClient API others call (CSI, CLI), reads
 * as of a snapshot, EROFS for a write that names one, and every replica applying the same history (a restart of
 * the cluster reads the same snapshot).
 */
@Timeout(180)
class SnapshotClusterTest {
  @TempDir Path tmp;

  @Test
  void snapshotsAndClonesThroughTheClient() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(60));
      MetaClient c = cluster.client();
      c.registerDaemon(StorageDaemon.newBuilder().setId("d1").setAddress("127.0.0.1:1").setCapacityBytes(1L << 40)
          .build());
      Subvolume sv = c.createSubvolume("v", 1L << 30);
      long root = sv.getRootIno();
      for (int i = 0; i < 20; i++) {
        c.create(root, "f" + i, 0644, 0, 0, true);
      }
      long f0 = c.lookup(root, "f0").getIno();
      c.allocChunk(f0, 0);
      Snapshot s = c.createSnapshot("v", "s1");
      assertEquals(s, c.createSnapshot("v", "s1"), "idempotent");
      assertEquals(List.of("s1"), c.listSnapshots("v").stream().map(Snapshot::getName).toList());
      assertEquals(s, c.getSnapshot("v", "s1"));
      c.unlink(root, "f1");
      c.create(root, "late", 0644, 0, 0, true);
      assertEquals(21 - 1, names(c, root, 0, 0).size());
      assertEquals(20, names(c, root, root, s.getSeq()).size());
      MetaException e = assertThrows(MetaException.class, () -> c.callAsOf(MetaRequest.newBuilder()
          .setSetAttr(SetAttrRequest.newBuilder().setIno(f0).setMode(0600)).build(), root, s.getSeq()));
      assertEquals(Code.EROFS, e.code());

      Subvolume clone = c.cloneSubvolume("v", "v-clone", "s1", 0);
      assertEquals("v", clone.getCloneOf());
      assertEquals(20, names(c, clone.getRootIno(), 0, 0).size());
      assertEquals(c.getChunks(f0, 0, 1).get(0).getChunkId(),
          c.getChunks(c.lookup(clone.getRootIno(), "f0").getIno(), 0, 1).get(0).getChunkId(), "shared chunk");
      var cow = c.allocChunk(c.lookup(clone.getRootIno(), "f0").getIno(), 0);
      assertEquals(c.getChunks(f0, 0, 1).get(0).getChunkId(), cow.getCopyFromChunkId(), "copy-on-write in the clone");

      // Every replica applied the same: after a restart of all three the snapshot reads the same.
      cluster.stopAll();
      cluster.startAll();
      cluster.awaitLeader(Duration.ofSeconds(60));
      MetaClient c2 = cluster.client();
      assertEquals(20, names(c2, root, root, s.getSeq()).size());
      assertEquals(20, names(c2, clone.getRootIno(), 0, 0).size());
      c2.deleteSnapshot("v", "s1");
      assertEquals(List.of(), c2.listSnapshots("v"));
      c2.deleteSubvolume("v-clone");
      c2.deleteSubvolume("v");
    }
  }

  private static List<String> names(MetaClient c, long dir, long volume, long seq) throws MetaException {
    MetaRequest r = MetaRequest.newBuilder().setReadDir(ReadDirRequest.newBuilder().setIno(dir).setLimit(10_000))
        .build();
    var reply = seq == 0 ? c.call(r) : c.callAsOf(r, volume, seq);
    return reply.getDir().getEntriesList().stream().map(DirEntry::getName).toList();
  }
}
