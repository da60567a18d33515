package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.Subvolume;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * State survives closing every replica and starting them again on the same directories, and no entry is
 * applied twice on the way (counters and link counts stay exact; apply would stop the replica if Ratis offered
 * an entry at or below the applied index).
 */
class RestartTest {
  static final long ROOT = Layout.ROOT_INO;

  @TempDir Path tmp;

  /** Builds a tree with every kind of change; returns the subvolume it also fills. */
  static Subvolume writeTree(MetaClient c, String tag) throws Exception {
    c.registerDaemon(StorageDaemon.newBuilder().setId("d1").setAddress("127.0.0.1:7000").setCapacityBytes(1 << 30)
        .build());
    Attr top = c.mkdir(ROOT, "top-" + tag, 0755, 0, 0);
    for (int i = 0; i < 5; i++) {
      Attr d = c.mkdir(top.getIno(), "d" + i, 0700 + i, i, i);
      for (int j = 0; j < 4; j++) {
        Attr f = c.create(d.getIno(), "f" + j, 0644, 0, 0, true);
        c.allocChunk(f.getIno(), j);
        c.commitWrite(f.getIno(), (long) j * Layout.CHUNK_SIZE + 10 * i + 1, 0);
      }
    }
    c.rename(top.getIno(), "d0", c.lookup(top.getIno(), "d1").getIno(), "moved", 0);
    c.unlink(c.lookup(top.getIno(), "d2").getIno(), "f0");
    c.mkdir(top.getIno(), "empty", 0755, 0, 0);
    c.rmdir(top.getIno(), "empty");
    c.setAttr(SetAttrRequest.newBuilder().setIno(c.lookup(c.lookup(top.getIno(), "d3").getIno(), "f3").getIno())
        .setSize(5).build());
    Subvolume sv = c.createSubvolume("sv-" + tag, 1 << 20);
    Attr inside = c.mkdir(sv.getRootIno(), "inside", 0755, 0, 0);
    c.commitWrite(c.create(inside.getIno(), "data", 0644, 0, 0, true).getIno(), 777, 0);
    return sv;
  }

  @Test
  @Timeout(120)
  void threeReplicasRestartWithEverythingInPlace() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = cluster.client();
      Subvolume sv = writeTree(c, "a");
      Map<String, Trees.Node> root = Trees.dump(c, ROOT);
      Map<String, Trees.Node> vol = Trees.dump(c, sv.getRootIno());
      StatFsReply rootFs = c.statFs(ROOT);
      StatFsReply volFs = c.statFs(sv.getRootIno());
      java.util.List<io.shoalfs.proto.meta.Subvolume> subvolumes = c.listSubvolumes(); // with their usage now

      cluster.stopAll();
      cluster.startAll();
      cluster.awaitLeader(Duration.ofSeconds(30));

      assertEquals(root, Trees.dump(c, ROOT), "root volume after restart");
      assertEquals(vol, Trees.dump(c, sv.getRootIno()), "subvolume after restart");
      assertEquals(rootFs, c.statFs(ROOT));
      assertEquals(volFs, c.statFs(sv.getRootIno()));
      assertEquals(subvolumes, c.listSubvolumes());
      assertEquals(java.util.List.of(sv.getRootIno()), subvolumes.stream().map(v -> v.getRootIno()).toList());

      // New ids after the restart (a new term) never collide with the old ones.
      Attr fresh = c.create(ROOT, "after-restart", 0644, 0, 0, true);
      assertTrue(root.values().stream().noneMatch(n -> n.attr().getIno() == fresh.getIno()));
      assertEquals(rootFs.getInodesUsed() + 1, c.statFs(ROOT).getInodesUsed());
    }
  }

  /**
   * Without the snapshot a clean stop takes, a start must rebuild from an older snapshot and replay the log
   * on top of it: exactly what a crash leaves (RocksDB runs without its WAL). Done twice, so the second start
   * replays entries that the first start already applied once.
   */
  @Test
  @Timeout(120)
  void replayFromAnOlderSnapshotAppliesEachEntryOnce() throws Exception {
    MetaServer.Tuning tuning = MetaCluster.fastSingle().withSnapshots(40, 1_000_000, 8L << 20, false);
    try (MetaCluster cluster = MetaCluster.start(tmp, 1, tuning)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = cluster.client();
      Subvolume sv = writeTree(c, "b");
      // Some entries after the last automatic snapshot, so that they exist only in the log.
      for (int i = 0; i < 50 && cluster.server("m0").lastAppliedIndex()
          < latestSnapshotIndex(cluster.dirOf("m0")) + 6; i++) {
        c.mkdir(ROOT, "pad" + i, 0755, 0, 0);
      }
      Map<String, Trees.Node> root = Trees.dump(c, ROOT);
      StatFsReply rootFs = c.statFs(ROOT);
      StatFsReply volFs = c.statFs(sv.getRootIno());
      long applied = cluster.server("m0").lastAppliedIndex();
      long snapshotIndex = latestSnapshotIndex(cluster.dirOf("m0"));
      assertTrue(snapshotIndex > 0 && snapshotIndex < applied,
          "the test needs a snapshot older than the state: " + snapshotIndex + " vs " + applied);

      for (int round = 0; round < 2; round++) {
        cluster.stopAll();
        assertEquals(snapshotIndex, latestSnapshotIndex(cluster.dirOf("m0")), "no snapshot taken on stop");
        cluster.startAll();
        cluster.awaitLeader(Duration.ofSeconds(30));
        assertEquals(root, Trees.dump(c, ROOT), "round " + round);
        assertEquals(rootFs, c.statFs(ROOT), "usage counted once, round " + round);
        assertEquals(volFs, c.statFs(sv.getRootIno()), "round " + round);
      }
      Attr fresh = c.mkdir(ROOT, "later", 0755, 0, 0);
      assertNotEquals(0, fresh.getIno());
      assertEquals(rootFs.getInodesUsed() + 1, c.statFs(ROOT).getInodesUsed());
    }
  }

  static long latestSnapshotIndex(Path replicaDir) throws Exception {
    try (Stream<Path> s = Files.walk(replicaDir.resolve("raft"))) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.matches("snapshot\\.\\d+_\\d+"))
          .mapToLong(n -> Long.parseLong(n.substring(n.indexOf('_') + 1)))
          .max().orElse(-1);
    }
  }
}
