package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DaemonRegistration;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.LayoutReply;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.proto.records.ChunkRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * The namespace operations and their errno codes, through MetaClient over real gRPC against a real Ratis group.
 * One subclass per setup (one replica, three replicas); each test works in its own directory of a shared
 * cluster.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(60)
abstract class NamespaceBehaviourTest {
  static final long ROOT = Layout.ROOT_INO;
  static final int CS = Layout.CHUNK_SIZE;

  Path tmp;
  MetaCluster cluster;
  MetaClient client;
  Attr rootAtStart;
  long dir;

  abstract int replicas();

  @BeforeAll
  void startCluster() throws Exception {
    tmp = Files.createTempDirectory("shoal-meta-ns");
    cluster = MetaCluster.start(tmp, replicas());
    cluster.awaitLeader(Duration.ofSeconds(30));
    client = cluster.client();
    // Read on the leader itself: a client's first namespace call opens its session first, which is a write.
    rootAtStart = cluster.awaitLeader(Duration.ofSeconds(30)).stateMachine().readLocal(
        io.shoalfs.proto.meta.MetaRequest.newBuilder().setGetAttr(io.shoalfs.proto.meta.GetAttrRequest.newBuilder()
            .setIno(ROOT)).build()).getAttr();
  }

  @AfterAll
  void stopCluster() throws IOException {
    if (cluster != null) {
      cluster.close();
    }
    TestDirs.deleteRecursively(tmp);
  }

  @BeforeEach
  void workDir(TestInfo info) throws MetaException {
    dir = client.mkdir(ROOT, "t-" + info.getTestMethod().orElseThrow().getName(), 0755, 0, 0).getIno();
  }

  static void assertCode(Code expected, Executable call) {
    assertCode(expected, call, "");
  }

  static void assertCode(Code expected, Executable call, String why) {
    MetaException e = assertThrows(MetaException.class, call, why);
    assertEquals(expected, e.code(), why + " " + e.getMessage());
  }

  List<String> names(long ino) throws MetaException {
    return client.readDir(ino, "", 0).getEntriesList().stream().map(DirEntry::getName).toList();
  }

  @Test
  void rootIsCreatedDeterministically() {
    assertEquals(ROOT, rootAtStart.getIno());
    assertEquals(FileType.DIRECTORY, rootAtStart.getType());
    assertEquals(0755, rootAtStart.getMode());
    assertEquals(0, rootAtStart.getUid());
    assertEquals(0, rootAtStart.getGid());
    assertEquals(2, rootAtStart.getNlink());
    // Read before the cluster's first write: genesis has no clock (see rootTimesAreSetByTheFirstWrite).
    assertEquals(0, rootAtStart.getMtimeNs());
    assertEquals(0, rootAtStart.getCtimeNs());
    assertEquals(0, rootAtStart.getAtimeNs());
  }

  @Test
  void rootTimesAreSetByTheFirstWrite() throws Exception {
    // Genesis has no leader clock; the first applied write (here at the latest the @BeforeEach mkdir) stamps
    // atime = mtime = ctime with its own time, the same on every replica.
    Attr root = client.getAttr(ROOT);
    assertTrue(root.getAtimeNs() > 0, "root atime is set");
    assertTrue(root.getCtimeNs() >= root.getAtimeNs() && root.getMtimeNs() >= root.getAtimeNs());
    assertTrue(root.getAtimeNs() <= client.getAttr(dir).getCtimeNs(), "stamped no later than this test's mkdir");
  }

