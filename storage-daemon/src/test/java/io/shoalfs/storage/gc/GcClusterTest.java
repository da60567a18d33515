package io.shoalfs.storage.gc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StaleChunkException;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CloseFileRequest;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.OpenFileRequest;
import io.shoalfs.proto.meta.OpenSessionRequest;
import io.shoalfs.proto.meta.ReleaseOrphansRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.storage.TestTokens;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection end to end against a real metadata service and a real storage daemon: chunks freed by
 * unlink, truncate and rename-over are deleted from the daemon by the leader's collector and their rows
 * released; nothing referenced is ever deleted; a dead daemon keeps its rows until it is back; writes through an
 * old chunk map are refused (write fencing), and the data stays as it was.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcClusterTest {
  static final long ROOT = Layout.ROOT_INO;
  static final int PIECE = 96 << 10;
  static final Duration GC_WAIT = Duration.ofSeconds(20);

  @TempDir
  Path dir;
  GcCluster c;

  @BeforeEach
  void start() throws Exception {
    c = GcCluster.start(dir);
  }

  @AfterEach
  void stop() {
    if (c != null) {
      c.close();
    }
  }

  /** Content of a chunk: derived from its id, so any chunk can be checked without a model of the bytes. */
  static byte[] content(long chunkId) {
    byte[] b = new byte[PIECE];
    new Random(chunkId).nextBytes(b);
    return b;
  }

  /** A file of {@code chunks} chunks, each holding its {@link #content} at offset 0. */
  List<ChunkRef> writeFile(long parent, String name, int chunks) throws IOException, MetaException {
    Attr a = c.client.create(parent, name, 0644, 0, 0, false);
    List<ChunkRef> refs = new ArrayList<>();
    for (int i = 0; i < chunks; i++) {
      ChunkRef ref = c.client.allocChunk(a.getIno(), i);
      c.storageClient.write(ref, 0, ByteString.copyFrom(content(ref.getChunkId())), false);
      refs.add(ref);
    }
    c.client.commitWrite(a.getIno(), (long) (chunks - 1) * Layout.CHUNK_SIZE + PIECE, System.nanoTime());
    return refs;
  }

  void assertIntact(ChunkRef ref) throws IOException {
    assertArrayEquals(content(ref.getChunkId()), c.storageClient.read(ref, 0, PIECE).toByteArray(),
        "chunk " + ref.getChunkId() + " still holds its data");
  }

  void assertDeleted(ChunkRef ref) {
    StaleChunkException e = assertThrows(StaleChunkException.class, () -> c.storageClient.read(ref, 0, 10));
    assertTrue(e.deleted(), e.getMessage());
  }

  void awaitDrained() throws InterruptedException {
    GcCluster.await("orphan rows released", GC_WAIT, () -> c.orphanRows() == 0);
  }

  @Test
  void unlinkedChunksAreDeletedAndALateWriteCannotRecreateThem() throws Exception {
    List<ChunkRef> keep = writeFile(ROOT, "keep", 2);
    List<ChunkRef> gone = writeFile(ROOT, "gone", 3);
    long before = c.status().getUsedBytes();
    assertEquals(5L * PIECE, before);

    c.client.unlink(ROOT, "gone");
    Duration took = GcCluster.await("daemon's used bytes fall", GC_WAIT,
        () -> usedBytes() == 2L * PIECE && c.orphanRows() == 0);
    System.out.println("GcClusterTest: 3 unlinked chunks deleted and released in " + took.toMillis() + " ms");
    for (ChunkRef r : gone) {
      assertDeleted(r);
    }
    for (ChunkRef r : keep) {
      assertIntact(r);
    }
    assertEquals(List.of(), c.violations());

    // A client that still holds the old chunk map writes: refused, and nothing is stored again.
    ChunkRef old = gone.get(1);
    StaleChunkException refused = assertThrows(StaleChunkException.class,
        () -> c.storageClient.write(old, 0, ByteString.copyFromUtf8("late"), true));
    assertTrue(refused.deleted());
    assertThrows(StaleChunkException.class, () -> c.storageClient.truncate(old, 0));
    assertEquals(2L * PIECE, usedBytes(), "the late write re-created nothing");
    assertTrue(c.status().getTombstones() >= 3);
  }

  /** Acceptance 3 of issue 6: with a snapshot holding the data nothing is deleted until the snapshot is. */
  @Test
  void aSnapshotKeepsItsChunksUntilItIsDeleted() throws Exception {
    long sv = c.client.createSubvolume("held", 1L << 30).getRootIno();
    List<ChunkRef> refs = writeFile(sv, "f", 3);
    assertEquals(3L * PIECE, usedBytes());
    c.client.createSnapshot("held", "s1");
    c.client.unlink(sv, "f");
    // Several collector rounds (one a second): the snapshot still sees the file, so nothing may go.
    Thread.sleep(3000);
    assertEquals(3L * PIECE, usedBytes(), "a snapshot holds the unlinked file's chunks");
    assertEquals(0, c.orphanRows(), "no orphan row while the snapshot references the chunks");
    for (ChunkRef r : refs) {
      assertIntact(r);
    }
    c.client.deleteSnapshot("held", "s1");
    Duration took = GcCluster.await("chunks deleted after the snapshot went", GC_WAIT,
        () -> usedBytes() == 0 && c.orphanRows() == 0);
    System.out.println("GcClusterTest: a deleted snapshot's 3 chunks deleted and released in " + took.toMillis()
        + " ms");
    for (ChunkRef r : refs) {
      assertDeleted(r);
    }
    assertEquals(List.of(), c.violations());
  }

  @Test
  void truncateFreesTheChunksPastTheNewEndOnly() throws Exception {
    List<ChunkRef> refs = writeFile(ROOT, "t", 4);
    long ino = c.client.lookup(ROOT, "t").getIno();
    c.client.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(Layout.CHUNK_SIZE + 10).build());
    GcCluster.await("chunks past the end deleted", GC_WAIT, () -> usedBytes() == 2L * PIECE && c.orphanRows() == 0);
    assertIntact(refs.get(0));
    assertIntact(refs.get(1));
    assertDeleted(refs.get(2));
    assertDeleted(refs.get(3));
    // Growing again places a new chunk at index 2; the deleted one stays deleted.
    ChunkRef again = c.client.allocChunk(ino, 2);
    assertTrue(again.getChunkId() != refs.get(2).getChunkId(), "a chunk id is never reused");
    c.storageClient.write(again, 0, ByteString.copyFrom(content(again.getChunkId())), false);
    assertIntact(again);
    assertEquals(List.of(), c.violations());
  }

  @Test
  void overwriteByRenameAndByTruncateToZeroFreeTheOldChunks() throws Exception {
    List<ChunkRef> target = writeFile(ROOT, "target", 2);
    List<ChunkRef> replacement = writeFile(ROOT, "new", 1);
    c.client.rename(ROOT, "new", ROOT, "target", 0);
    List<ChunkRef> rewritten = writeFile(ROOT, "rewritten", 2);
    long ino = c.client.lookup(ROOT, "rewritten").getIno();
    c.client.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(0).build()); // open(O_TRUNC)
    GcCluster.await("overwritten chunks deleted", GC_WAIT, () -> usedBytes() == PIECE && c.orphanRows() == 0);
    target.forEach(this::assertDeleted);
    rewritten.forEach(this::assertDeleted);
    assertIntact(replacement.get(0));
  }

  @Test
  void hardLinkedAndOpenUnlinkedFilesKeepTheirChunksUntilTheLastReferenceGoes() throws Exception {
    List<ChunkRef> linked = writeFile(ROOT, "a", 1);
    long ino = c.client.lookup(ROOT, "a").getIno();
    c.client.link(ino, ROOT, "b");
    c.client.unlink(ROOT, "a");

    List<ChunkRef> open = writeFile(ROOT, "open", 1);
    long openIno = c.client.lookup(ROOT, "open").getIno();
    long session = c.client.call(MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder()
        .setClientName("gc-test")).build()).getSession().getSessionId();
    c.client.call(MetaRequest.newBuilder().setOpenFile(OpenFileRequest.newBuilder().setSessionId(session)
        .setIno(openIno)).build());
    c.client.unlink(ROOT, "open");

    // Several collector rounds (period 1 s) within one session lease (5 s): nothing of either may go.
    Thread.sleep(2500);
    assertIntact(linked.get(0));
    assertIntact(open.get(0));
    assertEquals(0, c.orphanRows());

    c.client.call(MetaRequest.newBuilder().setCloseFile(CloseFileRequest.newBuilder().setSessionId(session)
        .setIno(openIno)).build());
    c.client.unlink(ROOT, "b");
    GcCluster.await("last close and last unlink free the chunks", GC_WAIT,
        () -> usedBytes() == 0 && c.orphanRows() == 0);
    assertDeleted(linked.get(0));
    assertDeleted(open.get(0));
  }

  @Test
  void aDeadDaemonKeepsItsRowsAndGetsThemDeletedWhenItIsBack() throws Exception {
    List<ChunkRef> refs = writeFile(ROOT, "f", 2);
    c.stopStorage();
    c.client.unlink(ROOT, "f");
    long deletedBefore = c.meta.chunkCollector().deletedChunks();
    Thread.sleep(3500);
    assertEquals(2, c.orphanRows(), "the rows stay while their daemon is down");
    assertEquals(deletedBefore, c.meta.chunkCollector().deletedChunks());

    c.startStorage();
    // Back-off doubles from 1 s; after ~4 s of failures the next try is at most 8 s away.
    Duration took = GcCluster.await("rows released once the daemon is back", Duration.ofSeconds(40),
        () -> c.orphanRows() == 0);
    System.out.println("GcClusterTest: daemon back, orphans deleted after " + took.toMillis() + " ms");
    refs.forEach(this::assertDeleted);
    assertEquals(0, c.status().getUsedBytes());
  }

  @Test
  void aClientCannotReleaseOrphanRows() throws Exception {
    List<ChunkRef> refs = writeFile(ROOT, "x", 1);
    c.stopStorage(); // keeps the row in place while the client tries
    c.client.unlink(ROOT, "x");
    MetaException e = assertThrows(MetaException.class, () -> c.client.call(MetaRequest.newBuilder()
        .setReleaseOrphans(ReleaseOrphansRequest.newBuilder().addChunkIds(refs.get(0).getChunkId())).build()));
    assertEquals(Code.EPERM, e.code());
    assertTrue(c.isOrphan(refs.get(0).getChunkId()));
    c.startStorage();
  }

  @Test
  void aFencedChunkRefusesOlderEpochsAndKeepsItsData() throws Exception {
    ChunkRef ref = writeFile(ROOT, "frozen", 1).get(0);
    assertEquals(0, ref.getEpoch(), "chunks start at epoch 0");
    byte[] key = TestTokens.key(c.storageDir());
    assertEquals(7, c.storageClient.fence(TestTokens.fenceable(ref, key), 7));
    assertEquals(7, c.storageClient.fence(TestTokens.fenceable(ref, key), 3), "a fence never goes down");

    StaleChunkException e = assertThrows(StaleChunkException.class,
        () -> c.storageClient.write(ref, 0, ByteString.copyFromUtf8("overwrite"), true));
    assertFalse(e.deleted());
    assertThrows(StaleChunkException.class, () -> c.storageClient.truncate(ref, 0));
    assertIntact(ref);

    ChunkRef current = TestTokens.atEpoch(ref, 7, key);
    c.storageClient.write(current, PIECE, ByteString.copyFromUtf8("ok"), true);
    assertEquals("ok", c.storageClient.read(current, PIECE, 2).toStringUtf8());
    assertIntact(current);
  }

  private long usedBytes() {
    try {
      return c.status().getUsedBytes();
    } catch (IOException e) {
      return -1;
    }
  }
}
