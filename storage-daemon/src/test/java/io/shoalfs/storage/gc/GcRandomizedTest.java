package io.shoalfs.storage.gc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StaleChunkException;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.SetAttrRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded random namespace work (create with data, truncate, unlink, rename over, hard links, hole punching,
 * subvolume delete) against a real metadata service and storage daemon while the collector runs. After every
 * operation the GC invariant holds (no chunk both referenced and orphaned); after every batch, once the
 * collector has drained: every chunk a file references still reads back its content, every other chunk ever
 * written is deleted on the daemon, and the daemon's used bytes are exactly the live chunks'. Prints its seed;
 * replay with {@code -Dshoal.seed=SEED}.
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcRandomizedTest {
  private static final int BATCHES = 4;
  private static final int OPS_PER_BATCH = 30;
  private static final long ROOT = Layout.ROOT_INO;
  private static final int CHUNK = Layout.CHUNK_SIZE;

  @TempDir
  Path dir;

  record Name(long parent, String name) {}

  @Test
  void nothingReferencedIsDeletedAndEverythingElseIs() throws Exception {
    long seed = Long.getLong("shoal.seed", System.nanoTime());
    System.out.println("GcRandomizedTest seed " + seed + " (replay: -Dshoal.seed=" + seed + ")");
    try (GcCluster c = GcCluster.start(dir)) {
      run(c, new Random(seed));
    } catch (Throwable t) {
      throw new AssertionError("failed with seed " + seed + " (replay: -Dshoal.seed=" + seed + "): " + t, t);
    }
  }

  private void run(GcCluster c, Random rnd) throws Exception {
    List<Name> names = new ArrayList<>();
    Map<Long, ChunkRef> written = new HashMap<>();
    long svRoot = 0;
    int serial = 0;
    for (int batch = 0; batch < BATCHES; batch++) {
      for (int op = 0; op < OPS_PER_BATCH; op++) {
        int kind = rnd.nextInt(100);
        String where = "batch " + batch + " op " + op;
        try {
          if (names.size() < 3 || kind < 35) {
            if (svRoot == 0 && rnd.nextInt(6) == 0) {
              svRoot = c.client.createSubvolume("sv" + serial, 1L << 40).getRootIno();
            }
            long parent = svRoot != 0 && rnd.nextBoolean() ? svRoot : ROOT;
            Name n = new Name(parent, "f" + serial++);
            for (ChunkRef r : writeFile(c, n, 1 + rnd.nextInt(3), rnd)) {
              written.put(r.getChunkId(), r);
            }
            names.add(n);
          } else if (kind < 45) {
            Name n = names.get(rnd.nextInt(names.size()));
            long size = (long) rnd.nextInt(4) * CHUNK + (rnd.nextBoolean() ? 0 : rnd.nextInt(CHUNK));
            long ino = c.client.lookup(n.parent(), n.name()).getIno();
            c.client.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(size).build());
          } else if (kind < 60) {
            Name n = names.remove(rnd.nextInt(names.size()));
            c.client.unlink(n.parent(), n.name());
          } else if (kind < 70 && names.size() >= 2) {
            Name from = names.remove(rnd.nextInt(names.size()));
            Name to = names.get(rnd.nextInt(names.size()));
            if (from.parent() == to.parent()) {
              boolean sameFile = c.client.lookup(from.parent(), from.name()).getIno()
                  == c.client.lookup(to.parent(), to.name()).getIno();
              c.client.rename(from.parent(), from.name(), to.parent(), to.name(), 0);
              if (sameFile) {
                names.add(from); // two links of one file: rename(2) does nothing and both names stay
              }
            } else {
              names.add(from); // across volumes is EXDEV; keep it
            }
          } else if (kind < 80) {
            Name n = names.get(rnd.nextInt(names.size()));
            long ino = c.client.lookup(n.parent(), n.name()).getIno();
            Name link = new Name(n.parent(), "l" + serial++);
            c.client.link(ino, link.parent(), link.name());
            names.add(link);
          } else if (kind < 90) {
            Name n = names.get(rnd.nextInt(names.size()));
            long ino = c.client.lookup(n.parent(), n.name()).getIno();
            c.client.fallocate(ino, 3, (long) rnd.nextInt(3) * CHUNK, CHUNK); // punch one whole chunk
          } else if (svRoot != 0 && rnd.nextInt(3) == 0) {
            long root = svRoot;
            String sv = c.client.listSubvolumes().stream().filter(s -> s.getRootIno() == root).findFirst()
                .orElseThrow().getName();
            c.client.deleteSubvolume(sv);
            names.removeIf(n -> n.parent() == root);
            svRoot = 0;
          }
        } catch (MetaException e) {
          throw new AssertionError(where + ": " + e.code() + " " + e.getMessage(), e);
        }
        assertEquals(List.of(), c.violations(), where + ": GC invariant");
      }
      GcCluster.await("collector drained after batch " + batch, Duration.ofSeconds(30), () -> c.orphanRows() == 0);
      checkBatch(c, names, written, batch);
    }
  }

  private static List<ChunkRef> writeFile(GcCluster c, Name n, int chunks, Random rnd) throws Exception {
    Attr a = c.client.create(n.parent(), n.name(), 0644, 0, 0, false);
    List<ChunkRef> refs = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      ChunkRef ref = c.client.allocChunk(a.getIno(), i);
      c.storageClient.write(ref, 0, ByteString.copyFrom(GcClusterTest.content(ref.getChunkId())), false);
      refs.add(ref);
    }
    c.client.commitWrite(a.getIno(), (long) (chunks - 1) * CHUNK + GcClusterTest.PIECE, 1);
    return refs;
  }

  private static void checkBatch(GcCluster c, List<Name> names, Map<Long, ChunkRef> written, int batch)
      throws Exception {
    Set<Long> live = new HashSet<>();
    for (Name n : names) {
      long ino = c.client.lookup(n.parent(), n.name()).getIno();
      for (ChunkRef r : c.client.getChunks(ino, 0, 0)) {
        live.add(r.getChunkId());
      }
    }
    long liveBytes = 0;
    for (ChunkRef r : written.values()) {
      if (live.contains(r.getChunkId())) {
        // A truncate inside the chunk is the client's to cut on the daemon (this test does not), so the
        // content is whole.
        assertArrayEquals(GcClusterTest.content(r.getChunkId()),
            c.storageClient.read(r, 0, GcClusterTest.PIECE).toByteArray(),
            "batch " + batch + ": referenced chunk " + r.getChunkId() + " lost data");
        liveBytes += GcClusterTest.PIECE;
      } else {
        try {
          c.storageClient.read(r, 0, 1);
          throw new AssertionError("batch " + batch + ": chunk " + r.getChunkId()
              + " is referenced by nothing and was not deleted");
        } catch (StaleChunkException expected) {
          assertTrue(expected.deleted());
        }
      }
    }
    assertTrue(live.stream().allMatch(written::containsKey), "every live chunk was written by this test");
    assertEquals(liveBytes, c.status().getUsedBytes(), "batch " + batch + ": daemon's used bytes");
    System.out.println("GcRandomizedTest batch " + batch + ": " + live.size() + " live chunks, "
        + (written.size() - live.size()) + " deleted");
  }
}
