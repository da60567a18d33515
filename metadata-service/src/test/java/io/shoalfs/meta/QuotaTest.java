package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.SessionClient;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.Extent;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.proto.records.UsageRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Hard quotas in the state machine (core Quotas): reservations (grants, partial grants at the quota, EDQUOT,
 * consumption by commits, return at the last close and at session expiry), usage as allocated bytes (sparse
 * files, truncate, fallocate), the inode quota, resize up and down, delete of a mounted subvolume, and the
 * pool (each disk once, ENOSPC).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(180)
class QuotaTest {
  static final long MI = 1 << 20;
  static final int CS = Layout.CHUNK_SIZE;

  Path tmp;
  MetaCluster cluster;
  MetaClient admin;
  final List<AutoCloseable> closeLater = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("shoal-quota");
    cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle());
    cluster.awaitLeader(Duration.ofSeconds(30));
    admin = cluster.client();
    admin.registerDaemon(StorageDaemon.newBuilder().setId("d1").setAddress("127.0.0.1:7001")
        .setCapacityBytes(1L << 40).build());
  }

  @AfterAll
  void stop() throws Exception {
    for (AutoCloseable c : closeLater) {
      c.close();
    }
    if (cluster != null) {
      cluster.close();
    }
    TestDirs.deleteRecursively(tmp);
  }

  static void assertCode(Code code, Executable e) {
    try {
      e.execute();
      fail("expected " + code);
    } catch (MetaException me) {
      assertEquals(code, me.code(), me.getMessage());
    } catch (Throwable t) {
      fail("expected " + code + ", got " + t);
    }
  }

  /** A mount's session on {@code root}: its own client, bound to it (renewed until closed). */
  SessionClient mount(long root, String name) throws MetaException {
    SessionClient s = SessionClient.open(cluster.client(), name, root, null);
    closeLater.add(s);
    return s;
  }

  UsageRecord usage(long root) throws InterruptedException {
    return cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine().dump(MetaTables.USAGE, 10_000).get(root);
  }

  /** Writes [lo, hi) of chunk {@code index} as a client does: alloc_chunk, then commit with the extent. */
  static Attr write(MetaClient c, long ino, int index, int lo, int hi) throws MetaException {
    c.allocChunk(ino, index);
    return c.commitWrite(ino, (long) index * CS + hi, 0,
        List.of(Extent.newBuilder().setIndex(index).setLo(lo).setHi(hi).build()));
  }

  static Extent extent(int index, int lo, int hi) {
    return Extent.newBuilder().setIndex(index).setLo(lo).setHi(hi).build();
  }

  @Test
  void reservationsGrantPartiallyAtTheQuotaAreConsumedByCommitsAndReturnAtClose() throws Exception {
    Subvolume v = admin.createSubvolume("q-res", 10 * MI, 0);
    long root = v.getRootIno();
    SessionClient s = mount(root, "writer");
    MetaClient c = cluster.client();
    c.bindSession(new MetaClient.SessionBinding() {
      public long sessionId() {
        return s.sessionId();
      }

      public long lost(long lost) {
        return 0;
      }
    });
    Attr f = s.create(CreateRequest.newBuilder().setParent(root).setName("f").setMode(0644).setExclusive(true)
        .build());
    assertEquals(4 * MI, c.reserve(f.getIno(), 4 * MI));
    assertEquals(4 * MI, usage(root).getReservedBytes());
    assertEquals(6 * MI, admin.statFs(root).getAvailableBytes(), "reservations are not available to others");
    assertEquals(10 * MI, c.reserve(f.getIno(), 8 * MI), "a partial grant: only 6 MiB were free");
    assertCode(Code.EDQUOT, () -> c.reserve(f.getIno(), 1));

    // Another writer of the volume finds nothing free while the first holds it all.
    SessionClient other = mount(root, "other");
    Attr g = other.create(CreateRequest.newBuilder().setParent(root).setName("g").setMode(0644).setExclusive(true)
        .build());
    MetaClient oc = cluster.client();
    oc.bindSession(new MetaClient.SessionBinding() {
      public long sessionId() {
        return other.sessionId();
      }

      public long lost(long lost) {
        return 0;
      }
    });
    assertCode(Code.EDQUOT, () -> oc.reserve(g.getIno(), MI));
    // A commit without a reservation may use only free space: none.
    oc.allocChunk(g.getIno(), 0);
    assertCode(Code.EDQUOT, () -> oc.commitWrite(g.getIno(), 100, 0, List.of(extent(0, 0, 100))));
    assertEquals(0, admin.getAttr(g.getIno()).getSize(), "the refused commit changed nothing");

    // 5 MiB written by the first writer: used 5 MiB, its reservation down to 5 MiB.
    c.allocChunk(f.getIno(), 0);
    c.allocChunk(f.getIno(), 1);
    io.shoalfs.proto.meta.MetaReply r = c.call(io.shoalfs.proto.meta.MetaRequest.newBuilder().setCommitWrite(
        io.shoalfs.proto.meta.CommitWriteRequest.newBuilder().setIno(f.getIno()).setEnd(5 * MI)
            .addWritten(extent(0, 0, CS)).addWritten(extent(1, 0, (int) MI))).build());
    assertEquals(5 * MI, r.getReservedBytes());
    assertEquals(5 * MI, r.getAttr().getAllocatedBytes());
    assertEquals(5 * MI, usage(root).getUsedBytes());
    assertEquals(5 * MI, usage(root).getReservedBytes());
    assertEquals(0, admin.statFs(root).getAvailableBytes());
    assertEquals(5 * MI, admin.getSubvolume("q-res").getReservedBytes());

    // The last close of the file by the session returns what is left.
    s.closeFile(f.getIno());
    assertEquals(0, usage(root).getReservedBytes());
    assertEquals(5 * MI, admin.statFs(root).getAvailableBytes());
    assertEquals(5 * MI, oc.reserve(g.getIno(), 8 * MI), "now the other writer gets what is free");
    other.closeFile(g.getIno());
    assertEquals(0, usage(root).getReservedBytes());
  }

  @Test
  void anExpiredSessionsReservationsReturn() throws Exception {
    Subvolume v = admin.createSubvolume("q-expire", 8 * MI, 0);
    long root = v.getRootIno();
    long session = SessionOps.open(admin, "dies");
    MetaClient c = cluster.client();
    c.bindSession(new MetaClient.SessionBinding() {
      public long sessionId() {
        return session;
      }

      public long lost(long lost) {
        return 0;
      }
    });
    Attr f = c.create(root, "f", 0644, 0, 0, true);
    SessionOps.openFile(c, session, f.getIno());
    assertEquals(3 * MI, c.reserve(f.getIno(), 3 * MI));
    assertEquals(3 * MI, usage(root).getReservedBytes());
    // No renewal: after the lease (5 s) the leader expires the session, and the reservation returns.
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (usage(root).getReservedBytes() != 0) {
      assertTrue(System.nanoTime() < deadline, "reservation still held: " + usage(root));
      Thread.sleep(200);
    }
    assertEquals(0, cluster.awaitLeader(Duration.ofSeconds(5)).stateMachine().dump(MetaTables.RESERVATIONS, 1000)
        .keySet().stream().filter(k -> k.first() == session).count());
    assertEquals(8 * MI, admin.statFs(root).getAvailableBytes());
  }

  @Test
  void usageCountsAllocatedBytesSoSparseFilesAreSmall() throws Exception {
    long root = admin.createSubvolume("q-sparse", 64 * MI, 0).getRootIno();
    Attr f = admin.create(root, "sparse", 0644, 0, 0, true);
    write(admin, f.getIno(), 10, 0, 100); // 100 bytes at 40 MiB: a 40 MiB file holding one 4 KiB unit
    assertEquals(10L * CS + 100, admin.getAttr(f.getIno()).getSize());
    assertEquals(4096, usage(root).getUsedBytes());
    assertEquals(4096, admin.statFs(root).getUsedBytes());
    admin.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(100L * CS).build());
    assertEquals(4096, usage(root).getUsedBytes(), "growing the size allocates nothing");
    write(admin, f.getIno(), 0, 0, 5000);
    assertEquals(8192, usage(root).getUsedBytes(), "5100 bytes allocated: two 4 KiB units for the inode");
    admin.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(1000).build());
    assertEquals(4096, usage(root).getUsedBytes(), "truncate frees what it cuts");
    admin.fallocate(f.getIno(), 0, 0, 3 * MI);
    assertEquals(3 * MI, usage(root).getUsedBytes(), "fallocate allocates");
    assertCode(Code.EDQUOT, () -> admin.fallocate(f.getIno(), 1, 0, 65 * MI));
    admin.fallocate(f.getIno(), 3, 0, CS);
    assertEquals(0, usage(root).getUsedBytes(), "a punched hole frees");
    Attr h = admin.create(root, "h", 0644, 0, 0, true);
    write(admin, h.getIno(), 0, 0, 10_000);
    admin.link(h.getIno(), root, "h2");
    assertEquals(12288, usage(root).getUsedBytes(), "a hard link counts once");
    admin.unlink(root, "h");
    assertEquals(12288, usage(root).getUsedBytes());
    admin.unlink(root, "h2");
    admin.unlink(root, "sparse");
    assertEquals(0, usage(root).getUsedBytes());
    assertEquals(1, usage(root).getInodes());
  }

  @Test
  void theInodeQuotaRefusesNewInodesWithEdquot() throws Exception {
    Subvolume v = admin.createSubvolume("q-inodes", 10 * MI, 4);
    long root = v.getRootIno();
    assertEquals(4, admin.statFs(root).getInodesCapacity());
    long d = admin.mkdir(root, "d", 0755, 0, 0).getIno();
    admin.create(d, "a", 0644, 0, 0, true);
    admin.symlink(root, "l", "d/a".getBytes(), 0, 0); // 4 of 4, the root included
    assertCode(Code.EDQUOT, () -> admin.create(root, "b", 0644, 0, 0, true));
    assertCode(Code.EDQUOT, () -> admin.mkdir(root, "e", 0755, 0, 0));
    assertCode(Code.EDQUOT, () -> admin.symlink(root, "m", "x".getBytes(), 0, 0));
    assertCode(Code.EDQUOT, () -> admin.mknod(root, "p", FileType.FIFO, 0644, 0, 0, 0));
    assertCode(Code.EEXIST, () -> admin.create(root, "l", 0644, 0, 0, true));
    admin.link(admin.lookup(d, "a").getIno(), root, "a2"); // a name, not an inode
    assertEquals(4, admin.statFs(root).getInodesUsed());
    admin.unlink(root, "l");
    admin.create(root, "b", 0644, 0, 0, true);
    assertCode(Code.EDQUOT, () -> admin.resizeSubvolume("q-inodes", null, 3L));
    assertEquals(8L, admin.resizeSubvolume("q-inodes", null, 8L).getInodesLimit());
    admin.mkdir(root, "e", 0755, 0, 0);
    assertEquals(5, admin.getSubvolume("q-inodes").getUsedInodes());
    assertEquals(0L, admin.resizeSubvolume("q-inodes", null, 0L).getInodesLimit(), "0: no inode quota");
  }

  @Test
  void resizeUpAndDownNeverBelowUsage() throws Exception {
    long root = admin.createSubvolume("q-resize", 4 * MI, 0).getRootIno();
    Attr f = admin.create(root, "f", 0644, 0, 0, true);
    write(admin, f.getIno(), 0, 0, 3 * (int) MI);
    Attr g = admin.create(root, "g", 0644, 0, 0, true);
    admin.allocChunk(g.getIno(), 0);
    assertCode(Code.EDQUOT, () -> admin.commitWrite(g.getIno(), 2 * MI, 0, List.of(extent(0, 0, 2 * (int) MI))));
    assertCode(Code.EDQUOT, () -> admin.resizeSubvolume("q-resize", 2 * MI, null));
    assertCode(Code.EINVAL, () -> admin.resizeSubvolume("q-resize", 0L, null));
    assertCode(Code.ENOENT, () -> admin.resizeSubvolume("q-missing", MI, null));
    Subvolume up = admin.resizeSubvolume("q-resize", 8 * MI, null);
    assertEquals(8 * MI, up.getCapacityBytes());
    assertEquals(3 * MI, up.getUsedBytes());
    assertEquals(8 * MI, admin.statFs(root).getCapacityBytes());
    admin.commitWrite(g.getIno(), 2 * MI, 0, List.of(extent(0, 0, 2 * (int) MI)));
    assertEquals(5 * MI, admin.resizeSubvolume("q-resize", 5 * MI, null).getCapacityBytes(), "down to the usage");
    assertEquals(0, admin.statFs(root).getAvailableBytes());
  }

  @Test
  void createIsIdempotentForTheSameQuotasOnly() throws Exception {
    Subvolume a = admin.createSubvolume("q-same", 10 * MI, 50);
    assertEquals(a, admin.createSubvolume("q-same", 10 * MI, 50));
    assertCode(Code.EEXIST, () -> admin.createSubvolume("q-same", 10 * MI, 51));
    assertCode(Code.EEXIST, () -> admin.createSubvolume("q-same", 11 * MI, 50));
    assertEquals(50, admin.getSubvolume("q-same").getInodesLimit());
  }

  @Test
  void deleteRefusesAMountedSubvolumeUnlessForced() throws Exception {
    long root = admin.createSubvolume("q-busy", 10 * MI, 0).getRootIno();
    SessionClient m = mount(root, "mounted");
    MetaClient c = cluster.client();
    c.bindSession(new MetaClient.SessionBinding() {
      public long sessionId() {
        return m.sessionId();
      }

      public long lost(long lost) {
        return 0;
      }
    });
    Attr f = m.create(CreateRequest.newBuilder().setParent(root).setName("f").setMode(0644).build());
    c.reserve(f.getIno(), MI);
    assertEquals(1, admin.getSubvolume("q-busy").getMountSessions());
    assertCode(Code.EBUSY, () -> admin.deleteSubvolume("q-busy"));
    assertEquals(root, admin.getSubvolume("q-busy").getRootIno(), "still there");
    admin.deleteSubvolume("q-busy", true);
    assertCode(Code.ENOENT, () -> admin.getSubvolume("q-busy"));
    assertEquals(0, cluster.awaitLeader(Duration.ofSeconds(5)).stateMachine().dump(MetaTables.RESERVATIONS, 1000)
        .values().stream().filter(r -> r.getVolume() == root).count(), "its reservations went with it");
    assertCode(Code.ENOENT, () -> c.getAttr(f.getIno()));
    m.close();
    long again = admin.createSubvolume("q-busy", 10 * MI, 0).getRootIno();
    assertEquals(0, admin.getSubvolume("q-busy").getMountSessions());
    admin.deleteSubvolume("q-busy");
    assertTrue(again != root);
  }

  @Test
  void thePoolCountsEachDiskOnceAndIsFullWithEnospc() throws Exception {
    Path dir = Files.createTempDirectory(tmp, "pool");
    try (MetaCluster small = MetaCluster.start(dir, 1, MetaCluster.fastSingle())) {
      small.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = small.client();
      // Three daemons, two sharing one disk: 8 + 8 MiB, not 24.
      c.registerDaemon(StorageDaemon.newBuilder().setId("a").setAddress("127.0.0.1:7101").setCapacityBytes(8 * MI)
          .setDiskId("disk-1").build());
      c.registerDaemon(StorageDaemon.newBuilder().setId("b").setAddress("127.0.0.1:7102").setCapacityBytes(8 * MI)
          .setDiskId("disk-1").build());
      c.registerDaemon(StorageDaemon.newBuilder().setId("c").setAddress("127.0.0.1:7103").setCapacityBytes(8 * MI)
          .setDiskId("disk-2").build());
      StatFsReply pool = c.statFs(Layout.ROOT_INO);
      assertEquals(16 * MI, pool.getCapacityBytes());
      long root = c.createSubvolume("big", 1L << 40, 0).getRootIno(); // thin: the quota exceeds the pool
      Attr f = c.create(root, "f", 0644, 0, 0, true);
      write(c, f.getIno(), 0, 0, CS);
      write(c, f.getIno(), 1, 0, CS);
      write(c, f.getIno(), 2, 0, CS);
      assertEquals(12 * MI, c.statFs(Layout.ROOT_INO).getUsedBytes(), "the root volume shows the pool's usage");
      assertEquals(4 * MI, c.statFs(root).getAvailableBytes(), "the pool limits the thin subvolume");
      c.allocChunk(f.getIno(), 3);
      c.allocChunk(f.getIno(), 4);
      assertCode(Code.ENOSPC, () -> c.commitWrite(f.getIno(), 5L * CS, 0, List.of(extent(3, 0, CS),
          extent(4, 0, 1))));
      write(c, f.getIno(), 3, 0, CS);
      assertEquals(0, c.statFs(Layout.ROOT_INO).getAvailableBytes());
      SessionClient s = SessionClient.open(small.client(), "w", root, null);
      try {
        MetaClient bound = small.client();
        bound.bindSession(new MetaClient.SessionBinding() {
          public long sessionId() {
            return s.sessionId();
          }

          public long lost(long lost) {
            return 0;
          }
        });
        assertCode(Code.ENOSPC, () -> bound.reserve(f.getIno(), 1));
      } finally {
        s.close();
      }
    }
  }
}
