package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.Genesis;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.meta.core.WriteContext;
import io.shoalfs.meta.store.MetaStore;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.meta.store.Versions;
import io.shoalfs.proto.meta.AllocChunkRequest;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.CloneSubvolumeRequest;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CommitWriteRequest;
import io.shoalfs.proto.meta.CreateGroupSnapshotRequest;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.CreateSnapshotRequest;
import io.shoalfs.proto.meta.CreateSubvolumeRequest;
import io.shoalfs.proto.meta.DeleteSnapshotRequest;
import io.shoalfs.proto.meta.DeleteSubvolumeRequest;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.Extent;
import io.shoalfs.proto.meta.GetAttrRequest;
import io.shoalfs.proto.meta.GetChunksRequest;
import io.shoalfs.proto.meta.GetXattrRequest;
import io.shoalfs.proto.meta.ListSnapshotsRequest;
import io.shoalfs.proto.meta.LookupRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MkdirRequest;
import io.shoalfs.proto.meta.ReadDirRequest;
import io.shoalfs.proto.meta.RenameRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.SetXattrRequest;
import io.shoalfs.proto.meta.Snapshot;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.proto.meta.UnlinkRequest;
import com.google.protobuf.ByteString;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Snapshots and clones on a real RocksDB store, applied exactly as the state machine applies entries
 * (MetaOps.applyWrite on a Tx, then commit; reads with MetaOps.read): a snapshot reads as of its point in time
 * whatever happens later, writes to it are EROFS, chunks it holds are copied on write and never orphaned while
 * held, and clones fall through to their source and are independent of it in both directions.
 */
@Timeout(120)
class SnapshotCoreTest {
  private static final String GROUP = "g-d1";
  @TempDir Path tmp;
  private MetaStore store;
  private long nextId = 1;
  private long now = 1_000;

  @BeforeEach
  void open() throws Exception {
    store = MetaStore.open(tmp.resolve("db"));
    Tx tx = store.begin();
    Genesis.write(tx);
    store.commit(tx, null);
  }

  @AfterEach
  void close() {
    store.close();
  }

  // ---- snapshots ----

  @Test
  void aSnapshotReadsAsOfItsPointInTime() throws Exception {
    long root = subvolume("vol");
    long dir = mkdir(root, "d");
    long a = create(dir, "a");
    write(a, 0, 100);
    setXattr(a, "user.k", "v1");
    long b = create(root, "b");
    write(b, 0, 10);
    Snapshot s1 = snapshot("vol", "s1");
    assertEquals(1, s1.getSeq());
    List<ChunkRef> aChunksAtS1 = chunks(a, 0);

    // After the snapshot: grow a (its chunk must be copied, not overwritten), rename, unlink, new file, xattr.
    ChunkRef cow = alloc(a, 0);
    assertNotEquals(aChunksAtS1.get(0).getChunkId(), cow.getChunkId(), "a chunk a snapshot holds is never rewritten");
    assertEquals(aChunksAtS1.get(0).getChunkId(), cow.getCopyFromChunkId(), "the new chunk copies the old one");
    commit(a, 0, 200);
    setXattr(a, "user.k", "v2");
    rename(dir, "a", root, "a-moved");
    unlink(root, "b");
    long c = create(dir, "c");
    write(c, 0, 5);
    Snapshot s2 = snapshot("vol", "s2");
    unlink(root, "a-moved");

    // Live.
    assertEquals(Set.of("d"), names(root, 0));
    assertEquals(Set.of("c"), names(dir, 0));
    // As of s1: everything as it was.
    assertEquals(Set.of("d", "b"), names(root, s1.getSeq()));
    assertEquals(Set.of("a"), names(dir, s1.getSeq()));
    assertEquals(100, attr(a, s1.getSeq()).getSize());
    assertEquals(aChunksAtS1, chunks(a, s1.getSeq()));
    assertEquals("v1", xattr(a, s1.getSeq()));
    assertEquals(b, lookup(root, "b", s1.getSeq()).getIno());
    assertEquals(10, attr(b, s1.getSeq()).getSize());
    assertEquals(Code.ENOENT, readCode(lookupReq(dir, "c"), s1.getSeq()), "created after s1");
    // As of s2: the rename, the unlink of b, the new file, the grown a; not the unlink after s2.
    assertEquals(Set.of("d", "a-moved"), names(root, s2.getSeq()));
    assertEquals(Set.of("c"), names(dir, s2.getSeq()));
    assertEquals(200, attr(a, s2.getSeq()).getSize());
    assertEquals(cow.getChunkId(), chunks(a, s2.getSeq()).get(0).getChunkId());
    assertEquals("v2", xattr(a, s2.getSeq()));

    // The chunks the snapshots hold are not orphaned; b's chunk (only s1 sees it) goes when s1 goes.
    long bChunk = chunksLive(b, s1.getSeq());
    assertOrphan(bChunk, false);
    assertOrphan(aChunksAtS1.get(0).getChunkId(), false);
    assertOrphan(cow.getChunkId(), false);
    deleteSnapshot("vol", "s1");
    assertOrphan(bChunk, true);
    assertOrphan(aChunksAtS1.get(0).getChunkId(), true);
    assertOrphan(cow.getChunkId(), false);
    assertEquals(Code.ESTALE, readCode(lookupReq(root, "b"), 1), "a deleted snapshot is not readable");
    deleteSnapshot("vol", "s2");
    assertOrphan(cow.getChunkId(), true);
    assertEquals(0, count(MetaTables.HISTORY), "no history is left once no snapshot needs it");
    assertEquals(List.of(), listSnapshots("vol"));
  }