  @Test
  void mkdirCreatesDirectoryAndLinksParent() throws Exception {
    Attr before = client.getAttr(dir);
    Attr sub = client.mkdir(dir, "sub", 0750 | 040000, 1000, 1001);
    assertEquals(FileType.DIRECTORY, sub.getType());
    assertEquals(0750, sub.getMode(), "only permission bits are kept");
    assertEquals(1000, sub.getUid());
    assertEquals(1001, sub.getGid());
    assertEquals(2, sub.getNlink());
    assertTrue(sub.getIno() > ROOT);
    assertEquals(sub, client.lookup(dir, "sub"));
    assertEquals(sub, client.getAttr(sub.getIno()));

    Attr after = client.getAttr(dir);
    assertEquals(before.getNlink() + 1, after.getNlink(), "nlink of a dir = 2 + subdirs");
    assertTrue(after.getVersion() > before.getVersion());
    assertTrue(after.getMtimeNs() >= before.getMtimeNs() && after.getMtimeNs() > 0);
    assertEquals(after.getMtimeNs(), after.getCtimeNs());

    assertCode(Code.EEXIST, () -> client.mkdir(dir, "sub", 0755, 0, 0));
    client.create(dir, "file", 0644, 0, 0, true);
    assertCode(Code.EEXIST, () -> client.mkdir(dir, "file", 0755, 0, 0));
    assertCode(Code.ENOTDIR, () -> client.mkdir(client.lookup(dir, "file").getIno(), "x", 0755, 0, 0));
    assertCode(Code.ENOENT, () -> client.mkdir(Long.MAX_VALUE, "x", 0755, 0, 0));
  }

  @Test
  void createExclusiveAndNonExclusive() throws Exception {
    Attr f = client.create(dir, "f", 0640, 7, 8, true);
    assertEquals(FileType.REGULAR, f.getType());
    assertEquals(0640, f.getMode());
    assertEquals(1, f.getNlink());
    assertEquals(0, f.getSize());
    assertCode(Code.EEXIST, () -> client.create(dir, "f", 0644, 0, 0, true));
    Attr again = client.create(dir, "f", 0600, 0, 0, false);
    assertEquals(f, again, "non-exclusive create returns the existing file unchanged");
    client.mkdir(dir, "d", 0755, 0, 0);
    assertCode(Code.EISDIR, () -> client.create(dir, "d", 0644, 0, 0, false));
    assertCode(Code.EEXIST, () -> client.create(dir, "d", 0644, 0, 0, true));
    assertCode(Code.ENOTDIR, () -> client.create(f.getIno(), "x", 0644, 0, 0, true));
  }

  @Test
  void namesAreValidated() throws Exception {
    String longest = "n".repeat(Layout.NAME_MAX);
    String tooLong = "n".repeat(Layout.NAME_MAX + 1);
    String multiByteTooLong = "\u00e9".repeat(128); // 256 bytes of UTF-8
    Map<String, Code> cases = Map.of(
        "", Code.EINVAL, "a/b", Code.EINVAL, "a\0b", Code.EINVAL,
        tooLong, Code.ENAMETOOLONG, multiByteTooLong, Code.ENAMETOOLONG);
    for (Map.Entry<String, Code> c : cases.entrySet()) {
      String n = c.getKey();
      assertCode(c.getValue(), () -> client.mkdir(dir, n, 0755, 0, 0));
      assertCode(c.getValue(), () -> client.create(dir, n, 0644, 0, 0, true));
      assertCode(c.getValue(), () -> client.lookup(dir, n));
      assertCode(c.getValue(), () -> client.unlink(dir, n));
      assertCode(c.getValue(), () -> client.rmdir(dir, n));
      assertCode(c.getValue(), () -> client.rename(dir, n, dir, "ok", 0));
    }
    // "." and "..": the errno Linux's VFS gives for each call (PosixOpsTest covers the other calls).
    for (String n : List.of(".", "..")) {
      assertCode(Code.EEXIST, () -> client.mkdir(dir, n, 0755, 0, 0), "mkdir " + n);
      assertCode(Code.EEXIST, () -> client.create(dir, n, 0644, 0, 0, true), "O_EXCL create " + n);
      assertCode(Code.EISDIR, () -> client.create(dir, n, 0644, 0, 0, false), "O_CREAT " + n);
      assertCode(Code.EINVAL, () -> client.lookup(dir, n), "lookup " + n);
      assertCode(Code.EISDIR, () -> client.unlink(dir, n), "unlink " + n);
      assertCode(Code.EBUSY, () -> client.rename(dir, n, dir, "ok", 0), "rename " + n);
    }
    assertCode(Code.EINVAL, () -> client.rmdir(dir, "."), "rmdir .");
    assertCode(Code.ENOTEMPTY, () -> client.rmdir(dir, ".."), "rmdir ..");
    client.create(dir, longest, 0644, 0, 0, true);
    client.create(dir, "\u00e9".repeat(127), 0644, 0, 0, true);
    client.create(dir, "sp ace-\u2603", 0644, 0, 0, true);
    assertEquals(3, names(dir).size());
  }

