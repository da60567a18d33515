package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StorageClient;
import io.shoalfs.fuse.core.FsConfig;
import io.shoalfs.fuse.core.Namespace;
import io.shoalfs.fuse.ll.FuseError;
import io.shoalfs.fuse.ll.LowLevelFs;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.storage.testing.TestCluster;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The filesystem's low-level operations called directly (as the binding calls them), against a real cluster:
 * node id mapping, lookup counts, negative entries, umask and caller ids, setattr bits, listings and their
 * offsets, data through FileIo, errno of bad input.
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class LowLevelFsTest {
  static MetaClient meta;
  static StorageClient storage;
  static ShoalLowLevelFs fs;
  static long dir;

  record Req(int uid, int gid, int umask) implements LowLevelFs.Request {
    public int pid() {
      return 4242;
    }

    public boolean interrupted() {
      return false;
    }
  }

  static final Req ROOT = new Req(0, 0, 022);

  @BeforeAll
  static void start(TestCluster cluster) throws Exception {
    meta = MetaClient.connect(cluster.metaAddrs());
    storage = new StorageClient(meta);
    fs = ShoalLowLevelFs.over(meta, storage, io.shoalfs.common.Layout.ROOT_INO, FsConfig.DEFAULTS,
        CacheTimeouts.DEFAULTS, () -> 0);
    dir = fs.mkdir(ROOT, LowLevelFs.ROOT_ID, "llfs-" + System.nanoTime(), 0777).ino();
  }

  @AfterAll
  static void stop() {
    if (fs != null) {
      fs.fileIo().close();
    }
    if (storage != null) {
      storage.close();
    }
    if (meta != null) {
      meta.close();
    }
  }

  @Test
  void lookupCountsAndNegativeEntries() throws Exception {
    LowLevelFs.Entry missing = fs.lookup(ROOT, dir, "nope");
    assertEquals(0, missing.ino(), "negative entry");
    assertEquals(CacheTimeouts.DEFAULTS.negativeSec(), missing.entryTimeoutSec());

    LowLevelFs.Entry made = fs.mkdir(new Req(1000, 1001, 027), dir, "sub", 0777);
    assertEquals(Namespace.S_IFDIR | 0750, made.stat().mode(), "mode & ~umask");
    assertEquals(1000, made.stat().uid());
    assertEquals(1001, made.stat().gid());
    assertEquals(CacheTimeouts.DEFAULTS.attrSec(), made.attrTimeoutSec());
    LowLevelFs.Entry again = fs.lookup(ROOT, dir, "sub");
    assertEquals(made.ino(), again.ino());
    assertEquals(0, again.generation(), "inode numbers are never reused");
    assertTrue(fs.nodes().holds(made.ino()));
    fs.forget(made.ino(), 1);
    assertTrue(fs.nodes().holds(made.ino()), "one lookup left");
    fs.forget(made.ino(), 1);
    assertFalse(fs.nodes().holds(made.ino()), "all forgotten");
  }

  @Test
  void rootIsNodeOneAndStatShowsItsShoalNumber(TestCluster cluster) throws Exception {
    assertEquals(io.shoalfs.common.Layout.ROOT_INO, fs.getattr(ROOT, LowLevelFs.ROOT_ID, -1).stat().ino());
    Subvolume sv = cluster.client().createSubvolume("llfs-sv-" + System.nanoTime(), 1L << 30);
    ShoalLowLevelFs sub = ShoalLowLevelFs.over(meta, storage, sv.getRootIno(), FsConfig.DEFAULTS,
        CacheTimeouts.DEFAULTS, () -> 0);
    assertNotEquals(1, sv.getRootIno());
    assertEquals(sv.getRootIno(), sub.getattr(ROOT, LowLevelFs.ROOT_ID, -1).stat().ino());
    LowLevelFs.Entry d = sub.mkdir(ROOT, LowLevelFs.ROOT_ID, "in-sv", 0755);
    assertEquals(d.ino(), sub.lookup(ROOT, LowLevelFs.ROOT_ID, "in-sv").ino());
    assertEquals(0, fs.lookup(ROOT, LowLevelFs.ROOT_ID, "in-sv").ino(), "not in the root volume's root");
    assertEquals(1L << 30, sub.statfs(ROOT, LowLevelFs.ROOT_ID).blocks() * 4096);
  }

  @Test
  void setattrChangesOnlyTheBitsSet() throws Exception {
    LowLevelFs.Created c = fs.create(ROOT, dir, "attrs", 0666, 01 /* O_WRONLY */);
    long ino = c.entry().ino();
    fs.release(ROOT, ino, c.open().fh(), 01, 0, false);
    LowLevelFs.Stat before = fs.getattr(ROOT, ino, -1).stat();
    assertEquals(Namespace.S_IFREG | 0644, before.mode());

    LowLevelFs.Stat chmod = fs.setattr(ROOT, ino, new LowLevelFs.SetAttr(LowLevelFs.SetAttr.MODE,
        Namespace.S_IFREG | 0600, 0, 0, 0, 0, 0, 0), -1).stat();
    assertEquals(Namespace.S_IFREG | 0600, chmod.mode());
    assertEquals(before.mtimeNs(), chmod.mtimeNs());

    long t = 1_500_000_000_123_456_789L;
    LowLevelFs.Stat mtimeOnly = fs.setattr(ROOT, ino, new LowLevelFs.SetAttr(LowLevelFs.SetAttr.MTIME,
        0, 0, 0, 0, 0, t, 0), -1).stat();
    assertEquals(t, mtimeOnly.mtimeNs());
    assertEquals(before.atimeNs(), mtimeOnly.atimeNs(), "atime omitted");

    LowLevelFs.Stat atimeNow = fs.setattr(ROOT, ino, new LowLevelFs.SetAttr(
        LowLevelFs.SetAttr.ATIME | LowLevelFs.SetAttr.ATIME_NOW, 0, 0, 0, 0, 0, 0, 0), -1).stat();
    assertTrue(atimeNow.atimeNs() > t, "atime now");
    assertEquals(t, atimeNow.mtimeNs(), "mtime omitted");

    LowLevelFs.Stat owner = fs.setattr(ROOT, ino, new LowLevelFs.SetAttr(LowLevelFs.SetAttr.GID,
        0, 0, 77, 0, 0, 0, 0), -1).stat();
    assertEquals(77, owner.gid());
    assertEquals(0, owner.uid());

    LowLevelFs.Stat grown = fs.setattr(ROOT, ino, new LowLevelFs.SetAttr(LowLevelFs.SetAttr.SIZE,
        0, 0, 0, 12345, 0, 0, 0), -1).stat();
    assertEquals(12345, grown.size());
    assertEquals(Namespace.S_IFREG | 0600, grown.mode());
  }

  @Test
  void dataThroughFileIoAndSizeOfUnflushedWrites() throws Exception {
    LowLevelFs.Created c = fs.create(ROOT, dir, "data", 0644, 02 /* O_RDWR */);
    long ino = c.entry().ino();
    long fh = c.open().fh();
    byte[] bytes = "hello, low level".getBytes(StandardCharsets.UTF_8);
    ByteBuffer in = ByteBuffer.allocateDirect(bytes.length + 8);
    in.position(8);
    in.put(bytes);
    in.position(8);
    assertEquals(bytes.length, fs.write(ROOT, ino, fh, 100, in, 0));
    assertEquals(100 + bytes.length, fs.getattr(ROOT, ino, fh).stat().size(), "unflushed write counted");
    ByteBuffer out = ByteBuffer.allocateDirect(4096);
    int n = fs.read(ROOT, ino, fh, 100, 4096, out);
    assertEquals(bytes.length, n);
    byte[] got = new byte[n];
    out.get(0, got);
    assertArrayEquals(bytes, got);
    fs.flush(ROOT, ino, fh, 1);
    fs.release(ROOT, ino, fh, 02, 1, false);
    assertEquals(100 + bytes.length, meta.getAttr(ino).getSize(), "committed at flush");

    LowLevelFs.Open o = fs.open(ROOT, ino, 0);
    out.clear();
    assertEquals(100, fs.read(ROOT, ino, o.fh(), 0, 100, out));
    for (int i = 0; i < 100; i++) {
      assertEquals(0, out.get(i), "hole reads zeros");
    }
    fs.release(ROOT, ino, o.fh(), 0, 0, false);
    LowLevelFs.Open again = fs.open(ROOT, ino, 0);
    assertTrue(again.keepCache(), "data unchanged since the last open: the kernel keeps its pages");
    fs.release(ROOT, ino, again.fh(), 0, 0, false);
    fs.setattr(ROOT, ino, new LowLevelFs.SetAttr(LowLevelFs.SetAttr.SIZE, 0, 0, 0, 3, 0, 0, 0), -1);
    LowLevelFs.Open changed = fs.open(ROOT, ino, 0);
    assertFalse(changed.keepCache(), "truncated since: pages dropped");
    fs.release(ROOT, ino, changed.fh(), 0, 0, false);
  }

  @Test
  void listingsPageAndOffsetsStayValid() throws Exception {
    long d = fs.mkdir(ROOT, dir, "list", 0755).ino();
    int count = 1300; // more than two pages of 512
    for (int i = 0; i < count; i++) {
      fs.mknod(ROOT, d, String.format("f%05d", i), Namespace.S_IFREG | 0644, 0);
    }
    long fh = fs.opendir(ROOT, d, 0).fh();
    List<String> names = new ArrayList<>();
    List<Long> offsets = new ArrayList<>();
    long off = 0;
    while (true) {
      int[] taken = {0};
      fs.readdir(ROOT, d, fh, off, (name, ino, mode, next) -> {
        if (taken[0] == 100) {
          return false; // a small kernel buffer
        }
        taken[0]++;
        names.add(name);
        offsets.add(next);
        return true;
      });
      if (taken[0] == 0) {
        break;
      }
      off = offsets.get(offsets.size() - 1);
    }
    assertEquals(count + 2, names.size());
    assertEquals(".", names.get(0));
    assertEquals("..", names.get(1));
    assertEquals("f00000", names.get(2));
    assertEquals(String.format("f%05d", count - 1), names.get(names.size() - 1));
    // seekdir back to a cookie handed out earlier gives the same entry.
    String[] first = {null};
    fs.readdir(ROOT, d, fh, offsets.get(700), (name, ino, mode, next) -> {
      first[0] = name;
      return false;
    });
    assertEquals(names.get(701), first[0]);
    fs.releasedir(ROOT, d, fh);

    long fh2 = fs.opendir(ROOT, d, 0).fh();
    int[] plus = {0};
    fs.readdirplus(ROOT, d, fh2, 2, (name, e, next) -> {
      assertEquals(Namespace.S_IFREG | 0644, e.stat().mode());
      assertTrue(fs.nodes().holds(e.ino()) || plus[0] >= 0);
      return ++plus[0] < 10;
    });
    fs.releasedir(ROOT, d, fh2);
    assertEquals(10, plus[0]);
  }

  @Test
  void badInputGetsItsErrnoBeforeAnyCall() throws Exception {
    String longName = "x".repeat(256);
    FuseError e = assertThrows(FuseError.class, () -> fs.mkdir(ROOT, dir, longName, 0755));
    assertEquals(FuseError.ENAMETOOLONG, e.errno());
    assertEquals(FuseError.ENAMETOOLONG,
        assertThrows(FuseError.class, () -> fs.create(ROOT, dir, longName, 0644, 0)).errno());
    assertEquals(FuseError.ENAMETOOLONG, assertThrows(FuseError.class,
        () -> fs.rename(ROOT, dir, "a", dir, longName, 0)).errno());
    // 255 bytes of 3-byte characters is too long even though it is only 85 characters... 86 are.
    assertEquals(FuseError.ENAMETOOLONG,
        assertThrows(FuseError.class, () -> fs.mkdir(ROOT, dir, "\u20ac".repeat(86), 0755)).errno());
    assertEquals(FuseError.EINVAL,
        assertThrows(FuseError.class, () -> fs.rename(ROOT, dir, "a", dir, "b", 3)).errno());

    fs.mkdir(ROOT, dir, "exists", 0755);
    assertEquals(FuseError.EEXIST, assertThrows(FuseError.class, () -> fs.mkdir(ROOT, dir, "exists", 0755)).errno());
    fs.mkdir(ROOT, dir, "other", 0755);
    assertEquals(FuseError.EEXIST, assertThrows(FuseError.class,
        () -> fs.rename(ROOT, dir, "other", dir, "exists", 1 /* NOREPLACE */)).errno());
    assertEquals(FuseError.ENOENT, assertThrows(FuseError.class, () -> fs.unlink(ROOT, dir, "missing")).errno());
  }
}