  @Test
  void writesToASnapshotAreErofsAndNamesAreUnique() throws Exception {
    long root = subvolume("vol");
    long f = create(root, "f");
    Snapshot s = snapshot("vol", "s");
    assertEquals(s, snapshot("vol", "s"), "the same name again is the same snapshot");
    FsError e = assertThrows(FsError.class, () -> apply(MetaRequest.newBuilder().setSetAttr(SetAttrRequest
        .newBuilder().setIno(f).setMode(0600)).setAsOfVolume(root).setAsOfSeq(s.getSeq()).build()));
    assertEquals(Code.EROFS, e.code());
    assertEquals(List.of("s"), listSnapshots("vol").stream().map(Snapshot::getName).toList());
    assertThrows(FsError.class, () -> snapshot("vol", "bad/name"));
  }

  @Test
  void purgeHistoryGoesOnFromItsCursorUntilNothingIsPending() throws Exception {
    long root = subvolume("pv");
    List<Long> files = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      files.add(create(root, "f" + i));
    }
    snapshot("pv", "keep");
    for (int i = 0; i < 5; i++) {
      create(root, "g" + i);
    }
    Snapshot gone = snapshot("pv", "gone");
    for (int i = 0; i < 5; i++) {
      unlink(root, "f" + i); // history entries that both snapshots see
    }
    long kept = count(MetaTables.HISTORY);
    for (int i = 0; i < 5; i++) {
      unlink(root, "g" + i); // history entries only "gone" sees
    }
    long entries = count(MetaTables.HISTORY);
    assertTrue(entries >= kept + 10, "history of the unlinks: " + kept + ", " + entries);
    // Drop "gone" from the list the way a delete would, but leave its purge to purge_history, one entry per call.
    Tx tx = store.begin();
    var vv = tx.get(MetaTables.SNAP_VOLUMES, root);
    tx.put(MetaTables.SNAP_VOLUMES, root, vv.toBuilder().removeSnapshots(1).setPurgePending(true).build());
    store.commit(tx, null);
    assertEquals(gone.getSeq(), vv.getSnapshots(1).getSeq());
    assertEquals(root, io.shoalfs.meta.core.Snapshots.pendingPurge(store.begin()));
    int calls = 0;
    while (store.begin().get(MetaTables.SNAP_VOLUMES, root).getPurgePending()) {
      apply(MetaRequest.newBuilder().setPurgeHistory(io.shoalfs.proto.meta.PurgeHistoryRequest.newBuilder()
          .setVolumeRoot(root).setLimit(1)).build());
      assertTrue(++calls <= entries + 1, "the cursor moves on");
    }
    // What only "gone" saw is purged (the g files and the root's versions between); the f files stay for "keep".
    assertTrue(count(MetaTables.HISTORY) <= kept, "purged down to " + count(MetaTables.HISTORY) + " of " + entries);
    assertTrue(count(MetaTables.HISTORY) >= 10, "the f files' history stays");
    assertEquals(0, io.shoalfs.meta.core.Snapshots.pendingPurge(store.begin()));
    assertEquals(Set.of("f0", "f1", "f2", "f3", "f4"), names(root, 1));
  }

  @Test
  void aGroupSnapshotIsAllOrNothing() throws Exception {
    long a = subvolume("ga");
    long b = subvolume("gb");
    create(a, "x");
    create(b, "y");
    FsError e = assertThrows(FsError.class, () -> apply(MetaRequest.newBuilder().setCreateGroupSnapshot(
        CreateGroupSnapshotRequest.newBuilder().addSubvolumes("ga").addSubvolumes("missing").setName("g")).build()));
    assertEquals(Code.ENOENT, e.code());
    assertEquals(List.of(), listSnapshots("ga"), "none of the group was taken");
    List<Snapshot> g = apply(MetaRequest.newBuilder().setCreateGroupSnapshot(CreateGroupSnapshotRequest.newBuilder()
        .addSubvolumes("ga").addSubvolumes("gb").setName("g")).build()).getSnapshots().getSnapshotsList();
    assertEquals(List.of("ga", "gb"), g.stream().map(Snapshot::getSubvolume).toList());
    unlink(a, "x");
    unlink(b, "y");
    assertEquals(Set.of("x"), names(a, g.get(0).getSeq()));
    assertEquals(Set.of("y"), names(b, g.get(1).getSeq()));
  }

  @Test
  void aSnapshotOfTenThousandFilesIsOneSmallRecord() throws Exception {
    long root = subvolume("big");
    long dir = mkdir(root, "d");
    for (int i = 0; i < 10_000; i++) {
      create(dir, "f" + i);
    }
    long before = count(MetaTables.HISTORY) + count(MetaTables.BORN);
    long t0 = System.nanoTime();
    Snapshot s = snapshot("big", "s");
    long ns = System.nanoTime() - t0;
    System.out.printf("snapshot of a volume with 10000 files: %.3f ms%n", ns / 1e6);
    // O(1): the snapshot wrote no record per file.
    assertEquals(before, count(MetaTables.HISTORY) + count(MetaTables.BORN));
    unlink(dir, "f1");
    assertEquals(10_000, names(dir, s.getSeq()).size());
    assertEquals(9_999, names(dir, 0).size());

    // A clone of it: the listing merges its own records, its whiteouts and the source in windows of keys.
    Subvolume c = clone("big", "big-clone", "s");
    long cdir = lookup(c.getRootIno(), "d", 0).getIno();
    for (int i = 0; i < 10_000; i += 997) {
      unlink(cdir, "f" + i);
    }
    for (int i = 0; i < 50; i++) {
      create(cdir, "g" + i);
    }
    Set<String> expected = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      if (i % 997 != 0) {
        expected.add("f" + i);
      }
    }
    for (int i = 0; i < 50; i++) {
      expected.add("g" + i);
    }
    assertEquals(expected, names(cdir, 0));
    Snapshot cs = snapshot("big-clone", "cs");
    create(cdir, "h");
    unlink(cdir, "f1");
    assertEquals(expected, namesOf(cdir, c.getRootIno(), cs.getSeq()), "the clone's own snapshot");
  }

  // ---- clones ----

  @Test
  void aCloneFallsThroughAndIsIndependentBothWays() throws Exception {
    long root = subvolume("src");
    long dir = mkdir(root, "d");
    long a = create(dir, "a");
    write(a, 0, 100);
    setXattr(a, "user.k", "v1");
    long x = create(root, "x");
    Snapshot s = snapshot("src", "s");
    Subvolume clone = clone("src", "cl", "s");
    long croot = clone.getRootIno();
    assertNotEquals(root, croot);
    assertEquals(Set.of("d", "x"), names(croot, 0));
    Attr cd = lookup(croot, "d", 0);
    assertNotEquals(dir, cd.getIno(), "the clone's inodes are its own");
    Attr ca = lookup(cd.getIno(), "a", 0);
    assertEquals(100, ca.getSize());
    assertEquals("v1", xattr(ca.getIno(), 0));
    assertEquals(chunks(a, 0), chunks(ca.getIno(), 0), "the clone shares the source's chunks");

    // Writes in the clone: copy-on-write, new files, a delete; the source does not change.
    ChunkRef cow = alloc(ca.getIno(), 0);
    assertEquals(chunks(a, 0).get(0).getChunkId(), cow.getCopyFromChunkId());
    commit(ca.getIno(), 0, 300);
    long cnew = create(cd.getIno(), "new");
    assertEquals(Versions.spaceOf(croot), Versions.spaceOf(cnew), "new inodes of a clone are in its space");
    setXattr(ca.getIno(), "user.k", "clone");
    unlink(croot, "x"); // a file the clone only had through its source: a whiteout
    rename(cd.getIno(), "a", croot, "a2");
    assertEquals(Set.of("d", "a2"), names(croot, 0));
    assertEquals(Code.ENOENT, readCode(lookupReq(croot, "x"), 0));
    assertEquals(x, lookup(root, "x", 0).getIno(), "the source keeps what the clone deleted");
    assertEquals(Set.of("new"), names(cd.getIno(), 0));
    assertEquals(Set.of("d", "x"), names(root, 0));
    assertEquals(Set.of("a"), names(dir, 0));
    assertEquals(100, attr(a, 0).getSize());
    assertEquals("v1", xattr(a, 0));
    assertEquals(300, attr(ca.getIno(), 0).getSize());

    // Writes in the source: the clone does not change.
    unlink(dir, "a");
    create(root, "late");
    assertEquals(Set.of("d", "a2"), names(croot, 0));
    assertEquals(300, attr(ca.getIno(), 0).getSize());

    // The snapshot is held by the clone: deleting it hides it, the clone still reads, nothing is orphaned.
    deleteSnapshot("src", "s");
    assertEquals(List.of(), listSnapshots("src"));
    long aChunk = cow.getCopyFromChunkId();
    assertOrphan(aChunk, false);
    assertEquals(Set.of("a2"), names(croot, 0).stream().filter(n -> n.startsWith("a")).collect(
        java.util.stream.Collectors.toSet()));
    // Deleting the clone lets go: the source's old chunk of a (unlinked in the source) is orphaned now, the
    // clone's own copy too.
    apply(MetaRequest.newBuilder().setDeleteSubvolume(DeleteSubvolumeRequest.newBuilder().setName("cl")).build());
    assertOrphan(aChunk, true);
    assertOrphan(cow.getChunkId(), true);
    assertEquals(0, count(MetaTables.WHITEOUTS));
    assertEquals(0, count(MetaTables.HISTORY));
  }

  @Test
  void aCloneOfTheLiveVolumeAndACloneOfAClone() throws Exception {
    long root = subvolume("src");
    long f = create(root, "f");
    write(f, 0, 42);
    long fChunk = chunks(f, 0).get(0).getChunkId();
    Subvolume c1 = clone("src", "c1", "");
    assertEquals(List.of(), listSnapshots("src"), "the implicit snapshot of a live clone is not listed");
    unlink(root, "f");
    assertEquals(Set.of("f"), names(c1.getRootIno(), 0));
    assertEquals(42, lookup(c1.getRootIno(), "f", 0).getSize());
    create(c1.getRootIno(), "g");
    snapshot("c1", "cs");
    unlink(c1.getRootIno(), "f");
    Subvolume c2 = clone("c1", "c2", "cs");
    assertEquals(Set.of("f", "g"), names(c2.getRootIno(), 0));
    assertEquals(42, lookup(c2.getRootIno(), "f", 0).getSize());
    assertEquals(fChunk, chunks(lookup(c2.getRootIno(), "f", 0).getIno(), 0).get(0).getChunkId(), "the chain shares one chunk");
    assertEquals(Set.of("g"), names(c1.getRootIno(), 0));
    // Deleting the source keeps what the clones need.
    apply(MetaRequest.newBuilder().setDeleteSubvolume(DeleteSubvolumeRequest.newBuilder().setName("src")).build());
    assertEquals(42, lookup(c2.getRootIno(), "f", 0).getSize());
    assertOrphan(chunks(lookup(c2.getRootIno(), "f", 0).getIno(), 0).get(0).getChunkId(), false);
  }

  // ---- helpers: requests applied as the state machine applies them ----

  private MetaReply apply(MetaRequest req) throws FsError {
    Tx tx = store.begin();
    List<Long> ids = new ArrayList<>();
    for (int k = 0; k < MetaOps.idsNeeded(req.getOpCase()); k++) {
      ids.add((1L << 62) | (nextId++ << 3));
    }
    MetaReply reply = MetaOps.applyWrite(tx, new WriteContext(now++, ids, GROUP), req);
    store.commit(tx, null);
    return reply;
  }

  private MetaReply read(MetaRequest req, long seq, long volume) throws FsError {
    MetaRequest r = seq == 0 ? req : req.toBuilder().setAsOfVolume(volume).setAsOfSeq(seq).build();
    return MetaOps.read(store.begin(), r);
  }

  private long volumeOf(long ino) {
    return store.begin().get(MetaTables.INODES, ino) != null
        ? store.begin().get(MetaTables.INODES, ino).getSubvolumeRoot() : lastVolume;
  }

  private long lastVolume;

  private long subvolume(String name) throws FsError {
    lastVolume = apply(MetaRequest.newBuilder().setCreateSubvolume(CreateSubvolumeRequest.newBuilder()
        .setName(name).setCapacityBytes(1L << 30)).build()).getSubvolume().getRootIno();
    return lastVolume;
  }

  private long mkdir(long parent, String name) throws FsError {
    return apply(MetaRequest.newBuilder().setMkdir(MkdirRequest.newBuilder().setParent(parent).setName(name)
        .setMode(0755)).build()).getAttr().getIno();
  }

  private long create(long parent, String name) throws FsError {
    return apply(MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(parent).setName(name)
        .setMode(0644)).build()).getAttr().getIno();
  }

  private ChunkRef alloc(long ino, int index) throws FsError {
    return apply(MetaRequest.newBuilder().setAllocChunk(AllocChunkRequest.newBuilder().setIno(ino)
        .setIndex(index)).build()).getChunks().getChunks(0);
  }

  private void commit(long ino, int index, int end) throws FsError {
    apply(MetaRequest.newBuilder().setCommitWrite(CommitWriteRequest.newBuilder().setIno(ino).setEnd(end)
        .addWritten(Extent.newBuilder().setIndex(index).setLo(0).setHi(end))).build());
  }

  private void write(long ino, int index, int end) throws FsError {
    alloc(ino, index);
    commit(ino, index, end);
  }

  private void setXattr(long ino, String name, String value) throws FsError {
    apply(MetaRequest.newBuilder().setSetXattr(SetXattrRequest.newBuilder().setIno(ino).setName(name)
        .setValue(ByteString.copyFromUtf8(value))).build());
  }

  private void rename(long sp, String sn, long dp, String dn) throws FsError {
    apply(MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(sp).setSrcName(sn)
        .setDstParent(dp).setDstName(dn)).build());
  }

  private void unlink(long parent, String name) throws FsError {
    apply(MetaRequest.newBuilder().setUnlink(UnlinkRequest.newBuilder().setParent(parent).setName(name)).build());
  }

  private Snapshot snapshot(String sv, String name) throws FsError {
    return apply(MetaRequest.newBuilder().setCreateSnapshot(CreateSnapshotRequest.newBuilder().setSubvolume(sv)
        .setName(name)).build()).getSnapshot();
  }

  private void deleteSnapshot(String sv, String name) throws FsError {
    apply(MetaRequest.newBuilder().setDeleteSnapshot(DeleteSnapshotRequest.newBuilder().setSubvolume(sv)
        .setName(name)).build());
  }

  private List<Snapshot> listSnapshots(String sv) throws FsError {
    return read(MetaRequest.newBuilder().setListSnapshots(ListSnapshotsRequest.newBuilder().setSubvolume(sv))
        .build(), 0, 0).getSnapshots().getSnapshotsList();
  }

  private Subvolume clone(String src, String name, String snapshot) throws FsError {
    return apply(MetaRequest.newBuilder().setCloneSubvolume(CloneSubvolumeRequest.newBuilder().setSource(src)
        .setName(name).setSnapshot(snapshot)).build()).getSubvolume();
  }

  private Set<String> names(long dir, long seq) throws FsError {
    Set<String> out = new HashSet<>();
    String after = "";
    while (true) {
      var reply = read(MetaRequest.newBuilder().setReadDir(ReadDirRequest.newBuilder().setIno(dir)
          .setAfter(after).setLimit(1000)).build(), seq, volumeOf(dir)).getDir();
      for (DirEntry e : reply.getEntriesList()) {
        assertTrue(out.add(e.getName()), "listed twice: " + e.getName());
        after = e.getName();
      }
      if (!reply.getMore() || reply.getEntriesCount() == 0) {
        return out;
      }
    }
  }

  private Set<String> namesOf(long dir, long volume, long seq) throws FsError {
    Set<String> out = new HashSet<>();
    String after = "";
    while (true) {
      var reply = read(MetaRequest.newBuilder().setReadDir(ReadDirRequest.newBuilder().setIno(dir)
          .setAfter(after).setLimit(1000)).build(), seq, volume).getDir();
      for (DirEntry e : reply.getEntriesList()) {
        assertTrue(out.add(e.getName()), "listed twice: " + e.getName());
        after = e.getName();
      }
      if (!reply.getMore() || reply.getEntriesCount() == 0) {
        return out;
      }
    }
  }

  private Attr attr(long ino, long seq) throws FsError {
    return read(MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(ino)).build(), seq,
        volumeOf(ino)).getAttr();
  }

  private MetaRequest lookupReq(long parent, String name) {
    return MetaRequest.newBuilder().setLookup(LookupRequest.newBuilder().setParent(parent).setName(name)).build();
  }

  private Attr lookup(long parent, String name, long seq) throws FsError {
    return read(lookupReq(parent, name), seq, volumeOf(parent)).getAttr();
  }

  private Code readCode(MetaRequest req, long seq) {
    try {
      read(req, seq, lastVolume);
      return Code.OK;
    } catch (FsError e) {
      return e.code();
    }
  }

  private List<ChunkRef> chunks(long ino, long seq) throws FsError {
    return read(MetaRequest.newBuilder().setGetChunks(GetChunksRequest.newBuilder().setIno(ino)).build(), seq,
        volumeOf(ino)).getChunks().getChunksList();
  }

  private long chunksLive(long ino, long seq) throws FsError {
    return chunks(ino, seq).get(0).getChunkId();
  }

  private String xattr(long ino, long seq) throws FsError {
    return read(MetaRequest.newBuilder().setGetXattr(GetXattrRequest.newBuilder().setIno(ino).setName("user.k"))
        .build(), seq, volumeOf(ino)).getXattrValue().toStringUtf8();
  }

  private void assertOrphan(long chunkId, boolean orphan) {
    Tx tx = store.begin();
    assertEquals(orphan, tx.get(MetaTables.ORPHAN_CHUNKS, chunkId) != null,
        "chunk " + chunkId + (orphan ? " is orphaned" : " is still referenced"));
    assertEquals(!orphan, Versions.chunkReferenced(tx, chunkId));
  }

  private long count(io.shoalfs.common.store.TableDef<?, ?> t) {
    long[] n = {0};
    store.begin().scan(t, new byte[0], null, (k, v) -> {
      n[0]++;
      return true;
    });
    return n[0];
  }
}