  @Test
  void lookupAndGetAttrErrors() throws Exception {
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    assertCode(Code.ENOENT, () -> client.lookup(dir, "missing"));
    assertCode(Code.ENOTDIR, () -> client.lookup(f.getIno(), "x"));
    assertCode(Code.ENOENT, () -> client.lookup(Long.MAX_VALUE, "x"));
    assertCode(Code.ENOENT, () -> client.getAttr(Long.MAX_VALUE));
    assertCode(Code.EINVAL, () -> client.call(MetaRequest.getDefaultInstance()));
  }

  @Test
  void readDirListsInNameOrderWithPaging() throws Exception {
    List<String> expected = List.of("a", "b", "c", "d", "e", "f", "g");
    for (String n : List.of("d", "a", "g", "c", "f", "b", "e")) {
      if (n.compareTo("d") < 0) {
        client.mkdir(dir, n, 0755, 0, 0);
      } else {
        client.create(dir, n, 0644, 0, 0, true);
      }
    }
    ReadDirReply all = client.readDir(dir, "", 0);
    assertEquals(expected, all.getEntriesList().stream().map(DirEntry::getName).toList());
    assertFalse(all.getMore());
    for (DirEntry e : all.getEntriesList()) {
      Attr a = client.lookup(dir, e.getName());
      assertEquals(a.getIno(), e.getIno());
      assertEquals(a.getType(), e.getType());
    }
    ReadDirReply page1 = client.readDir(dir, "", 3);
    assertEquals(List.of("a", "b", "c"), page1.getEntriesList().stream().map(DirEntry::getName).toList());
    assertTrue(page1.getMore());
    ReadDirReply page2 = client.readDir(dir, "c", 3);
    assertEquals(List.of("d", "e", "f"), page2.getEntriesList().stream().map(DirEntry::getName).toList());
    assertTrue(page2.getMore());
    ReadDirReply page3 = client.readDir(dir, "f", 3);
    assertEquals(List.of("g"), page3.getEntriesList().stream().map(DirEntry::getName).toList());
    assertFalse(page3.getMore());
    assertEquals(List.of("d", "e", "f", "g"),
        client.readDir(dir, "cc", 0).getEntriesList().stream().map(DirEntry::getName).toList(),
        "after need not exist");
    assertEquals(0, client.readDir(client.lookup(dir, "a").getIno(), "", 0).getEntriesCount());
    assertCode(Code.ENOTDIR, () -> client.readDir(client.lookup(dir, "e").getIno(), "", 0));
    assertCode(Code.ENOENT, () -> client.readDir(Long.MAX_VALUE, "", 0));
  }

  @Test
  void unlinkRemovesFilesOnly() throws Exception {
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    client.mkdir(dir, "d", 0755, 0, 0);
    Attr before = client.getAttr(dir);
    assertCode(Code.ENOENT, () -> client.unlink(dir, "missing"));
    assertCode(Code.EISDIR, () -> client.unlink(dir, "d"));
    assertCode(Code.ENOTDIR, () -> client.unlink(f.getIno(), "x"));
    client.unlink(dir, "f");
    assertCode(Code.ENOENT, () -> client.lookup(dir, "f"));
    assertCode(Code.ENOENT, () -> client.getAttr(f.getIno()));
    assertCode(Code.ENOENT, () -> client.unlink(dir, "f"));
    Attr after = client.getAttr(dir);
    assertEquals(before.getNlink(), after.getNlink());
    assertTrue(after.getVersion() > before.getVersion());
    assertEquals(List.of("d"), names(dir));
  }

