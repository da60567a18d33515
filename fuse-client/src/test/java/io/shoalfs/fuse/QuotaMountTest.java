package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hard quotas through a real mount of a subvolume (acceptance 1): dd past a 10 MiB quota fails with "Disk
 * quota exceeded" at the quota (the stated bound: the volume never holds more than its quota; the writer is
 * refused at most one reservation unit early when other open files hold reservations, here none: exactly at
 * it), the inode quota likewise, resize up lets writes continue, a seeded random workload leaves the usage equal
 * to what a walk of the tree counts, and df / df -i show the quota and the live usage.
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 240, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class QuotaMountTest {
  static final long MI = 1 << 20;

  @TempDir
  Path tmp;

  record Result(int code, String out) {}

  static Result sh(String script) throws IOException, InterruptedException {
    Process p = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("timed out: " + script);
    }
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    return new Result(p.exitValue(), out);
  }

  static String unique(String name) {
    return name + "-" + System.nanoTime();
  }

  /** df's figures for the mount: size, used, avail (bytes), inodes total and used. */
  static long[] df(Path mp) throws Exception {
    // What `df -B1` and `df -i` show, in one call (--output cannot be combined with -i).
    Result r = sh("df -B1 --output=size,used,avail,itotal,iused " + mp + " | tail -1");
    String[] f = r.out().trim().split("\\s+");
    assertEquals(5, f.length, r.out());
    long[] out = new long[5];
    for (int i = 0; i < 5; i++) {
      out[i] = Long.parseLong(f[i]);
    }
    return out;
  }

  @Test
  void ddPastTheQuotaFailsWithDiskQuotaExceededAtTheQuotaAndResizeLetsItContinue(TestCluster cluster)
      throws Exception {
    String name = unique("quota-dd");
    MetaClient admin = cluster.client();
    long quota = 10 * MI;
    admin.createSubvolume(name, quota, 0);
    try (TestMount m = TestMount.open(cluster, name, tmp, "dd")) {
      Path f = m.root().resolve("big");
      long[] d0 = df(m.root());
      assertEquals(quota, d0[0], "df shows the quota as the size");
      assertEquals(0, d0[1]);
      assertEquals(quota, d0[2]);

      Result dd = sh("dd if=/dev/zero of=" + f + " bs=1M count=20 2>&1");
      System.out.println("dd past a 10 MiB quota: exit " + dd.code() + "\n" + dd.out());
      assertNotEquals(0, dd.code(), dd.out());
      assertTrue(dd.out().contains("Disk quota exceeded"), dd.out());
      long size = Files.size(f);
      System.out.println("written before EDQUOT: " + size + " bytes of a " + quota + " byte quota");
      assertEquals(quota, size, "dd stops at the quota: no overshoot, and no reservation held elsewhere");
      Subvolume sv = admin.getSubvolume(name);
      assertEquals(quota, sv.getUsedBytes());
      awaitEquals(0L, () -> admin.getSubvolume(name).getReservedBytes(), "the closed file's reservation came back");
      long[] d1 = df(m.root());
      assertEquals(quota, d1[1], "df: used = the quota");
      assertEquals(0, d1[2], "df: nothing available");
      Result more = sh("echo more >> " + f);
      assertNotEquals(0, more.code());
      assertTrue(more.out().contains("Disk quota exceeded"), more.out());
      assertEquals(quota, Files.size(f), "a refused write changes nothing");

      // Resize up: writes continue, up to the new quota.
      admin.resizeSubvolume(name, 16 * MI, null);
      assertEquals(16 * MI, df(m.root())[0]);
      Result again = sh("dd if=/dev/zero of=" + f + " bs=1M count=4 oflag=append conv=notrunc 2>&1");
      assertEquals(0, again.code(), again.out());
      assertEquals(14 * MI, Files.size(f));
      Result over = sh("dd if=/dev/zero of=" + f + " bs=1M count=4 oflag=append conv=notrunc 2>&1");
      assertTrue(over.out().contains("Disk quota exceeded"), over.out());
      assertEquals(16 * MI, Files.size(f));

      // Resize below the usage is refused; deleting the file frees it all.
      assertEquals(io.shoalfs.proto.meta.Code.EDQUOT, assertMeta(() -> admin.resizeSubvolume(name, 8 * MI, null)));
      Files.delete(f);
      // The kernel sends the last dd's release after dd exits: until then the unlinked file is still open.
      awaitEquals(0L, () -> admin.getSubvolume(name).getUsedBytes(), "deleting frees the space");
      awaitEquals(16 * MI, () -> df(m.root())[2], "df: all available again");
    } finally {
      admin.deleteSubvolume(name, true);
    }
  }

  interface MetaCall {
    void run() throws Exception;
  }

  interface Probe<T> {
    T get() throws Exception;
  }

  /** Polls until {@code probe} gives {@code expected} (5 s at most, the kernel's release is asynchronous). */
  static <T> void awaitEquals(T expected, Probe<T> probe, String what) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    T got = probe.get();
    while (!expected.equals(got) && System.nanoTime() < deadline) {
      Thread.sleep(50);
      got = probe.get();
    }
    assertEquals(expected, got, what);
  }

  static io.shoalfs.proto.meta.Code assertMeta(MetaCall c) throws Exception {
    try {
      c.run();
    } catch (io.shoalfs.client.MetaException e) {
      return e.code();
    }
    throw new AssertionError("expected a MetaException");
  }

  @Test
  void theInodeQuotaRefusesCreateMkdirSymlinkAndMknod(TestCluster cluster) throws Exception {
    String name = unique("quota-inodes");
    MetaClient admin = cluster.client();
    admin.createSubvolume(name, 10 * MI, 10);
    try (TestMount m = TestMount.open(cluster, name, tmp, "inodes")) {
      Path r = m.root();
      Result ok = sh("cd " + r + " && mkdir d && touch d/a d/b c1 c2 c3 c4 c5 && ln -s c1 l");
      assertEquals(0, ok.code(), ok.out());
      long[] d = df(r);
      assertEquals(10, d[3], "df -i: the inode quota");
      assertEquals(10, d[4], "df -i: root, d, 7 files, 1 symlink");
      for (String cmd : List.of("touch " + r + "/x", "mkdir " + r + "/y", "ln -s c1 " + r + "/z",
          "mkfifo " + r + "/p")) {
        Result refused = sh(cmd);
        assertNotEquals(0, refused.code(), cmd);
        assertTrue(refused.out().contains("Disk quota exceeded"), cmd + ": " + refused.out());
      }
      Result link = sh("ln " + r + "/c1 " + r + "/hard");
      assertEquals(0, link.code(), "a hard link is a name, not an inode: " + link.out());
      Files.delete(r.resolve("c5"));
      assertEquals(0, sh("touch " + r + "/x").code(), "a freed inode can be used again");
      admin.resizeSubvolume(name, null, 12L);
      assertEquals(0, sh("mkdir " + r + "/y && touch " + r + "/y/z").code());
      assertEquals(12, df(r)[4]);
    } finally {
      admin.deleteSubvolume(name, true);
    }
  }

  /**
   * A seeded random workload of writes (sequential, overwrites, sparse far past the end), truncates, unlinks,
   * hard links and renames across directories (also over existing files); then the usage equals what a walk of
   * the tree counts: the allocated bytes (st_blocks * 512, each inode once) and the inodes.
   */
  @Test
  void afterARandomWorkloadUsageEqualsAWalkOfTheTree(TestCluster cluster) throws Exception {
    long seed = Long.getLong("shoal.quota.seed", System.nanoTime());
    System.out.println("QuotaMountTest workload seed " + seed + " (-Dshoal.quota.seed=" + seed + " repeats it)");
    Random rnd = new Random(seed);
    String name = unique("quota-walk");
    MetaClient admin = cluster.client();
    long quota = 2048 * MI;
    long root = admin.createSubvolume(name, quota, 0).getRootIno();
    try (TestMount m = TestMount.open(cluster, name, tmp, "walk")) {
      Path r = m.root();
      List<Path> dirs = new ArrayList<>(List.of(r));
      for (int i = 0; i < 4; i++) {
        dirs.add(Files.createDirectories(r.resolve("d" + i).resolve("sub")));
      }
      List<Path> files = new ArrayList<>();
      byte[] buf = new byte[2 * (int) MI];
      rnd.nextBytes(buf);
      Map<String, Integer> ops = new HashMap<>();
      for (int step = 0; step < 300; step++) {
        int op = rnd.nextInt(10);
        if (files.isEmpty() || op <= 3) {
          Path f = files.isEmpty() || rnd.nextBoolean() ? dirs.get(rnd.nextInt(dirs.size())).resolve("f" + step)
              : files.get(rnd.nextInt(files.size()));
          long off = switch (rnd.nextInt(4)) {
            case 0 -> 0;
            case 1 -> rnd.nextInt(8 * (int) MI);               // within or just past the end
            case 2 -> (long) rnd.nextInt(64) * (4 * MI) + rnd.nextInt(4096); // sparse, far out
            default -> Files.exists(f) ? Files.size(f) : 0;      // append
          };
          int len = 1 + rnd.nextInt(rnd.nextBoolean() ? 10_000 : buf.length);
          try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(buf, 0, len), off);
          }
          if (!files.contains(f)) {
            files.add(f);
          }
          ops.merge("write", 1, Integer::sum);
        } else if (op == 4) {
          Path f = files.get(rnd.nextInt(files.size()));
          try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            long size = raf.length();
            raf.setLength(rnd.nextBoolean() ? (size == 0 ? 0 : rnd.nextLong(size)) : size + rnd.nextInt(8 * (int) MI));
          }
          ops.merge("truncate", 1, Integer::sum);
        } else if (op == 5) {
          Path f = files.remove(rnd.nextInt(files.size()));
          Files.delete(f);
          ops.merge("unlink", 1, Integer::sum);
        } else if (op == 6 || op == 7) {
          Path f = files.get(rnd.nextInt(files.size()));
          Path to;
          if (rnd.nextBoolean() && files.size() > 1) {
            to = files.get(rnd.nextInt(files.size())); // over an existing file (maybe itself)
          } else {
            to = dirs.get(rnd.nextInt(dirs.size())).resolve("r" + step);
          }
          Files.move(f, to, StandardCopyOption.REPLACE_EXISTING);
          if (!f.equals(to)) {
            files.remove(f);
            if (!files.contains(to)) {
              files.add(to);
            }
          }
          ops.merge("rename", 1, Integer::sum);
        } else if (op == 8) {
          Path f = files.get(rnd.nextInt(files.size()));
          Path l = dirs.get(rnd.nextInt(dirs.size())).resolve("h" + step);
          Files.createLink(l, f);
          files.add(l);
          ops.merge("link", 1, Integer::sum);
        } else {
          Path d = dirs.get(1 + rnd.nextInt(dirs.size() - 1));
          Files.createDirectories(d.resolve("e" + step));
          ops.merge("mkdir", 1, Integer::sum);
        }
      }
      System.out.println("workload: " + ops);
      // Every file is closed; the kernel's releases are asynchronous: wait until no reservation is held.
      awaitEquals(0L, () -> admin.getSubvolume(name).getReservedBytes(), "every file is closed: nothing reserved");
      // The walk: every inode once (hard links), its st_blocks; directories and symlinks allocate nothing here.
      Result walk = sh("find " + r + " -printf '%i %b\\n' | sort -u");
      assertEquals(0, walk.code(), walk.out());
      Map<Long, Long> blocks = new HashMap<>();
      for (String line : walk.out().split("\n")) {
        if (!line.isBlank()) {
          String[] f = line.trim().split(" ");
          blocks.merge(Long.parseLong(f[0]), Long.parseLong(f[1]), Math::max);
        }
      }
      long walkedBytes = blocks.values().stream().mapToLong(b -> b * 512).sum();
      // Files unlinked while the kernel had not sent their release yet stay counted until it arrives.
      awaitEquals(List.of(walkedBytes, (long) blocks.size()), () -> List.of(admin.statFs(root).getUsedBytes(),
          admin.statFs(root).getInodesUsed()), "seed " + seed + ": usage = the walk's (bytes, inodes)");
      StatFsReply s = admin.statFs(root);
      System.out.println("walk: " + blocks.size() + " inodes, " + walkedBytes + " bytes; statfs: "
          + s.getInodesUsed() + " inodes, " + s.getUsedBytes() + " bytes");
      assertEquals(walkedBytes, s.getUsedBytes(), "seed " + seed + ": used bytes = allocated bytes of the tree");
      assertEquals(blocks.size(), s.getInodesUsed(), "seed " + seed + ": inodes");
      Result du = sh("du -s -B1 " + r + " | cut -f1");
      assertEquals(walkedBytes, Long.parseLong(du.out().trim()), "du agrees");
      long[] d = df(r);
      assertEquals(quota, d[0]);
      assertEquals(s.getUsedBytes(), d[1], "df shows the live usage");
      assertEquals(blocks.size(), d[4], "df -i shows the inodes");
      awaitEquals(0L, () -> admin.getSubvolume(name).getReservedBytes(), "every file is closed: nothing reserved");
    } finally {
      admin.deleteSubvolume(name, true);
    }
  }
}
