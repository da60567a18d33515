package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.meta.raft.MetaStateMachine;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.XattrKey;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.Extent;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.proto.records.ChunkRecord;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.function.Executable;

/**
 * Every file type and namespace operation of issue 5 as the metadata service decides them, through MetaClient
 * over real gRPC against a real Ratis group (one subclass per setup): symlink / readlink, hard links and nlink,
 * mknod, xattrs, RENAME_EXCHANGE and the overwrite rules, sticky and setgid directories, the times each call
 * changes, st_blocks from written extents, fallocate. Every failure case checks its errno and that nothing
 * changed. The last test checks that every replica applied all of it to the same tables (determinism).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(120)
abstract class PosixOpsTest {
  static final long ROOT = Layout.ROOT_INO;
  static final int CS = Layout.CHUNK_SIZE;
  static final int NOREPLACE = 1;
  static final int EXCHANGE = 2;

  Path tmp;
  MetaCluster cluster;
  MetaClient client;
  long dir;

  abstract int replicas();

  @BeforeAll
  void startCluster() throws Exception {
    tmp = Files.createTempDirectory("shoal-meta-posix");
    cluster = MetaCluster.start(tmp, replicas());
    cluster.awaitLeader(Duration.ofSeconds(30));
    client = cluster.client();
    client.registerDaemon(StorageDaemon.newBuilder().setId("d1").setAddress("127.0.0.1:7001")
        .setCapacityBytes(1L << 40).build());
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
    dir = client.mkdir(ROOT, "p-" + info.getTestMethod().orElseThrow().getName(), 0777, 0, 0).getIno();
  }

  static void assertCode(Code expected, Executable call, String why) {
    MetaException e = assertThrows(MetaException.class, call, why);
    assertEquals(expected, e.code(), why + ": " + e.getMessage());
  }

  Attr attr(long ino) throws MetaException {
    return client.getAttr(ino);
  }

  List<String> names(long ino) throws MetaException {
    return client.readDir(ino, "", 0).getEntriesList().stream().map(DirEntry::getName).toList();
  }

  /** A new inode has atime = mtime = ctime, and its parent got mtime = ctime = that same entry time. */
  void assertNewInodeTimes(Attr a, long parent) throws MetaException {
    assertTrue(a.getCtimeNs() > 0);
    assertEquals(a.getCtimeNs(), a.getAtimeNs(), "atime of a new inode");
    assertEquals(a.getCtimeNs(), a.getMtimeNs(), "mtime of a new inode");
    Attr p = attr(parent);
    assertEquals(a.getCtimeNs(), p.getMtimeNs(), "parent mtime");
    assertEquals(a.getCtimeNs(), p.getCtimeNs(), "parent ctime");
  }

  Map<Long, ChunkRecord> orphans() throws InterruptedException {
    return cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine().dump(MetaTables.ORPHAN_CHUNKS, 100_000);
  }

  long xattrRecordsOf(long ino) throws InterruptedException {
    Map<XattrKey, byte[]> all = cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine()
        .dump(MetaTables.XATTRS, 100_000);
    return all.keySet().stream().filter(k -> k.ino() == ino).count();
  }

  // ---- symlink / readlink ----

  @Test
  void symlinkAndReadLink() throws Exception {
    byte[] target = "../some/where".getBytes(StandardCharsets.UTF_8);
    Attr l = client.symlink(dir, "l", target, 1000, 1001);
    assertEquals(FileType.SYMLINK, l.getType());
    assertEquals(0777, l.getMode());
    assertEquals(target.length, l.getSize());
    assertEquals(1, l.getNlink());
    assertEquals(1000, l.getUid());
    assertEquals(1001, l.getGid());
    assertEquals(0, l.getBlocks());
    assertNewInodeTimes(l, dir);
    assertArrayEquals(target, client.readLink(l.getIno()));
    assertEquals(l, client.lookup(dir, "l"));
    assertEquals(List.of(FileType.SYMLINK), client.readDir(dir, "", 0).getEntriesList().stream()
        .map(DirEntry::getType).toList());

    byte[] longest = "x".repeat(4095).getBytes(StandardCharsets.UTF_8);
    assertEquals(4095, client.symlink(dir, "long", longest, 0, 0).getSize());
    assertArrayEquals(longest, client.readLink(client.lookup(dir, "long").getIno()));
    byte[] nonUtf8 = {(byte) 0xff, (byte) 0xfe, 'a'};
    assertArrayEquals(nonUtf8, client.readLink(client.symlink(dir, "raw", nonUtf8, 0, 0).getIno()),
        "targets are bytes, not text");

    long used = client.statFs(ROOT).getUsedBytes();
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    Object[][] cases = {
        {Code.ENOENT, "", "x1", "an empty target"},
        {Code.ENAMETOOLONG, "y".repeat(4096), "x2", "a target of 4096 bytes"},
        {Code.EINVAL, "a\0b", "x3", "a NUL in the target"},
        {Code.EEXIST, "t", "l", "an existing name"},
        {Code.EEXIST, "t", ".", "."},
        {Code.EEXIST, "t", "..", ".."},
        {Code.EINVAL, "t", "a/b", "a slash in the name"},
        {Code.ENAMETOOLONG, "t", "n".repeat(256), "a name of 256 bytes"},
    };
    List<String> before = names(dir);
    for (Object[] c : cases) {
      byte[] t = ((String) c[1]).getBytes(StandardCharsets.UTF_8);
      assertCode((Code) c[0], () -> client.symlink(dir, (String) c[2], t, 0, 0), "symlink with " + c[3]);
    }
    assertCode(Code.ENOTDIR, () -> client.symlink(f.getIno(), "x", "t".getBytes(), 0, 0), "symlink in a file");
    assertEquals(before, names(dir), "failed symlinks change nothing");
    assertCode(Code.EINVAL, () -> client.readLink(f.getIno()), "readlink of a regular file");
    assertCode(Code.EINVAL, () -> client.readLink(dir), "readlink of a directory");
    assertCode(Code.ENOENT, () -> client.readLink(Long.MAX_VALUE), "readlink of no inode");
    assertEquals(used, client.statFs(ROOT).getUsedBytes(), "a symlink's size is not file data");

    assertCode(Code.EINVAL, () -> client.setAttr(SetAttrRequest.newBuilder().setIno(l.getIno()).setSize(0)
        .build()), "truncate of a symlink");
    assertCode(Code.EINVAL, () -> client.allocChunk(l.getIno(), 0), "a symlink has no data map");
    Attr chowned = client.setAttr(SetAttrRequest.newBuilder().setIno(l.getIno()).setUid(5).setGid(6).build());
    assertEquals(5, chowned.getUid(), "lchown changes the link itself");
    assertArrayEquals(target, client.readLink(l.getIno()));
    Attr touched = client.setAttr(SetAttrRequest.newBuilder().setIno(l.getIno()).setMtimeNs(1234).build());
    assertEquals(1234, touched.getMtimeNs(), "lutimes");
    client.unlink(dir, "l");
    assertCode(Code.ENOENT, () -> client.getAttr(l.getIno()), "an unlinked symlink goes");
    assertEquals(used, client.statFs(ROOT).getUsedBytes());
  }

  // ---- hard links ----

  @Test
  void hardLinksCountNlinkAndChangeCtime() throws Exception {
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    ChunkRef c0 = client.allocChunk(f.getIno(), 0);
    long sub = client.mkdir(dir, "sub", 0755, 0, 0).getIno();
    Attr subBefore = attr(sub);

    Attr linked = client.link(f.getIno(), sub, "g");
    assertEquals(f.getIno(), linked.getIno());
    assertEquals(2, linked.getNlink());
    assertTrue(linked.getCtimeNs() > f.getCtimeNs(), "link sets the inode's ctime");
    assertEquals(f.getMtimeNs(), linked.getMtimeNs(), "link does not touch the inode's mtime");
    Attr subAfter = attr(sub);
    assertEquals(linked.getCtimeNs(), subAfter.getMtimeNs(), "the new parent's mtime");
    assertEquals(linked.getCtimeNs(), subAfter.getCtimeNs(), "the new parent's ctime");
    assertEquals(subBefore.getNlink(), subAfter.getNlink(), "a file link is not a subdirectory");
    assertEquals(linked, client.lookup(sub, "g"));
    assertEquals(linked, client.lookup(dir, "f"));
    assertEquals(3, client.link(f.getIno(), dir, "h").getNlink());

    // Failures, each leaving nlink at 3.
    Subvolume vol = client.createSubvolume("posix-link", 0);
    Attr other = client.create(dir, "other", 0644, 0, 0, true);
    assertCode(Code.EEXIST, () -> client.link(f.getIno(), dir, "other"), "link onto an existing name");
    assertCode(Code.EEXIST, () -> client.link(f.getIno(), dir, "."), "link as .");
    assertCode(Code.ENOENT, () -> client.link(Long.MAX_VALUE, dir, "x"), "link of no inode");
    assertCode(Code.ENOTDIR, () -> client.link(f.getIno(), other.getIno(), "x"), "link into a file");
    assertCode(Code.EXDEV, () -> client.link(f.getIno(), vol.getRootIno(), "x"), "link across volumes");
    assertCode(Code.EPERM, () -> client.link(sub, dir, "dirlink"), "link of a directory");
    assertCode(Code.ENAMETOOLONG, () -> client.link(f.getIno(), dir, "n".repeat(256)), "a long name");
    assertCode(Code.EINVAL, () -> client.link(f.getIno(), dir, ""), "an empty name");
    assertEquals(3, attr(f.getIno()).getNlink());
    assertFalse(names(dir).contains("dirlink"));
    assertTrue(names(vol.getRootIno()).isEmpty());
    long inodes = client.statFs(ROOT).getInodesUsed();

    // Unlink: nlink - 1 and ctime while names remain; the data stays.
    Attr beforeUnlink = attr(f.getIno());
    client.unlink(dir, "f");
    Attr after = attr(f.getIno());
    assertEquals(2, after.getNlink());
    assertTrue(after.getCtimeNs() > beforeUnlink.getCtimeNs(), "unlink of a hard link sets the inode's ctime");
    assertEquals(attr(dir).getMtimeNs(), after.getCtimeNs(), "and the parent's mtime in the same entry");
    assertEquals(List.of(c0.toBuilder().clearToken().build()), client.getChunks(f.getIno(), 0, 0),
        "chunks stay while a name is left");
    assertFalse(orphans().containsKey(c0.getChunkId()));
    assertEquals(inodes, client.statFs(ROOT).getInodesUsed(), "one inode, however many names");
    client.unlink(sub, "g");
    assertEquals(1, attr(f.getIno()).getNlink());
    client.unlink(dir, "h");
    assertCode(Code.ENOENT, () -> client.getAttr(f.getIno()), "the inode goes with its last name");
    assertTrue(orphans().containsKey(c0.getChunkId()), "its chunks become orphans");
    assertEquals(inodes - 1, client.statFs(ROOT).getInodesUsed());
  }

  @Test
  void renameBetweenHardLinksOfOneInodeIsANoOp() throws Exception {
    Attr f = client.create(dir, "a", 0644, 0, 0, true);
    client.link(f.getIno(), dir, "b");
    Attr before = attr(f.getIno());
    client.rename(dir, "a", dir, "b", 0);
    assertEquals(List.of("a", "b"), names(dir), "POSIX: both names stay");
    assertEquals(before, attr(f.getIno()));
    client.rename(dir, "a", dir, "b", EXCHANGE);
    assertEquals(before, attr(f.getIno()));
  }

  @Test
  void renameOverAHardLinkDropsOneLink() throws Exception {
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    client.link(f.getIno(), dir, "f2");
    Attr g = client.create(dir, "g", 0644, 0, 0, true);
    client.rename(dir, "g", dir, "f2", 0);
    assertEquals(1, attr(f.getIno()).getNlink(), "the replaced name was one of f's two");
    assertEquals(g.getIno(), client.lookup(dir, "f2").getIno());
    assertEquals(f.getIno(), client.lookup(dir, "f").getIno());
  }

  // ---- mknod ----

  @Test
  void mknodMakesEveryNodeType() throws Exception {
    long rdev = (8L << 8) | 1; // sda1 in the old encoding; kept as given
    Map<FileType, Long> types = Map.of(FileType.FIFO, 0L, FileType.SOCKET, 0L, FileType.CHAR_DEVICE, 0x0501L,
        FileType.BLOCK_DEVICE, rdev, FileType.REGULAR, 0L);
    for (Map.Entry<FileType, Long> t : types.entrySet()) {
      String name = t.getKey().name().toLowerCase();
      long sent = t.getValue() != 0 ? t.getValue() : 0x0801; // non-devices drop what they are sent
      Attr a = client.mknod(dir, name, t.getKey(), 0640, 3, 4, sent);
      assertEquals(t.getKey(), a.getType());
      assertEquals(0640, a.getMode());
      assertEquals(1, a.getNlink());
      assertEquals(0, a.getSize());
      assertEquals(t.getValue().longValue(), a.getRdev(), "rdev of " + name + " (devices only)");
      assertNewInodeTimes(a, dir);
      assertEquals(a, client.lookup(dir, name));
      assertEquals(t.getKey(), client.readDir(dir, "", 0).getEntriesList().stream()
          .filter(e -> e.getName().equals(name)).findFirst().orElseThrow().getType());
    }
    List<String> before = names(dir);
    assertCode(Code.EPERM, () -> client.mknod(dir, "d", FileType.DIRECTORY, 0755, 0, 0, 0), "mknod S_IFDIR");
    assertCode(Code.EINVAL, () -> client.mknod(dir, "s", FileType.SYMLINK, 0755, 0, 0, 0), "mknod S_IFLNK");
    assertCode(Code.EINVAL, () -> client.mknod(dir, "u", FileType.FILE_TYPE_UNSPECIFIED, 0755, 0, 0, 0),
        "mknod of no type");
    assertCode(Code.EEXIST, () -> client.mknod(dir, "fifo", FileType.FIFO, 0644, 0, 0, 0), "an existing name");
    assertCode(Code.EEXIST, () -> client.mknod(dir, "..", FileType.FIFO, 0644, 0, 0, 0), "..");
    assertEquals(before, names(dir));

    long fifo = client.lookup(dir, "fifo").getIno();
    assertCode(Code.EINVAL, () -> client.setAttr(SetAttrRequest.newBuilder().setIno(fifo).setSize(1).build()),
        "truncate of a FIFO");
    assertCode(Code.EINVAL, () -> client.allocChunk(fifo, 0), "a FIFO has no data map");
    assertEquals(2, client.link(fifo, dir, "fifo2").getNlink(), "hard links to device nodes work");
    assertEquals(fifo, client.create(dir, "fifo", 0644, 0, 0, false).getIno(),
        "O_CREAT without O_EXCL opens an existing FIFO");
    client.unlink(dir, "fifo");
    client.unlink(dir, "fifo2");
    assertCode(Code.ENOENT, () -> client.getAttr(fifo), "gone with its last name");
  }

  // ---- unlink / rmdir times and nlink of directories ----

  @Test
  void removalSetsParentTimesAndDirectoryNlinkCountsSubdirectories() throws Exception {
    assertEquals(2, attr(dir).getNlink());
    long a = client.mkdir(dir, "a", 0755, 0, 0).getIno();
    client.mkdir(dir, "b", 0755, 0, 0);
    client.create(dir, "f", 0644, 0, 0, true);
    client.symlink(dir, "l", "f".getBytes(), 0, 0);
    client.mknod(dir, "p", FileType.FIFO, 0644, 0, 0, 0);
    assertEquals(4, attr(dir).getNlink(), "2 + two subdirectories; files, links and nodes do not count");
    client.mkdir(a, "x", 0755, 0, 0);
    assertEquals(3, attr(a).getNlink());

    Attr before = attr(dir);
    client.unlink(dir, "f");
    Attr after = attr(dir);
    assertTrue(after.getMtimeNs() > before.getMtimeNs());
    assertEquals(after.getMtimeNs(), after.getCtimeNs());
    client.rmdir(dir, "b");
    Attr afterRmdir = attr(dir);
    assertEquals(3, afterRmdir.getNlink());
    assertTrue(afterRmdir.getMtimeNs() > after.getMtimeNs());
    assertEquals(afterRmdir.getMtimeNs(), afterRmdir.getCtimeNs());

    // The dir moves between parents: both nlinks follow.
    long c = client.mkdir(dir, "c", 0755, 0, 0).getIno();
    client.rename(dir, "a", c, "a", 0);
    assertEquals(3, attr(dir).getNlink());
    assertEquals(3, attr(c).getNlink());
  }

  // ---- rename: overwrite rules, exchange ----

  @Test
  void renameOverwriteRules() throws Exception {
    long d1 = client.mkdir(dir, "d1", 0755, 0, 0).getIno();
    long empty = client.mkdir(dir, "empty", 0755, 0, 0).getIno();
    long full = client.mkdir(dir, "full", 0755, 0, 0).getIno();
    client.create(full, "x", 0644, 0, 0, true);
    Attr f = client.create(dir, "f", 0644, 0, 0, true);
    client.create(dir, "g", 0644, 0, 0, true);
    List<String> before = names(dir);

    assertCode(Code.ENOTEMPTY, () -> client.rename(dir, "d1", dir, "full", 0), "dir over a non-empty dir");
    assertCode(Code.EISDIR, () -> client.rename(dir, "f", dir, "empty", 0), "file over a dir");
    assertCode(Code.ENOTDIR, () -> client.rename(dir, "d1", dir, "f", 0), "dir over a file");
    assertCode(Code.EINVAL, () -> client.rename(dir, "d1", d1, "inside", 0), "dir under itself");
    long deep = client.mkdir(d1, "deep", 0755, 0, 0).getIno();
    assertCode(Code.EINVAL, () -> client.rename(dir, "d1", deep, "inside", 0), "dir under its own subtree");
    assertCode(Code.EEXIST, () -> client.rename(dir, "f", dir, "g", NOREPLACE), "NOREPLACE onto a file");
    assertCode(Code.EINVAL, () -> client.rename(dir, "f", dir, "g", NOREPLACE | EXCHANGE), "exchange|noreplace");
    assertCode(Code.EINVAL, () -> client.rename(dir, "f", dir, "g", 4), "RENAME_WHITEOUT is not supported");
    assertCode(Code.EBUSY, () -> client.rename(dir, "f", dir, "..", 0), "rename onto ..");
    assertCode(Code.EEXIST, () -> client.rename(dir, "f", dir, ".", NOREPLACE), "NOREPLACE onto .");
    assertEquals(before, names(dir), "failed renames change nothing");
    assertEquals(f, attr(f.getIno()));

    Attr dirBefore = attr(dir);
    client.rename(dir, "d1", dir, "empty", 0);
    assertCode(Code.ENOENT, () -> client.getAttr(empty), "the replaced empty dir goes");
    assertEquals(d1, client.lookup(dir, "empty").getIno());
    assertEquals(dirBefore.getNlink() - 1, attr(dir).getNlink(), "one subdirectory fewer");

    long otherDir = client.mkdir(ROOT, "p-renameOverwriteRules-other", 0755, 0, 0).getIno();
    Attr moved = attr(f.getIno());
    client.rename(dir, "f", otherDir, "f", 0);
    Attr m = attr(f.getIno());
    assertTrue(m.getCtimeNs() > moved.getCtimeNs(), "rename sets the moved inode's ctime");
    assertEquals(moved.getMtimeNs(), m.getMtimeNs(), "but not its mtime");
    for (long p : List.of(dir, otherDir)) {
      assertEquals(m.getCtimeNs(), attr(p).getMtimeNs(), "mtime of both parents");
      assertEquals(m.getCtimeNs(), attr(p).getCtimeNs(), "ctime of both parents");
    }
  }

  @Test
  void renameExchangeSwapsTwoNames() throws Exception {
    Attr a = client.create(dir, "a", 0644, 0, 0, true);
    Attr b = client.create(dir, "b", 0600, 0, 0, true);
    client.rename(dir, "a", dir, "b", EXCHANGE);
    assertEquals(b.getIno(), client.lookup(dir, "a").getIno());
    assertEquals(a.getIno(), client.lookup(dir, "b").getIno());
    Attr a2 = attr(a.getIno());
    Attr b2 = attr(b.getIno());
    assertTrue(a2.getCtimeNs() > a.getCtimeNs() && a2.getCtimeNs() == b2.getCtimeNs(), "ctime of both");
    assertEquals(a2.getCtimeNs(), attr(dir).getMtimeNs());

    // A directory and a file across parents: parent pointers and both parents' nlink follow.
    long p1 = client.mkdir(dir, "p1", 0755, 0, 0).getIno();
    long p2 = client.mkdir(dir, "p2", 0755, 0, 0).getIno();
    long d = client.mkdir(p1, "d", 0755, 0, 0).getIno();
    client.create(d, "inside", 0644, 0, 0, true);
    Attr file = client.create(p2, "file", 0644, 0, 0, true);
    assertEquals(3, attr(p1).getNlink());
    assertEquals(2, attr(p2).getNlink());
    client.rename(p1, "d", p2, "file", EXCHANGE);
    assertEquals(file.getIno(), client.lookup(p1, "d").getIno());
    assertEquals(d, client.lookup(p2, "file").getIno());
    assertEquals(2, attr(p1).getNlink(), "p1 lost its subdirectory");
    assertEquals(3, attr(p2).getNlink(), "p2 gained it");
    assertEquals(List.of("inside"), names(d), "an exchanged directory keeps its contents (exchange needs no empty dir)");
    // The moved dir's parent pointer is now p2: moving p2 into it must be refused as a cycle.
    assertCode(Code.EINVAL, () -> client.rename(dir, "p2", d, "loop", 0), "parent pointer follows the exchange");
    client.rename(dir, "p1", d, "p1", 0); // p1 is no ancestor of d any more
    assertEquals(p1, client.lookup(d, "p1").getIno());

    // Two directories across parents: nlinks unchanged, parent pointers swapped.
    long q1 = client.mkdir(dir, "q1", 0755, 0, 0).getIno();
    long q2 = client.mkdir(dir, "q2", 0755, 0, 0).getIno();
    long x = client.mkdir(q1, "x", 0755, 0, 0).getIno();
    long y = client.mkdir(q2, "y", 0755, 0, 0).getIno();
    client.rename(q1, "x", q2, "y", EXCHANGE);
    assertEquals(y, client.lookup(q1, "x").getIno());
    assertEquals(x, client.lookup(q2, "y").getIno());
    assertEquals(3, attr(q1).getNlink());
    assertEquals(3, attr(q2).getNlink());
    assertCode(Code.EINVAL, () -> client.rename(dir, "q2", x, "loop", 0), "x is under q2 now");

    // Failures.
    List<String> before = names(dir);
    assertCode(Code.ENOENT, () -> client.rename(dir, "a", dir, "missing", EXCHANGE), "exchange needs a target");
    assertCode(Code.ENOENT, () -> client.rename(dir, "missing", dir, "a", EXCHANGE), "and a source");
    assertCode(Code.EINVAL, () -> client.rename(dir, "q1", q1, "x", EXCHANGE), "exchange a dir with its child");
    assertCode(Code.EINVAL, () -> client.rename(q1, "x", dir, "q1", EXCHANGE), "exchange a dir with its parent");
    Subvolume vol = client.createSubvolume("posix-exchange", 0);
    client.create(vol.getRootIno(), "v", 0644, 0, 0, true);
    assertCode(Code.EXDEV, () -> client.rename(dir, "a", vol.getRootIno(), "v", EXCHANGE), "across volumes");
    assertEquals(before, names(dir));
  }

  // ---- sticky directories ----

  @Test
  void stickyDirectoriesLimitWhoRemovesAndRenames() throws Exception {
    long tmpDir = client.mkdir(dir, "tmp", 01777, 1000, 1000).getIno();
    assertEquals(01777, attr(tmpDir).getMode());
    long plain = client.mkdir(dir, "plain", 0777, 1000, 1000).getIno();
    client.create(tmpDir, "f", 0644, 1001, 1001, true);
    client.mkdir(tmpDir, "d", 0755, 1001, 1001);
    client.create(tmpDir, "t", 0644, 1003, 1003, true);
    client.create(plain, "f", 0644, 1001, 1001, true);
    List<String> before = names(tmpDir);

    assertCode(Code.EPERM, () -> client.unlink(tmpDir, "f", 1002), "unlink of another's file");
    assertCode(Code.EPERM, () -> client.rmdir(tmpDir, "d", 1002), "rmdir of another's dir");
    assertCode(Code.EPERM, () -> client.rename(tmpDir, "f", tmpDir, "g", 0, 1002), "rename of another's file");
    assertCode(Code.EPERM, () -> client.rename(tmpDir, "f", plain, "g", 0, 1002), "moving it out");
    assertCode(Code.EPERM, () -> client.rename(plain, "f", tmpDir, "t", 0, 1001), "replacing another's file");
    assertCode(Code.EPERM, () -> client.rename(tmpDir, "f", tmpDir, "t", EXCHANGE, 1001),
        "exchange with another's file");
    assertEquals(before, names(tmpDir), "nothing changed");

    client.unlink(plain, "f", 1002); // no sticky bit: the kernel checked write permission, nothing more
    client.rename(tmpDir, "f", tmpDir, "f2", 0, 1001); // the file's owner
    client.rename(tmpDir, "f2", tmpDir, "f3", 0, 1000); // the directory's owner
    client.rename(tmpDir, "f3", tmpDir, "f4", 0, 0); // root
    client.unlink(tmpDir, "f4", 1001);
    client.rmdir(tmpDir, "d", 1000);
    client.unlink(tmpDir, "t"); // caller_uid unset = 0 = root: old clients keep working
    assertTrue(names(tmpDir).isEmpty());
  }

  // ---- setgid directories ----

  @Test
  void setgidDirectoriesPassTheirGroupOn() throws Exception {
    long sg = client.mkdir(dir, "sg", 02775, 0, 50).getIno();
    assertEquals(02775, attr(sg).getMode());
    Attr f = client.create(sg, "f", 0644, 1000, 7, true);
    assertEquals(50, f.getGid(), "a file takes the directory's group");
    assertEquals(0644, f.getMode(), "and no S_ISGID");
    Attr d = client.mkdir(sg, "d", 0755, 1000, 7);
    assertEquals(50, d.getGid());
    assertEquals(02755, d.getMode(), "a subdirectory keeps S_ISGID");
    Attr dd = client.mkdir(d.getIno(), "dd", 0700, 1000, 7);
    assertEquals(50, dd.getGid(), "and passes it on");
    assertEquals(02700, dd.getMode());
    assertEquals(50, client.mknod(sg, "p", FileType.FIFO, 0644, 1000, 7, 0).getGid());
    assertEquals(50, client.symlink(sg, "l", "f".getBytes(), 1000, 7).getGid());

    Attr plain = client.mkdir(dir, "plain", 0775, 0, 50);
    Attr g = client.create(plain.getIno(), "g", 0644, 1000, 7, true);
    assertEquals(7, g.getGid(), "without S_ISGID the caller's group");
    assertEquals(0755, client.mkdir(plain.getIno(), "e", 0755, 1000, 7).getMode());
  }

  // ---- set_attr: times, chmod, chown and the set-id bits ----

  @Test
  void setAttrTimesAndSetIdBits() throws Exception {
    Attr f = client.create(dir, "f", 04755 | 02000, 1000, 1000, true);
    assertEquals(06755, f.getMode());

    Attr chmod = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setMode(06775).build());
    assertTrue(chmod.getCtimeNs() > f.getCtimeNs(), "chmod sets ctime");
    assertEquals(f.getMtimeNs(), chmod.getMtimeNs(), "chmod leaves mtime");
    assertEquals(f.getAtimeNs(), chmod.getAtimeNs());

    Attr chown = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setUid(2000).build());
    assertEquals(0775, chown.getMode(), "chown clears S_ISUID and (group-executable) S_ISGID");
    assertTrue(chown.getCtimeNs() > chmod.getCtimeNs());
    assertEquals(f.getMtimeNs(), chown.getMtimeNs(), "chown leaves mtime");

    client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setMode(02644).build());
    assertEquals(02644, client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setGid(5).build())
        .getMode(), "S_ISGID without group-execute (mandatory locking) stays");
    Attr withMode = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setMode(04755).setUid(1)
        .build());
    assertEquals(04755, withMode.getMode(), "a mode sent with the chown (the FUSE kernel's own) wins");
    long d = client.mkdir(dir, "d", 02775, 0, 0).getIno();
    assertEquals(02775, client.setAttr(SetAttrRequest.newBuilder().setIno(d).setGid(9).build()).getMode(),
        "directories keep S_ISGID on chown");

    Attr beforeSize = attr(f.getIno());
    Attr truncated = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setSize(10).build());
    assertTrue(truncated.getMtimeNs() > beforeSize.getMtimeNs(), "a size change sets mtime");
    assertEquals(truncated.getMtimeNs(), truncated.getCtimeNs(), "and ctime");
    assertEquals(beforeSize.getAtimeNs(), truncated.getAtimeNs());

    Attr atimeOnly = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setAtimeNs(42).build());
    assertEquals(42, atimeOnly.getAtimeNs(), "utimensat with mtime UTIME_OMIT");
    assertEquals(truncated.getMtimeNs(), atimeOnly.getMtimeNs(), "mtime untouched");
    assertTrue(atimeOnly.getCtimeNs() > truncated.getCtimeNs(), "explicit times set ctime = now");
    Attr mtimeNow = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setMtimeNow(true).build());
    assertEquals(42, mtimeNow.getAtimeNs(), "atime UTIME_OMIT");
    assertEquals(mtimeNow.getCtimeNs(), mtimeNow.getMtimeNs(), "UTIME_NOW is the entry's time");
    Attr both = client.setAttr(SetAttrRequest.newBuilder().setIno(f.getIno()).setAtimeNs(7).setMtimeNs(8).build());
    assertEquals(7, both.getAtimeNs());
    assertEquals(8, both.getMtimeNs());
  }

  // ---- xattrs ----

  @Test
  void xattrFlagsListAndRemove() throws Exception {
    long f = client.create(dir, "f", 0644, 0, 0, true).getIno();
    Attr before = attr(f);
    client.setXattr(f, "user.a", "1".getBytes(), 0);
    Attr afterSet = attr(f);
    assertTrue(afterSet.getCtimeNs() > before.getCtimeNs(), "setxattr sets ctime");
    assertEquals(before.getMtimeNs(), afterSet.getMtimeNs(), "not mtime");
    assertTrue(afterSet.getVersion() > before.getVersion());
    assertArrayEquals("1".getBytes(), client.getXattr(f, "user.a"));

    assertCode(Code.EEXIST, () -> client.setXattr(f, "user.a", "2".getBytes(), 1), "XATTR_CREATE of a present name");
    assertArrayEquals("1".getBytes(), client.getXattr(f, "user.a"), "unchanged");
    assertCode(Code.ENODATA, () -> client.setXattr(f, "user.b", "2".getBytes(), 2), "XATTR_REPLACE of an absent one");
    assertCode(Code.EINVAL, () -> client.setXattr(f, "user.b", "2".getBytes(), 3), "both flags");
    client.setXattr(f, "user.a", "22".getBytes(), 2);
    assertArrayEquals("22".getBytes(), client.getXattr(f, "user.a"));
    client.setXattr(f, "user.b", new byte[0], 1);
    assertArrayEquals(new byte[0], client.getXattr(f, "user.b"), "an empty value is a value");
    client.setXattr(f, "trusted.t", "t".getBytes(), 0);
    client.setXattr(f, "security.selinux", "s".getBytes(), 0);
    client.setXattr(f, "system.posix_acl_access", new byte[] {2, 0, 0, 0}, 0);
    assertEquals(List.of("security.selinux", "system.posix_acl_access", "trusted.t", "user.a", "user.b"),
        client.listXattr(f));

    Attr beforeRemove = attr(f);
    client.removeXattr(f, "user.a");
    assertTrue(attr(f).getCtimeNs() > beforeRemove.getCtimeNs(), "removexattr sets ctime");
    assertCode(Code.ENODATA, () -> client.getXattr(f, "user.a"), "get of a removed name");
    assertCode(Code.ENODATA, () -> client.removeXattr(f, "user.a"), "remove of an absent name");
    assertEquals(4, client.listXattr(f).size());

    assertTrue(client.listXattr(dir).isEmpty());
    client.setXattr(dir, "user.onDir", "d".getBytes(), 0);
    assertEquals(List.of("user.onDir"), client.listXattr(dir));
  }

  @Test
  void xattrNamesValuesAndNamespacesAreChecked() throws Exception {
    long f = client.create(dir, "f", 0644, 0, 0, true).getIno();
    String longest = "user." + "n".repeat(250);
    client.setXattr(f, longest, "v".getBytes(), 0);
    client.setXattr(f, "user.big", new byte[65536], 0);
    assertEquals(65536, client.getXattr(f, "user.big").length);
    Object[][] cases = {
        {Code.ERANGE, "user." + "n".repeat(251), 1, "a name of 256 bytes"},
        {Code.ERANGE, "", 1, "an empty name"},
        {Code.E2BIG, "user.huge", 65537, "a value over 64 KiB"},
        {Code.EOPNOTSUPP, "other.x", 1, "an unknown namespace"},
        {Code.EOPNOTSUPP, "userx", 1, "no namespace"},
        {Code.EOPNOTSUPP, "system.other", 1, "system.* beyond the POSIX ACLs"},
        {Code.EINVAL, "user.", 1, "a bare namespace"},
    };
    List<String> before = client.listXattr(f);
    for (Object[] c : cases) {
      byte[] v = new byte[(int) c[2]];
      assertCode((Code) c[0], () -> client.setXattr(f, (String) c[1], v, 0), "setxattr with " + c[3]);
    }
    assertCode(Code.ERANGE, () -> client.getXattr(f, "user." + "n".repeat(251)), "getxattr of a long name");
    assertCode(Code.EOPNOTSUPP, () -> client.getXattr(f, "other.x"), "getxattr of an unknown namespace");
    assertCode(Code.EOPNOTSUPP, () -> client.removeXattr(f, "other.x"), "removexattr of an unknown namespace");
    assertCode(Code.ENOENT, () -> client.setXattr(Long.MAX_VALUE, "user.x", new byte[1], 0), "no inode");
    assertCode(Code.ENOENT, () -> client.listXattr(Long.MAX_VALUE), "list of no inode");
    assertEquals(before, client.listXattr(f), "failures change nothing");

    // user.* only on regular files and directories; other namespaces anywhere.
    long l = client.symlink(dir, "l", "f".getBytes(), 0, 0).getIno();
    long p = client.mknod(dir, "p", FileType.FIFO, 0644, 0, 0, 0).getIno();
    for (long ino : List.of(l, p)) {
      assertCode(Code.EPERM, () -> client.setXattr(ino, "user.x", new byte[1], 0), "user.* on a special file");
      assertCode(Code.ENODATA, () -> client.getXattr(ino, "user.x"), "get of user.* on a special file");
      assertCode(Code.EPERM, () -> client.removeXattr(ino, "user.x"), "remove of user.* on a special file");
      client.setXattr(ino, "trusted.x", "t".getBytes(), 0);
      assertEquals(List.of("trusted.x"), client.listXattr(ino));
    }
  }

  @Test
  void xattrNameListIsBoundedAt64KiB() throws Exception {
    long f = client.create(dir, "f", 0644, 0, 0, true).getIno();
    // 256 names of 255 bytes + NUL = exactly 65536 bytes of list.
    for (int i = 0; i < 256; i++) {
      client.setXattr(f, String.format("user.%03d", i) + "n".repeat(247), new byte[0], 0);
    }
    assertEquals(256, client.listXattr(f).size());
    assertCode(Code.E2BIG, () -> client.setXattr(f, "user.x", new byte[0], 0), "the 257th name");
    client.setXattr(f, "user.000" + "n".repeat(247), "replace".getBytes(), 0); // an existing name still fits
    assertEquals(256, client.listXattr(f).size());
  }

  @Test
  void xattrsGoWithTheirInode() throws Exception {
    long f = client.create(dir, "f", 0644, 0, 0, true).getIno();
    client.link(f, dir, "g");
    client.setXattr(f, "user.a", "1".getBytes(), 0);
    client.setXattr(f, "trusted.b", "2".getBytes(), 0);
    long d = client.mkdir(dir, "d", 0755, 0, 0).getIno();
    client.setXattr(d, "user.c", "3".getBytes(), 0);
    long r = client.create(dir, "r", 0644, 0, 0, true).getIno();
    client.setXattr(r, "user.d", "4".getBytes(), 0);
    long victim = client.create(dir, "victim", 0644, 0, 0, true).getIno();
    client.setXattr(victim, "user.e", "5".getBytes(), 0);
    assertEquals(2, xattrRecordsOf(f));

    client.unlink(dir, "f");
    assertEquals(2, xattrRecordsOf(f), "a hard link is left: the xattrs stay");
    assertArrayEquals("1".getBytes(), client.getXattr(f, "user.a"));
    client.unlink(dir, "g");
    assertEquals(0, xattrRecordsOf(f), "reclaimed with the inode");
    client.rmdir(dir, "d");
    assertEquals(0, xattrRecordsOf(d), "and with a removed directory");
    client.rename(dir, "r", dir, "victim", 0);
    assertEquals(0, xattrRecordsOf(victim), "and with a file replaced by rename");
    assertEquals(1, xattrRecordsOf(r));

    Subvolume vol = client.createSubvolume("posix-xattr", 0);
    long vf = client.create(vol.getRootIno(), "vf", 0644, 0, 0, true).getIno();
    client.setXattr(vf, "user.v", "v".getBytes(), 0);
    client.setXattr(vol.getRootIno(), "user.root", "v".getBytes(), 0);
    client.deleteSubvolume("posix-xattr");
    assertEquals(0, xattrRecordsOf(vf), "and with a deleted subvolume");
    assertEquals(0, xattrRecordsOf(vol.getRootIno()));
  }

  // ---- st_blocks ----

  @Test
  void blocksComeFromWrittenExtents() throws Exception {
    long f = client.create(dir, "sparse", 0644, 0, 0, true).getIno();
    long gib = 1L << 30;
    int index = (int) (gib / CS);
    client.allocChunk(f, index);
    Attr a = client.commitWrite(f, gib + 4096, 0, List.of(extent(index, 0, 4096)));
    assertEquals(gib + 4096, a.getSize());
    assertEquals(8, a.getBlocks(), "a 1 GiB sparse file with one 4 KiB write: 8 blocks");
    assertEquals(8, client.getAttr(f).getBlocks());

    a = client.commitWrite(f, 0, 0, List.of(extent(index, 8192, 12288)));
    assertEquals(24, a.getBlocks(), "the extent is the hull [0, 12288)");
    a = client.commitWrite(f, 0, 0, List.of(extent(index, 100, 200)));
    assertEquals(24, a.getBlocks(), "inside the hull: no change");
    assertEquals(gib + 4096, a.getSize(), "size never shrinks by commit");

    client.allocChunk(f, 0);
    a = client.commitWrite(f, 0, 0, List.of(extent(0, 0, 1)));
    assertEquals(32, a.getBlocks(), "one byte takes a whole 4 KiB unit");
    a = client.commitWrite(f, 0, 0, List.of(extent(0, 1, 4097)));
    assertEquals(40, a.getBlocks(), "12288 + 4097 allocated bytes round up to five 4 KiB units");
    a = client.commitWrite(f, 0, 0, List.of(extent(3, 0, 4096)));
    assertEquals(40, a.getBlocks(), "an extent of a chunk without a record is ignored");

    assertCode(Code.EINVAL, () -> client.commitWrite(f, 0, 0, List.of(extent(0, 10, 10))), "an empty extent");
    assertCode(Code.EINVAL, () -> client.commitWrite(f, 0, 0, List.of(extent(0, 0, CS + 1))), "past the chunk");
    assertEquals(40, client.getAttr(f).getBlocks());

    a = client.setAttr(SetAttrRequest.newBuilder().setIno(f).setSize(gib + 100).build());
    assertEquals(16, a.getBlocks(), "truncate cuts the straddling chunk's extent to [0, 100): 4197 bytes");
    a = client.setAttr(SetAttrRequest.newBuilder().setIno(f).setSize(gib).build());
    assertEquals(16, a.getBlocks(), "a chunk wholly past the end goes");
    a = client.setAttr(SetAttrRequest.newBuilder().setIno(f).setSize(0).build());
    assertEquals(0, a.getBlocks());
    assertTrue(client.getChunks(f, 0, 0).isEmpty());
  }

  // ---- fallocate ----

  @Test
  void fallocateModes() throws Exception {
    long f = client.create(dir, "f", 0644, 0, 0, true).getIno();
    long used = client.statFs(ROOT).getUsedBytes();
    Attr before = attr(f);
    Attr a = client.fallocate(f, 0, 0, 3L * CS + 4096);
    assertEquals(3L * CS + 4096, a.getSize(), "mode 0 grows the size");
    assertEquals((3L * CS + 4096) / 512, a.getBlocks(), "and counts the range as allocated");
    assertTrue(a.getMtimeNs() > before.getMtimeNs() && a.getCtimeNs() == a.getMtimeNs());
    assertEquals(used + 3L * CS + 4096, client.statFs(ROOT).getUsedBytes());
    assertTrue(client.getChunks(f, 0, 0).isEmpty(), "reserved chunks read as holes until written");

    a = client.fallocate(f, 0, 0, 4096);
    assertEquals(3L * CS + 4096, a.getSize(), "mode 0 never shrinks");
    Attr keep = client.fallocate(f, 1, 10L * CS, CS);
    assertEquals(3L * CS + 4096, keep.getSize(), "KEEP_SIZE leaves the size");
    assertEquals((4L * CS + 4096) / 512, keep.getBlocks(), "but allocates past the end");
    assertEquals(a.getMtimeNs(), keep.getMtimeNs(), "KEEP_SIZE leaves mtime");
    assertTrue(keep.getCtimeNs() > a.getCtimeNs(), "and sets ctime");

    ChunkRef placed = client.allocChunk(f, 1);
    assertNotEquals(0, placed.getChunkId(), "alloc_chunk places a reserved chunk");
    assertEquals(keep.getBlocks(), attr(f).getBlocks(), "and keeps its extent");
    assertEquals(List.of(placed.toBuilder().clearToken().build()), client.getChunks(f, 0, 0));

    // Punch: chunks 1 and 2 wholly inside go (1 to orphan_chunks: it was placed), chunk 0 is cut to [0, 4096).
    Attr punched = client.fallocate(f, 3, 4096, 3L * CS - 4096);
    assertEquals(3L * CS + 4096, punched.getSize(), "punch keeps the size");
    assertEquals((4096 + 4096 + (long) CS) / 512, punched.getBlocks(), "left: [0,4K) of 0, [0,4K) of 3, chunk 10");
    assertTrue(punched.getMtimeNs() > keep.getMtimeNs(), "punch sets mtime");
    assertTrue(orphans().containsKey(placed.getChunkId()), "a placed chunk inside the hole is orphaned");
    assertTrue(client.getChunks(f, 0, 0).isEmpty());
    Attr middle = client.fallocate(f, 3, 10L * CS + 4096, 4096);
    assertEquals(punched.getBlocks(), middle.getBlocks(), "a hole inside an extent leaves the hull");

    Attr unchanged = attr(f);
    Object[][] cases = {
        {Code.EOPNOTSUPP, 2, 0L, 4096L, "PUNCH_HOLE without KEEP_SIZE"},
        {Code.EOPNOTSUPP, 4, 0L, 4096L, "COLLAPSE_RANGE"},
        {Code.EOPNOTSUPP, 0x10, 0L, 4096L, "ZERO_RANGE"},
        {Code.EINVAL, 0, 0L, 0L, "length 0"},
        {Code.EINVAL, 0, -1L, 4096L, "a negative offset"},
        {Code.EFBIG, 0, (1L << 32) * CS, 1L, "past the largest file size"},
        {Code.EFBIG, 0, Long.MAX_VALUE, 4096L, "an offset + length that overflows"},
        {Code.EINVAL, 0, 0L, 4097L * CS, "more chunks than one request may allocate"},
    };
    for (Object[] c : cases) {
      assertCode((Code) c[0], () -> client.fallocate(f, (int) c[1], (long) c[2], (long) c[3]), (String) c[4]);
    }
    assertEquals(unchanged, attr(f), "failures change nothing");
    assertCode(Code.EISDIR, () -> client.fallocate(dir, 0, 0, 1), "fallocate of a directory");
    long p = client.mknod(dir, "p", FileType.FIFO, 0644, 0, 0, 0).getIno();
    assertCode(Code.EINVAL, () -> client.fallocate(p, 0, 0, 1), "fallocate of a FIFO");
    assertEquals(4096L * CS, client.fallocate(client.create(dir, "big", 0644, 0, 0, true).getIno(), 1, 0,
        4096L * CS).getBlocks() * 512, "4096 chunks in one request is the bound");

    client.unlink(dir, "f");
    assertEquals(used + 4096L * CS, client.statFs(ROOT).getUsedBytes(),
        "f's allocation leaves the usage; big's (KEEP_SIZE, size 0) counts: usage is allocated bytes");
    assertFalse(orphans().containsKey(0L), "reserved chunks are never orphans: nothing is stored for them");
  }

  /** Runs after every other test (their @Order is the default, lower): all replicas hold the same tables. */
  @Test
  @Order(Integer.MAX_VALUE)
  void everyReplicaAppliedTheSameState() throws Exception {
    long index = cluster.awaitLeader(Duration.ofSeconds(10)).lastAppliedIndex();
    Map<String, Map<String, String>> first = null;
    String firstId = null;
    for (String id : List.copyOf(cluster.running().keySet())) {
      cluster.awaitApplied(id, index, Duration.ofSeconds(30));
      Map<String, Map<String, String>> tables = new TreeMap<>();
      for (TableDef<?, ?> t : MetaTables.ALL) {
        if (t != MetaTables.SYSTEM) {
          tables.put(t.name(), render(cluster.server(id).stateMachine(), t));
        }
      }
      assertFalse(tables.get("xattrs").isEmpty(), "the tests left xattrs to compare");
      if (first == null) {
        first = tables;
        firstId = id;
      } else {
        assertEquals(first, tables, "replica " + id + " differs from " + firstId);
      }
    }
  }

  private static <K, V> Map<String, String> render(MetaStateMachine sm, TableDef<K, V> t) {
    Map<String, String> out = new TreeMap<>();
    // byte[] keys and values (client_calls, xattrs) by content: their toString is an identity hash.
    sm.dump(t, 1_000_000).forEach((k, v) -> out.put(k instanceof byte[] kb ? HexFormat.of().formatHex(kb) : k.toString(),
        v instanceof byte[] b ? HexFormat.of().formatHex(b) : v.toString()));
    return out;
  }

  private static Extent extent(int index, int lo, int hi) {
    return Extent.newBuilder().setIndex(index).setLo(lo).setHi(hi).build();
  }
}
