package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.core.OrphanChunks;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReleaseOrphansRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.records.ChunkRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The GC's safety invariant in the state machine, under seeded random namespace work: a chunk gets an
 * orphan_chunks row exactly when its last reference goes. The one registered daemon is unreachable, so the
 * collector deletes nothing and every row stays: after every operation, the chunks ever placed are exactly the
 * referenced ones plus the orphans, the two sets disjoint ({@link OrphanChunks#violations} empty), and every
 * orphan row names the record it came from. Also: a client cannot send release_orphans (EPERM). Prints its
 * seed; replay with {@code -Dshoal.seed=SEED}.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class OrphanInvariantTest {
  private static final long ROOT = Layout.ROOT_INO;
  private static final int CHUNK = Layout.CHUNK_SIZE;
  private static final int OPS = 250;

  record Name(long parent, String name) {}

  @Test
  void anOrphanRowIsWrittenExactlyWhenTheLastReferenceGoes() throws Exception {
    long seed = Long.getLong("shoal.seed", System.nanoTime());
    System.out.println("OrphanInvariantTest seed " + seed + " (replay: -Dshoal.seed=" + seed + ")");
    Path tmp = Files.createTempDirectory("shoal-meta-orphans");
    try (MetaCluster cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle())) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient client = cluster.client();
      // Nothing listens there: deletes fail, so the collector leaves every row in place.
      client.registerDaemon(StorageDaemon.newBuilder().setId("dead").setAddress("127.0.0.1:1")
          .setCapacityBytes(1L << 40).build());
      try {
        run(cluster, client, new Random(seed));
      } catch (Throwable t) {
        throw new AssertionError("failed with seed " + seed + " (replay: -Dshoal.seed=" + seed + "): " + t, t);
      }
    } finally {
      TestDirs.deleteRecursively(tmp);
    }
  }

  private static void run(MetaCluster cluster, MetaClient client, Random rnd) throws Exception {
    List<Name> names = new ArrayList<>();
    Set<Long> placed = new HashSet<>();
    long svRoot = 0;
    String sv = null;
    int serial = 0;
    for (int op = 0; op < OPS; op++) {
      int kind = rnd.nextInt(100);
      if (names.isEmpty() || kind < 30) {
        if (svRoot == 0 && rnd.nextInt(8) == 0) {
          sv = "sv" + serial;
          svRoot = client.createSubvolume(sv, 1L << 40).getRootIno();
        }
        long parent = svRoot != 0 && rnd.nextBoolean() ? svRoot : ROOT;
        Name n = new Name(parent, "f" + serial++);
        Attr a = client.create(n.parent(), n.name(), 0644, 0, 0, false);
        int chunks = 1 + rnd.nextInt(4);
        for (int i = 0; i < chunks; i++) {
          ChunkRef r = client.allocChunk(a.getIno(), rnd.nextInt(6));
          placed.add(r.getChunkId());
        }
        names.add(n);
      } else if (kind < 45) {
        Name n = names.get(rnd.nextInt(names.size()));
        long size = (long) rnd.nextInt(6) * CHUNK + (rnd.nextBoolean() ? 0 : rnd.nextInt(CHUNK));
        client.setAttr(SetAttrRequest.newBuilder().setIno(ino(client, n)).setSize(size).build());
      } else if (kind < 60) {
        Name n = names.remove(rnd.nextInt(names.size()));
        client.unlink(n.parent(), n.name());
      } else if (kind < 70 && names.size() >= 2) {
        Name from = names.get(rnd.nextInt(names.size()));
        Name to = names.get(rnd.nextInt(names.size()));
        if (from.parent() == to.parent() && !from.equals(to)) {
          boolean sameInode = ino(client, from) == ino(client, to);
          client.rename(from.parent(), from.name(), to.parent(), to.name(), 0);
          names.remove(from);
          if (sameInode) {
            // rename(2) between two links of one inode does nothing: both names stay.
            names.add(from);
          }
        }
      } else if (kind < 80) {
        Name n = names.get(rnd.nextInt(names.size()));
        Name link = new Name(n.parent(), "l" + serial++);
        client.link(ino(client, n), link.parent(), link.name());
        names.add(link);
      } else if (kind < 90) {
        Name n = names.get(rnd.nextInt(names.size()));
        client.fallocate(ino(client, n), 3, (long) rnd.nextInt(5) * CHUNK, (1 + rnd.nextInt(2)) * (long) CHUNK);
      } else if (kind < 95) {
        Name n = names.get(rnd.nextInt(names.size()));
        // Re-placing an existing index returns the same chunk; a new index places a new one.
        placed.add(client.allocChunk(ino(client, n), rnd.nextInt(6)).getChunkId());
      } else if (svRoot != 0) {
        client.deleteSubvolume(sv);
        long root = svRoot;
        names.removeIf(n -> n.parent() == root);
        svRoot = 0;
      }
      check(cluster, client, names, placed, "op " + op);
    }
    MetaException e = assertThrows(MetaException.class, () -> client.call(MetaRequest.newBuilder()
        .setReleaseOrphans(ReleaseOrphansRequest.newBuilder().addAllChunkIds(placed)).build()));
    assertEquals(Code.EPERM, e.code(), "a client cannot release orphan rows");
    check(cluster, client, names, placed, "after a client's release_orphans");
  }

  private static long ino(MetaClient client, Name n) throws MetaException {
    return client.lookup(n.parent(), n.name()).getIno();
  }

  private static void check(MetaCluster cluster, MetaClient client, List<Name> names, Set<Long> placed, String where)
      throws Exception {
    MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(10));
    assertEquals(List.of(), leader.stateMachine().readState(tx -> OrphanChunks.violations(tx, 10)), where);
    Set<Long> live = new HashSet<>();
    for (Name n : names) {
      for (ChunkRef r : client.getChunks(ino(client, n), 0, 0)) {
        live.add(r.getChunkId());
      }
    }
    Map<Long, ChunkRecord> orphans = leader.stateMachine().dump(MetaTables.ORPHAN_CHUNKS, 1_000_000);
    for (long id : placed) {
      boolean isLive = live.contains(id);
      boolean isOrphan = orphans.containsKey(id);
      assertTrue(isLive != isOrphan, where + ": chunk " + id + " live=" + isLive + " orphan=" + isOrphan);
    }
    assertEquals(placed.size(), live.size() + orphans.size(), where + ": nothing else is live or orphaned");
    for (ChunkRecord row : orphans.values()) {
      assertTrue(row.getOwnerIno() != 0, where + ": orphan row names its owner: " + row);
    }
  }
}
