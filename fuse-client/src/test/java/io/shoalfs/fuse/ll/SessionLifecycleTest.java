package io.shoalfs.fuse.ll;

import static org.junit.jupiter.api.Assertions.*;

import io.shoalfs.common.mount.MountInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Mount life cycle and kernel cache invalidation: long attr/entry timeouts (60 s) so that only a notification
 * can explain a change seen through the mount.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class SessionLifecycleTest {
  @TempDir Path tmp;

  private static boolean inProcMounts(Path mp) throws IOException {
    return Files.readAllLines(Path.of("/proc/mounts")).stream().anyMatch(l -> l.split(" ")[1].equals(mp.toString()));
  }

  private static void cleanup(FuseSession s, Path mp) {
    try {
      if (s != null) {
        s.close();
      }
    } finally {
      FuseSessionTest.forceUnmount(mp);
    }
  }

  /** Polls (bounded) until the check holds; notifications are sent from the notifier thread, a moment later. */
  private static boolean eventually(IoCheck check) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (System.nanoTime() < deadline) {
      if (check.ok()) {
        return true;
      }
      Thread.sleep(20);
    }
    return check.ok();
  }

  /** open + read(2) to EOF, with no stat in between. */
  private static String rawRead(Path f) throws IOException {
    try (java.io.InputStream in = Files.newInputStream(f)) {
      byte[] buf = new byte[4096];
      StringBuilder b = new StringBuilder();
      for (int n; (n = in.read(buf, 0, buf.length)) > 0; ) {
        b.append(new String(buf, 0, n, java.nio.charset.StandardCharsets.UTF_8));
      }
      return b.toString();
    }
  }

  interface IoCheck {
    boolean ok() throws Exception;
  }

  @Test
  void closeUnmountsCleanlyAndTwiceIsHarmless() throws Exception {
    Path mp = Files.createDirectories(tmp.resolve("m1"));
    MemFs fs = new MemFs(1, 1);
    FuseSession s = FuseSession.start(mp, List.of("fsname=memfs"), fs, FuseSession.Config.defaults());
    try {
      assertTrue(s.isServing());
      assertTrue(inProcMounts(mp));
      assertTrue(MountInfo.at(mp).orElseThrow().fsType().startsWith("fuse"));
      Files.writeString(mp.resolve("f"), "x");
      assertFalse(s.awaitExit(Duration.ofMillis(50)));
      s.close();
      assertFalse(s.isServing());
      assertTrue(s.awaitExit(Duration.ofMillis(10)));
      assertFalse(inProcMounts(mp), "nothing left in /proc/mounts");
      assertTrue(fs.destroyed, "destroy reached the filesystem");
      s.close();
      assertFalse(inProcMounts(mp));
    } finally {
      cleanup(s, mp);
    }
  }

  @Test
  void someoneElseUnmountingEndsTheSession() throws Exception {
    Path mp = Files.createDirectories(tmp.resolve("m2"));
    FuseSession s = FuseSession.start(mp, List.of(), new MemFs(1, 1), FuseSession.Config.defaults());
    try {
      Py.exec(List.of("umount", mp.toString()));
      assertTrue(s.awaitExit(Duration.ofSeconds(10)), "the loop ends when the kernel drops the mount");
      assertFalse(s.isServing());
    } finally {
      cleanup(s, mp);
    }
    assertFalse(inProcMounts(mp));
  }

  @Test
  void failedStartLeavesNoMount() throws Exception {
    Path mp = Files.createDirectories(tmp.resolve("m3"));
    IOException e = assertThrows(IOException.class,
        () -> FuseSession.start(mp, List.of("no_such_option"), new MemFs(1, 1), FuseSession.Config.defaults()));
    assertTrue(e.getMessage().contains("no_such_option"), e.getMessage());
    assertFalse(inProcMounts(mp));
    // A filesystem whose root cannot be stat'ed never counts as mounted.
    MemFs broken = new MemFs(1, 1) {
      @Override
      public synchronized Attr getattr(Request req, long ino, long fh) throws FuseError {
        throw new FuseError(FuseError.EIO, "broken");
      }
    };
    assertThrows(IOException.class, () -> FuseSession.start(mp, List.of(), broken, FuseSession.Config.defaults()));
    assertFalse(inProcMounts(mp));
    assertThrows(IOException.class,
        () -> FuseSession.start(tmp.resolve("missing"), List.of(), new MemFs(1, 1), FuseSession.Config.defaults()));
  }

  @Test
  void invalidateInodeShowsNewContentAndSizeThroughTheCache() throws Exception {
    Path mp = Files.createDirectories(tmp.resolve("m4"));
    MemFs fs = new MemFs(60, 60);
    FuseSession s = FuseSession.start(mp, List.of(), fs, FuseSession.Config.defaults());
    try {
      Path f = Files.writeString(mp.resolve("cached"), "old!");
      assertEquals("old!", rawRead(f));
      long ino = fs.inoOf("cached");
      fs.replaceContent(ino, "new content".getBytes());
      // Pages and size are cached (open keeps the cache, attributes for 60 s): the kernel still shows the old
      // file. rawRead never stats: a stat after a read would refresh the attributes (the read invalidated
      // atime) and auto_inval_data would then drop the pages by itself.
      assertEquals("old!", rawRead(f));
      s.notifier().invalidateInode(ino, 0, -1);
      assertTrue(eventually(() -> rawRead(f).equals("new content")), "content and size after invalidation");
      // Attributes only (length 0): the new size and mtime come in; auto_inval_data then drops the stale pages.
      fs.replaceContent(ino, "new content, longer".getBytes());
      assertEquals("new content", rawRead(f));
      s.notifier().invalidateInode(ino, 0, 0);
      assertTrue(eventually(() -> rawRead(f).equals("new content, longer")));
      assertEquals(19, Files.size(f));
      // Unknown inodes are ignored (ENOENT from the kernel), the session keeps serving.
      s.notifier().invalidateInode(999_999, 0, -1);
      s.notifier().invalidateEntry(1, "never-looked-up");
      Thread.sleep(100);
      assertEquals("new content, longer", rawRead(f));
    } finally {
      cleanup(s, mp);
    }
  }

  @Test
  void invalidateEntryAndDeleteDropCachedNames() throws Exception {
    Path mp = Files.createDirectories(tmp.resolve("m5"));
    MemFs fs = new MemFs(60, 60);
    FuseSession s = FuseSession.start(mp, List.of(), fs, FuseSession.Config.defaults());
    try {
      Path a = Files.writeString(mp.resolve("a"), "A");
      Path b = Files.writeString(mp.resolve("b"), "B");
      long bIno = fs.inoOf("b");
      fs.removeName(1, "a");
      fs.removeName(1, "b");
      assertTrue(Files.exists(a) && Files.exists(b), "names are cached for 60 s");
      int lookups = fs.callsStarting("lookup 1 a").size();
      s.notifier().invalidateEntry(1, "a");
      assertTrue(eventually(() -> !Files.exists(a)), "entry invalidated");
      assertTrue(fs.callsStarting("lookup 1 a").size() > lookups, "the kernel asked again");
      s.notifier().deleted(1, bIno, "b");
      assertTrue(eventually(() -> !Files.exists(b)), "deleted entry dropped");
      assertThrows(NoSuchFileException.class, () -> Files.readString(b));
    } finally {
      cleanup(s, mp);
    }
  }
}