  @Test
  void rmdirRemovesEmptyDirectoriesOnly() throws Exception {
    client.mkdir(dir, "d", 0755, 0, 0);
    Attr full = client.mkdir(dir, "full", 0755, 0, 0);
    client.create(full.getIno(), "x", 0644, 0, 0, true);
    client.create(dir, "f", 0644, 0, 0, true);
    assertEquals(4, client.getAttr(dir).getNlink());
    assertCode(Code.ENOENT, () -> client.rmdir(dir, "missing"));
    assertCode(Code.ENOTDIR, () -> client.rmdir(dir, "f"));
    assertCode(Code.ENOTEMPTY, () -> client.rmdir(dir, "full"));
    client.rmdir(dir, "d");
    assertEquals(3, client.getAttr(dir).getNlink());
    client.unlink(full.getIno(), "x");
    client.rmdir(dir, "full");
    assertEquals(2, client.getAttr(dir).getNlink());
    assertCode(Code.ENOENT, () -> client.getAttr(full.getIno()));
    assertEquals(List.of("f"), names(dir));
  }

  @Test
  void renameFiles() throws Exception {
    Attr a = client.create(dir, "a", 0644, 0, 0, true);
    Attr b = client.create(dir, "b", 0644, 0, 0, true);
    Attr sub = client.mkdir(dir, "sub", 0755, 0, 0);
    Attr before = client.getAttr(dir);

    client.rename(dir, "a", dir, "a2", 0);
    assertEquals(a.getIno(), client.lookup(dir, "a2").getIno());
    assertCode(Code.ENOENT, () -> client.lookup(dir, "a"));
    Attr moved = client.getAttr(a.getIno());
    assertTrue(moved.getVersion() > a.getVersion());
    assertTrue(moved.getCtimeNs() >= a.getCtimeNs());
    assertTrue(client.getAttr(dir).getVersion() > before.getVersion());

    assertCode(Code.EEXIST, () -> client.rename(dir, "a2", dir, "b", 1));
    client.rename(dir, "a2", dir, "b", 0);
    assertEquals(a.getIno(), client.lookup(dir, "b").getIno(), "replaces the target file");
    assertCode(Code.ENOENT, () -> client.getAttr(b.getIno()));

    client.rename(dir, "b", sub.getIno(), "c", 0);
    assertEquals(a.getIno(), client.lookup(sub.getIno(), "c").getIno());
    assertEquals(List.of("sub"), names(dir));
    assertEquals(3, client.getAttr(dir).getNlink(), "a file move leaves link counts alone");

    long v = client.getAttr(a.getIno()).getVersion();
    client.rename(sub.getIno(), "c", sub.getIno(), "c", 0);
    assertEquals(v, client.getAttr(a.getIno()).getVersion(), "renaming onto itself is a no-op");
    assertCode(Code.EEXIST, () -> client.rename(sub.getIno(), "c", sub.getIno(), "c", 1));

    assertCode(Code.ENOENT, () -> client.rename(dir, "missing", dir, "x", 0));
    client.mkdir(dir, "other", 0755, 0, 0);
    assertCode(Code.EISDIR, () -> client.rename(sub.getIno(), "c", dir, "other", 0));
    assertCode(Code.ENOTEMPTY, () -> client.rename(sub.getIno(), "c", dir, "sub", 0),
        "Linux: the target is an ancestor of the source");
    assertCode(Code.ENOENT, () -> client.rename(sub.getIno(), "c", dir, "x", 2),
        "RENAME_EXCHANGE needs both names");
    assertCode(Code.EINVAL, () -> client.rename(sub.getIno(), "c", dir, "x", 3),
        "RENAME_EXCHANGE with RENAME_NOREPLACE");
    assertCode(Code.EINVAL, () -> client.rename(sub.getIno(), "c", dir, "x", 4));
    assertCode(Code.ENOTDIR, () -> client.rename(a.getIno(), "c", dir, "x", 0));
    assertCode(Code.ENOENT, () -> client.rename(Long.MAX_VALUE, "c", dir, "x", 0));
  }

