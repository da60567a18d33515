package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.SessionClient;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.records.ChunkRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Open-but-unlinked files: an inode whose last name goes while a session holds it open stays readable
 * (getattr, chunk map) until its last close anywhere, then is reclaimed (record, chunks to orphan_chunks,
 * usage); a closed or expired session's opens count as closed.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class OpenUnlinkedTest {
  static final long ROOT = Layout.ROOT_INO;

  Path tmp;
  MetaCluster cluster;
  MetaClient client;

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("shoal-unlinked");
    cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle());
    cluster.awaitLeader(Duration.ofSeconds(30));
    client = cluster.client();
    client.registerDaemon(StorageDaemon.newBuilder().setId("d1").setAddress("127.0.0.1:7001")
        .setCapacityBytes(1L << 40).build());
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    TestDirs.deleteRecursively(tmp);
  }

  Map<Long, ChunkRecord> orphans() throws InterruptedException {
    return cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine().dump(MetaTables.ORPHAN_CHUNKS, 100_000);
  }

  boolean listedUnlinked(long ino) throws InterruptedException {
    return cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine().dump(MetaTables.UNLINKED, 100_000)
        .containsKey(ino);
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

  /** A file with one chunk and 100 bytes; returns its chunk. */
  ChunkRef fill(long ino) throws MetaException {
    ChunkRef c = client.allocChunk(ino, 0);
    client.commitWrite(ino, 100, 0);
    return c;
  }

  @Test
  void anUnlinkedFileStaysUntilItsLastClose() throws Exception {
    try (SessionClient a = SessionClient.open(cluster.client(), "a", 0, null)) {
      Attr f = a.create(CreateRequest.newBuilder().setParent(ROOT).setName("open-then-unlinked").setMode(0644)
          .setExclusive(true).build());
      ChunkRef chunk = fill(f.getIno());
      a.openFile(f.getIno(), 0); // a second descriptor
      long inodesBefore = client.statFs(ROOT).getInodesUsed();

      client.unlink(ROOT, "open-then-unlinked"); // another client, no session
      assertCode(Code.ENOENT, () -> client.lookup(ROOT, "open-then-unlinked"));
      Attr gone = client.getAttr(f.getIno());
      assertEquals(0, gone.getNlink(), "fstat on an open descriptor still works, with nlink 0");
      assertEquals(100, gone.getSize());
      assertEquals(List.of(chunk.toBuilder().clearToken().build()), client.getChunks(f.getIno(), 0, 0),
          "its data is still reachable");
      assertFalse(orphans().containsKey(chunk.getChunkId()));
      assertTrue(listedUnlinked(f.getIno()));
      assertEquals(inodesBefore, client.statFs(ROOT).getInodesUsed(), "still counted until the last close");
      assertCode(Code.ENOENT, () -> a.openFile(f.getIno(), 0));

      a.closeFile(f.getIno());
      assertEquals(100, client.getAttr(f.getIno()).getSize(), "one open left");
      a.closeFile(f.getIno());
      assertCode(Code.ENOENT, () -> client.getAttr(f.getIno()));
      assertTrue(orphans().containsKey(chunk.getChunkId()), "the chunks went to orphan_chunks");
      assertFalse(listedUnlinked(f.getIno()));
      assertEquals(inodesBefore - 1, client.statFs(ROOT).getInodesUsed());
      assertCode(Code.EBADF, () -> a.closeFile(f.getIno()));
    }
  }

  @Test
  void unlinkBySessionBWhileAHoldsItOpen() throws Exception {
    try (SessionClient a = SessionClient.open(cluster.client(), "a", 0, null);
        SessionClient b = SessionClient.open(cluster.client(), "b", 0, null)) {
      long ino = client.create(ROOT, "shared", 0644, 0, 0, true).getIno();
      ChunkRef chunk = fill(ino);
      a.openFile(ino, 0);
      b.openFile(ino, 0);
      client.unlink(ROOT, "shared");
      b.closeFile(ino);
      assertEquals(0, client.getAttr(ino).getNlink(), "A still holds it");
      assertFalse(orphans().containsKey(chunk.getChunkId()));
      a.closeFile(ino);
      assertCode(Code.ENOENT, () -> client.getAttr(ino));
      assertTrue(orphans().containsKey(chunk.getChunkId()));
    }
  }

  @Test
  void renameOverAnOpenFileKeepsTheReplacedInode() throws Exception {
    try (SessionClient a = SessionClient.open(cluster.client(), "a", 0, null)) {
      long target = client.create(ROOT, "target", 0644, 0, 0, true).getIno();
      ChunkRef chunk = fill(target);
      a.openFile(target, 0);
      long src = client.create(ROOT, "src", 0644, 0, 0, true).getIno();
      client.rename(ROOT, "src", ROOT, "target", 0);
      assertEquals(src, client.lookup(ROOT, "target").getIno());
      assertEquals(100, client.getAttr(target).getSize(), "the replaced file is still open");
      a.closeFile(target);
      assertCode(Code.ENOENT, () -> client.getAttr(target));
      assertTrue(orphans().containsKey(chunk.getChunkId()));
    }
  }

  @Test
  void closingOrExpiringTheSessionReclaims() throws Exception {
    long closed = SessionOps.open(client, "closes");
    long dies = SessionOps.open(client, "dies");
    long f1 = client.create(ROOT, "by-close", 0644, 0, 0, true).getIno();
    long f2 = client.create(ROOT, "by-expiry", 0644, 0, 0, true).getIno();
    ChunkRef c1 = fill(f1);
    ChunkRef c2 = fill(f2);
    SessionOps.openFile(client, closed, f1);
    SessionOps.openFile(client, dies, f2);
    client.unlink(ROOT, "by-close");
    client.unlink(ROOT, "by-expiry");
    SessionOps.close(client, closed);
    assertCode(Code.ENOENT, () -> client.getAttr(f1));
    assertTrue(orphans().containsKey(c1.getChunkId()));
    assertEquals(0, client.getAttr(f2).getNlink(), "until the lease runs out");
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (true) {
      try {
        client.getAttr(f2);
      } catch (MetaException e) {
        assertEquals(Code.ENOENT, e.code());
        break;
      }
      assertTrue(System.nanoTime() < deadline, "the expired session's unlinked file was reclaimed");
      Thread.sleep(100);
    }
    assertTrue(orphans().containsKey(c2.getChunkId()));
  }
}