  @Test
  void renameDirectories() throws Exception {
    Attr p1 = client.mkdir(dir, "p1", 0755, 0, 0);
    Attr p2 = client.mkdir(dir, "p2", 0755, 0, 0);
    Attr d = client.mkdir(p1.getIno(), "d", 0755, 0, 0);
    Attr inner = client.mkdir(d.getIno(), "inner", 0755, 0, 0);
    client.create(p2.getIno(), "file", 0644, 0, 0, true);
    Attr emptyTarget = client.mkdir(p2.getIno(), "empty", 0755, 0, 0);
    Attr fullTarget = client.mkdir(p2.getIno(), "full", 0755, 0, 0);
    client.create(fullTarget.getIno(), "x", 0644, 0, 0, true);

    assertCode(Code.EINVAL, () -> client.rename(p1.getIno(), "d", d.getIno(), "x", 0));
    assertCode(Code.EINVAL, () -> client.rename(p1.getIno(), "d", inner.getIno(), "x", 0));
    assertCode(Code.EINVAL, () -> client.rename(dir, "p1", inner.getIno(), "x", 0));
    assertCode(Code.ENOTDIR, () -> client.rename(p1.getIno(), "d", p2.getIno(), "file", 0));
    assertCode(Code.ENOTEMPTY, () -> client.rename(p1.getIno(), "d", p2.getIno(), "full", 0));
    assertCode(Code.ENOTEMPTY, () -> client.rename(d.getIno(), "inner", dir, "p1", 0),
        "the target is an ancestor of the source");

    assertEquals(3, client.getAttr(p1.getIno()).getNlink());
    assertEquals(4, client.getAttr(p2.getIno()).getNlink());
    client.rename(p1.getIno(), "d", p2.getIno(), "empty", 0);
    assertEquals(d.getIno(), client.lookup(p2.getIno(), "empty").getIno());
    assertCode(Code.ENOENT, () -> client.getAttr(emptyTarget.getIno()));
    assertEquals(2, client.getAttr(p1.getIno()).getNlink(), "source parent lost a subdir");
    assertEquals(4, client.getAttr(p2.getIno()).getNlink(), "target parent: one subdir replaced by another");
    assertEquals(List.of("inner"), names(d.getIno()), "the moved tree stays intact");

    // The moved directory's parent pointer follows: moving p2 under the moved dir is now a cycle.
    assertCode(Code.EINVAL, () -> client.rename(dir, "p2", d.getIno(), "loop", 0));
    client.rename(p2.getIno(), "empty", p1.getIno(), "back", 0);
    assertEquals(3, client.getAttr(p1.getIno()).getNlink());
    assertEquals(3, client.getAttr(p2.getIno()).getNlink());
    client.rename(dir, "p2", d.getIno(), "nested", 0);
    assertEquals(List.of("p1"), names(dir));
    assertEquals(3, client.getAttr(dir).getNlink());
    assertEquals(4, client.getAttr(d.getIno()).getNlink(), "inner + nested");
    assertCode(Code.EINVAL, () -> client.rename(p1.getIno(), "back", p2.getIno(), "x", 0));
  }

  @Test
  void setAttrChangesModeOwnerTimes() throws Exception {
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    Attr a = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setMode(0600 | 0100000).setUid(5).setGid(6)
        .build());
    assertEquals(0600, a.getMode());
    assertEquals(5, a.getUid());
    assertEquals(6, a.getGid());
    assertTrue(a.getVersion() > f.getVersion());
    assertTrue(a.getCtimeNs() >= f.getCtimeNs());
    assertEquals(f.getMtimeNs(), a.getMtimeNs(), "mode and owner do not touch mtime");

    Attr t = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setAtimeNs(111).setMtimeNs(222).build());
    assertEquals(111, t.getAtimeNs());
    assertEquals(222, t.getMtimeNs());
    Attr now = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setAtimeNow(true).setMtimeNow(true)
        .build());
    assertTrue(now.getAtimeNs() > 222 && now.getMtimeNs() > 222);
    assertEquals(now.getCtimeNs(), now.getMtimeNs(), "'now' is the one leader clock of the entry");
    assertEquals(client.getAttr(f.getIno()), now);

    Attr d = client.mkdir(dir, "d", 0755, 0, 0);
    assertCode(Code.EISDIR, () -> client.setAttr(SetAttrRequest.newBuilder().setIno(d.getIno()).setSize(0).build()));
    assertEquals(0700, client.setAttr(SetAttrRequest.newBuilder().setIno(d.getIno()).setMode(0700).build()).getMode());
    assertCode(Code.ENOENT, () -> client.setAttr(SetAttrRequest.newBuilder().setIno(Long.MAX_VALUE).setMode(0).build()));
  }

  /** The only test that registers storage daemons: before it, placement has nothing to choose from. */
  @Test
  void daemonsPlacementChunksAndSizes() throws Exception {
    Subvolume vol = client.createSubvolume("chunks-" + replicas(), 0);
    long root = vol.getRootIno();
    Attr f = client.create(root, "f", 0644, 0, 0, true);
    assertEquals(0, client.getLayout().getGroupsCount(), "no other test registers daemons");
    assertCode(Code.ENOSPC, () -> client.allocChunk(f.getIno(), 0));
    DaemonRegistration first = client.registerDaemon(daemon("d1", 1000));
    assertEquals(ChunkTokens.KEY_BYTES, first.getWriteKey().size(), "the first registration creates the write key");
    assertEquals(client.getLayout().getClusterId(), first.getClusterId());
    client.registerDaemon(daemon("d2", 2000));
    // idempotent upsert: the new capacity wins; the key and the cluster stay
    assertEquals(first, client.registerDaemon(daemon("d2", 3000)));
    assertCode(Code.EINVAL, () -> client.registerDaemon(daemon("bad/id", 1)));
    assertCode(Code.EINVAL, () -> client.registerDaemon(StorageDaemon.newBuilder().setId("x").setAddress("nope").build()));
    LayoutReply layout = client.getLayout();
    assertEquals(CS, layout.getChunkSize());
    assertEquals(List.of("g-d1", "g-d2"), layout.getGroupsList().stream().map(g -> g.getGroupId()).toList());
    assertEquals(3000, layout.getGroups(1).getMembers(0).getCapacityBytes());
    assertEquals("127.0.0.1:7001", layout.getGroups(0).getMembers(0).getAddress());
    assertEquals(4000, client.statFs(ROOT).getCapacityBytes(), "root capacity = sum of daemons");

    long v0 = client.getAttr(f.getIno()).getVersion();
    ChunkRef c0 = client.allocChunk(f.getIno(), 0);
    ChunkRef c1 = client.allocChunk(f.getIno(), 1);
    ChunkRef c5 = client.allocChunk(f.getIno(), 5);
    assertEquals(c0, client.allocChunk(f.getIno(), 0), "an existing chunk is returned");
    byte[] key = first.getWriteKey().toByteArray();
    for (ChunkRef c : List.of(c0, c1, c5)) {
      assertTrue(ChunkTokens.verify(key, ChunkTokens.Op.WRITE, c.getChunkId(), c.getEpoch(),
          c.getToken().toByteArray()), "alloc_chunk hands out the chunk's write token");
    }
    assertTrue(client.getChunks(f.getIno(), 0, 0).stream().allMatch(c -> c.getToken().isEmpty()),
        "get_chunks (readers) hands out no write token");
    c0 = c0.toBuilder().clearToken().build();
    c1 = c1.toBuilder().clearToken().build();
    c5 = c5.toBuilder().clearToken().build();
    assertTrue(client.getAttr(f.getIno()).getVersion() > v0, "a new chunk changes the data map");
    Set<Long> ids = new HashSet<>(List.of(c0.getChunkId(), c1.getChunkId(), c5.getChunkId()));
    assertEquals(3, ids.size());
    assertEquals(Set.of("g-d1", "g-d2"), Set.of(c0.getGroupId(), c1.getGroupId()), "round-robin placement");
    assertEquals(List.of(c0, c1, c5), client.getChunks(f.getIno(), 0, 0));
    assertEquals(List.of(c1), client.getChunks(f.getIno(), 1, 4));
    assertEquals(List.of(c5), client.getChunks(f.getIno(), 2, 10));
    assertCode(Code.EISDIR, () -> client.allocChunk(root, 0));
    assertCode(Code.ENOENT, () -> client.allocChunk(Long.MAX_VALUE, 0));

    Attr w = client.commitWrite(f.getIno(), 5L * CS + 100, 12345);
    assertEquals(5L * CS + 100, w.getSize());
    assertEquals(12345, w.getMtimeNs());
    Attr w2 = client.commitWrite(f.getIno(), 10, 0);
    assertEquals(5L * CS + 100, w2.getSize(), "size = max(size, end)");
    assertTrue(w2.getMtimeNs() > 12345, "mtime 0 means the leader's clock");
    assertTrue(w2.getVersion() > w.getVersion());
    // Usage is allocated bytes (written extents; QuotaTest): commits without extents allocate nothing.
    assertEquals(0, client.statFs(root).getUsedBytes());

    Attr t = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(CS + 1).build());
    assertEquals(CS + 1, t.getSize());
    assertEquals(List.of(c0, c1), client.getChunks(f.getIno(), 0, 0), "chunks past the new end are dropped");
    assertEquals(0, client.statFs(root).getUsedBytes());
    client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(CS).build());
    assertEquals(List.of(c0), client.getChunks(f.getIno(), 0, 0));
    assertEquals(0, client.statFs(root).getUsedBytes());
    client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(10L * CS).build());
    assertEquals(0, client.statFs(root).getUsedBytes(), "growing by truncate allocates nothing");

    Map<Long, ChunkRecord> orphans = orphansOnLeader();
    assertTrue(orphans.containsKey(c1.getChunkId()) && orphans.containsKey(c5.getChunkId()), orphans.toString());
    assertEquals(c5.getGroupId(), orphans.get(c5.getChunkId()).getGroupId());
    assertFalse(orphans.containsKey(c0.getChunkId()));
    client.unlink(root, "f");
    assertTrue(orphansOnLeader().containsKey(c0.getChunkId()), "unlink orphans the remaining chunks");
    assertEquals(0, client.statFs(root).getUsedBytes());
  }

  private Map<Long, ChunkRecord> orphansOnLeader() throws InterruptedException {
    return cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine().dump(MetaTables.ORPHAN_CHUNKS, 10_000);
  }

  private static StorageDaemon daemon(String id, long capacity) {
    return StorageDaemon.newBuilder().setId(id).setAddress("127.0.0.1:700" + id.charAt(id.length() - 1))
        .setCapacityBytes(capacity).build();
  }

  @Test
  void usageCountsInodesAndBytesPerVolume() throws Exception {
    Subvolume vol = client.createSubvolume("usage-" + replicas(), 1 << 30);
    long root = vol.getRootIno();
    StatFsReply s0 = client.statFs(root);
    assertEquals(1 << 30, s0.getCapacityBytes());
    assertEquals(1, s0.getInodesUsed());
    assertEquals(0, s0.getUsedBytes());
    assertEquals(CS, s0.getChunkSize());
    Attr d = client.mkdir(root, "d", 0755, 0, 0);
    Attr f = client.create(d.getIno(), "f", 0644, 0, 0, true);
    client.create(root, "g", 0644, 0, 0, true);
    client.commitWrite(f.getIno(), 1000, 0);
    client.setAttr(SetAttrRequest.newBuilder().setIno(client.lookup(root, "g").getIno()).setSize(24).build());
    StatFsReply s1 = client.statFs(d.getIno());
    assertEquals(4, s1.getInodesUsed());
    assertEquals(0, s1.getUsedBytes(), "sizes without written extents allocate nothing (QuotaTest: bytes)");
    client.rename(root, "g", d.getIno(), "f", 0); // replaces f: its 1000 bytes and inode go
    StatFsReply s2 = client.statFs(root);
    assertEquals(3, s2.getInodesUsed());
    assertEquals(0, s2.getUsedBytes());
    client.unlink(d.getIno(), "f");
    client.rmdir(root, "d");
    StatFsReply s3 = client.statFs(root);
    assertEquals(1, s3.getInodesUsed());
    assertEquals(0, s3.getUsedBytes());
    assertCode(Code.ENOENT, () -> client.statFs(Long.MAX_VALUE));
  }

  @Test
  void subvolumes() throws Exception {
    String name = "vol-" + replicas();
    Subvolume v = client.createSubvolume(name, 10L << 30);
    assertEquals(name, v.getName());
    assertEquals(10L << 30, v.getCapacityBytes());
    assertTrue(v.getCreatedNs() > 0);
    assertEquals(v, client.createSubvolume(name, 10L << 30), "idempotent for the same name and capacity");
    assertCode(Code.EEXIST, () -> client.createSubvolume(name, 1L << 30));
    for (String bad : List.of("", ".", "..", "a/b", "sp ace", "x".repeat(129), "\u00e9")) {
      assertCode(Code.EINVAL, () -> client.createSubvolume(bad, 1));
    }
    client.createSubvolume("x".repeat(128), 0);
    assertEquals(v, client.getSubvolume(name));
    assertTrue(client.listSubvolumes().contains(v));
    List<String> listed = client.listSubvolumes().stream().map(Subvolume::getName).toList();
    assertEquals(listed.stream().sorted().toList(), listed, "listed in name order");

    Attr root = client.getAttr(v.getRootIno());
    assertEquals(FileType.DIRECTORY, root.getType());
    assertEquals(0755, root.getMode());
    assertEquals(2, root.getNlink());
    assertFalse(names(ROOT).contains(name), "a subvolume is not linked into the root tree");

    Attr a = client.mkdir(v.getRootIno(), "a", 0755, 0, 0);
    Attr b = client.mkdir(a.getIno(), "b", 0755, 0, 0);
    Attr f = client.create(b.getIno(), "f", 0644, 0, 0, true);
    assertCode(Code.EXDEV, () -> client.rename(b.getIno(), "f", dir, "f", 0));
    assertCode(Code.EXDEV, () -> client.rename(v.getRootIno(), "a", dir, "a", 0));
    assertEquals(10L << 30, client.statFs(f.getIno()).getCapacityBytes());
    assertEquals(4, client.statFs(v.getRootIno()).getInodesUsed());

    client.deleteSubvolume(name);
    assertCode(Code.ENOENT, () -> client.getSubvolume(name));
    assertCode(Code.ENOENT, () -> client.deleteSubvolume(name));
    for (long ino : List.of(v.getRootIno(), a.getIno(), b.getIno(), f.getIno())) {
      assertCode(Code.ENOENT, () -> client.getAttr(ino));
    }
    assertFalse(client.listSubvolumes().contains(v));
    assertCode(Code.EINVAL, () -> client.getSubvolume("a/b"));
  }

  @Test
  void everyChangeBumpsVersionAndParentTimes() throws Throwable {
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    long[] last = {client.getAttr(dir).getVersion()};
    List<Executable> changes = List.of(
        () -> client.mkdir(dir, "d", 0755, 0, 0),
        () -> client.create(dir, "g", 0644, 0, 0, true),
        () -> client.rename(dir, "g", dir, "h", 0),
        () -> client.unlink(dir, "h"),
        () -> client.rmdir(dir, "d"));
    for (Executable change : changes) {
      Attr before = client.getAttr(dir);
      change.execute();
      Attr after = client.getAttr(dir);
      assertTrue(after.getVersion() > last[0]);
      assertTrue(after.getMtimeNs() >= before.getMtimeNs());
      assertEquals(after.getMtimeNs(), after.getCtimeNs());
      last[0] = after.getVersion();
    }
    assertEquals(f, client.getAttr(f.getIno()), "siblings are untouched");
    MetaReply raw = client.callRaw(MetaRequest.newBuilder().setGetAttr(
        io.shoalfs.proto.meta.GetAttrRequest.newBuilder().setIno(f.getIno())).build());
    assertEquals(Code.OK, raw.getCode());
    assertNotEquals(0, raw.getAttr().getCtimeNs());
  }
}
