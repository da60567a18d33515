package io.shoalfs.fuse.ll;

import static org.junit.jupiter.api.Assertions.*;

import io.shoalfs.common.mount.MountInfo;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The binding through the kernel: {@link MemFs} mounted for real with {@link FuseSession}, driven by java.nio,
 * python3 and shell tools. Each test checks both sides: the request reached the filesystem with the right
 * arguments, and the reply (errno included) reached the caller.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FuseSessionTest {
  @TempDir static Path tmp;
  static Path mp;
  static MemFs fs;
  static FuseSession session;

  @BeforeAll
  static void mount() throws Exception {
    mp = Files.createDirectories(tmp.resolve("mnt"));
    // Short timeouts: most tests want each call to reach the filesystem.
    fs = new MemFs(0.2, 0.2);
    session = FuseSession.start(mp, List.of("fsname=memfs", "subtype=memfs", "allow_other", "default_permissions"),
        fs, FuseSession.Config.defaults());
  }

  @AfterAll
  static void unmount() {
    try {
      if (session != null) {
        session.close();
      }
    } finally {
      forceUnmount(mp);
    }
    assertFalse(MountInfo.hasFuseMount(mp), "mount left at " + mp);
  }

  static void forceUnmount(Path dir) {
    if (dir != null && MountInfo.hasFuseMount(dir)) {
      try {
        new ProcessBuilder("umount", "-l", dir.toString()).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("umount -l " + dir + ": " + e);
      }
    }
  }

  /** Requests the kernel sends in the background (release, releasedir, forget) arrive a little after the call. */
  static boolean awaitCall(String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!fs.seen(prefix)) {
      if (System.nanoTime() > deadline) {
        return false;
      }
      Thread.sleep(10);
    }
    return true;
  }

  static long ino(String path) throws FuseError {
    return fs.inoOf(path);
  }

  @Test
  void initNegotiatesLargeWritesAndTheWantedCapabilities() {
    LowLevelFs.ConnInfo c = fs.conn;
    assertNotNull(c);
    assertEquals(7, c.protoMajor());
    assertTrue(c.protoMinor() >= 23, "rename flags need protocol 7.23; got 7." + c.protoMinor());
    assertEquals(1 << 20, c.maxWrite());
    long want = c.want();
    for (int cap : new int[] {1, 1 << 1, 1 << 3, 1 << 10, 1 << 12, 1 << 13, 1 << 14, 1 << 18}) {
      assertTrue((want & cap) != 0, "capability " + Integer.toHexString(cap) + " not wanted: " + Long.toHexString(want));
    }
    assertEquals(0, want & (1 << 16), "writeback cache must be off by default");
    assertEquals(0, want & (1 << 20), "handle_killpriv must be off (the kernel clears setuid bits)");
  }

  @Test
  void filesAndDirectories() throws Exception {
    Path d = Files.createDirectory(mp.resolve("dir1"));
    assertTrue(fs.seen("mkdir 1 dir1 "));
    Path f = d.resolve("f");
    Files.writeString(f, "content");
    assertTrue(fs.seen("create " + ino("dir1") + " f "));
    assertEquals("content", Files.readString(f));
    assertEquals(7, Files.size(f));
    Files.writeString(f, "xy", StandardOpenOption.TRUNCATE_EXISTING);
    assertEquals("xy", Files.readString(f));
    assertTrue(fs.callsStarting("open " + ino("dir1/f")).stream().anyMatch(c -> c.endsWith("1001")),
        "O_TRUNC|O_WRONLY open reaches the filesystem (atomic_o_trunc): " + fs.callsStarting("open"));
    Files.createDirectory(d.resolve("sub"));
    try (Stream<Path> s = Files.list(d)) {
      assertEquals(Set.of("f", "sub"), s.map(p -> p.getFileName().toString()).collect(Collectors.toSet()));
    }
    assertTrue(fs.seen("opendir " + ino("dir1")) && awaitCall("releasedir " + ino("dir1")));
    assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(d.resolve("sub")));
    assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(d));
    assertThrows(NoSuchFileException.class, () -> Files.delete(d.resolve("missing")));
    assertThrows(NoSuchFileException.class, () -> Files.readAttributes(d.resolve("missing"),
        java.nio.file.attribute.BasicFileAttributes.class));
    Files.delete(d.resolve("sub"));
    assertTrue(fs.seen("rmdir " + ino("dir1") + " sub"));
    long fIno = ino("dir1/f");
    Files.delete(f);
    assertTrue(fs.seen("unlink " + ino("dir1") + " f"));
    Files.delete(d);
    // The kernel drops an unlinked, closed inode at once and forgets it: the lookup count goes back to 0.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (fs.lookups.getOrDefault(fIno, 0L) != 0 && System.nanoTime() < deadline) {
      Thread.sleep(20);
    }
    assertEquals(0L, fs.lookups.getOrDefault(fIno, 0L), "forget after unlink; calls: " + fs.callsStarting("forget"));
  }

  @Test
  void readdirPlusCountsOnlyEntriesTheKernelGot() throws Exception {
    Path d = Files.createDirectory(mp.resolve("many"));
    for (int i = 0; i < 300; i++) { // more than one 4 KiB readdir buffer holds, so some entries do not fit
      Files.createFile(d.resolve("file-with-a-longish-name-" + i));
    }
    Set<String> names = new TreeSet<>();
    try (Stream<Path> s = Files.list(d)) {
      s.forEach(p -> names.add(p.getFileName().toString()));
    } catch (Exception e) {
      fail(fs.callsStarting("readdir").toString(), e);
    }
    assertEquals(300, names.size(), fs.callsStarting("readdir").toString());
    assertTrue(fs.seen("readdirplus " + ino("many")), "readdirplus used: " + fs.callsStarting("readdir"));
    assertTrue(fs.callsStarting("readdir").size() >= 2, "several readdir calls with offsets");
    // ls -l style stat of every entry: readdirplus entries are cached, so no lookup is needed for most of them.
    for (String n : names) {
      Files.readAttributes(d.resolve(n), java.nio.file.attribute.BasicFileAttributes.class);
    }
  }

  @Test
  void symlinksHardLinksFifosAndDevices() throws Exception {
    Path d = Files.createDirectory(mp.resolve("types"));
    Path target = Files.writeString(d.resolve("target"), "t");
    Path link = Files.createSymbolicLink(d.resolve("sym"), Path.of("target"));
    assertTrue(fs.seen("symlink target " + ino("types") + " sym"));
    assertEquals(Path.of("target"), Files.readSymbolicLink(link));
    assertTrue(fs.seen("readlink " + ino("types/sym")));
    assertTrue(Files.isSymbolicLink(link));
    assertEquals("t", Files.readString(link));
    Files.createLink(d.resolve("hard"), target);
    assertTrue(fs.seen("link " + ino("types/target") + " " + ino("types") + " hard"));
    assertEquals(2, (int) Files.getAttribute(target, "unix:nlink"));
    assertThrows(FileAlreadyExistsException.class, () -> Files.createLink(d.resolve("hard"), target));
    String out = Py.run("""
        import os, stat, sys
        d = sys.argv[1]
        os.mkfifo(d + '/fifo', 0o640)
        os.mknod(d + '/null', 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(d + '/sock', 0o600 | stat.S_IFSOCK)
        a = os.lstat(d + '/fifo'); b = os.lstat(d + '/null'); c = os.lstat(d + '/sock')
        print(stat.S_ISFIFO(a.st_mode), oct(a.st_mode & 0o777), stat.S_ISCHR(b.st_mode), os.major(b.st_rdev),
              os.minor(b.st_rdev), stat.S_ISSOCK(c.st_mode))
        """, d.toString());
    assertEquals("True 0o640 True 1 3 True", out.strip());
    assertTrue(fs.seen("mknod " + ino("types") + " fifo 10640 0"), fs.callsStarting("mknod").toString());
    assertTrue(fs.seen("mknod " + ino("types") + " null 20600 259"), fs.callsStarting("mknod").toString());
  }

  @Test
  void renameWithFlags() throws Exception {
    Path d = Files.createDirectory(mp.resolve("ren"));
    Files.writeString(d.resolve("a"), "A");
    Files.writeString(d.resolve("b"), "B");
    String out = Py.run("""
        import ctypes, errno, os, sys
        d = sys.argv[1]
        libc = ctypes.CDLL(None, use_errno=True)
        def r2(a, b, flags):
            rc = libc.renameat2(-100, (d + '/' + a).encode(), -100, (d + '/' + b).encode(), flags)
            return 'ok' if rc == 0 else errno.errorcode[ctypes.get_errno()]
        print(r2('a', 'b', 1), r2('a', 'b', 2), open(d + '/a').read(), open(d + '/b').read(), r2('a', 'c', 2),
              r2('a', 'n', 1))
        """, d.toString());
    // NOREPLACE onto a name the kernel has cached fails in the VFS (EEXIST) before reaching the filesystem; the
    // EXCHANGE and the NOREPLACE onto a new name reach it with their flags.
    assertEquals("EEXIST ok B A ENOENT ok", out.strip());
    long dir = ino("ren");
    assertTrue(fs.seen("rename " + dir + " a " + dir + " b 2"), fs.callsStarting("rename").toString());
    assertTrue(fs.seen("rename " + dir + " a " + dir + " n 1"), fs.callsStarting("rename").toString());
    Files.move(d.resolve("n"), d.resolve("c"));
    assertTrue(fs.seen("rename " + dir + " n " + dir + " c 0"));
    assertEquals("B", Files.readString(d.resolve("c")));
  }

  @Test
  void setattrModesOwnersSizeAndTimes() throws Exception {
    Path f = Files.writeString(mp.resolve("attrs"), "0123456789");
    long i = ino("attrs");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
    assertTrue(fs.callsStarting("setattr " + i + " 1 100640").size() == 1, fs.callsStarting("setattr").toString());
    Files.setAttribute(f, "unix:uid", 1234);
    assertEquals(1234, (int) Files.getAttribute(f, "unix:uid"));
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
      ch.truncate(4);
    }
    assertEquals(4, Files.size(f));
    assertTrue(fs.calls.stream().anyMatch(c -> c.startsWith("setattr " + i + " ") && c.contains(" 4 ")
        && (Integer.parseInt(c.split(" ")[2], 16) & LowLevelFs.SetAttr.SIZE) != 0));
    FileTime mtimeBefore = Files.getLastModifiedTime(f);
    // touch -a -d: only atime, to an explicit time; mtime must stay (UTIME_OMIT for it).
    Py.exec(List.of("touch", "-a", "-d", "2001-02-03 04:05:06 UTC", f.toString()));
    String last = fs.callsStarting("setattr " + i).getLast();
    int valid = Integer.parseInt(last.split(" ")[2], 16);
    assertEquals(LowLevelFs.SetAttr.ATIME, valid & (LowLevelFs.SetAttr.ATIME | LowLevelFs.SetAttr.MTIME
        | LowLevelFs.SetAttr.ATIME_NOW | LowLevelFs.SetAttr.MTIME_NOW), last);
    assertEquals(981173106L * 1_000_000_000L, Long.parseLong(last.split(" ")[7]));
    Thread.sleep(300); // attr timeout 0.2 s
    assertEquals(981173106L, ((FileTime) Files.getAttribute(f, "unix:lastAccessTime")).toMillis() / 1000);
    assertEquals(mtimeBefore, Files.getLastModifiedTime(f));
    // touch -m: mtime to "now" (UTIME_NOW), atime omitted.
    Py.exec(List.of("touch", "-m", f.toString()));
    last = fs.callsStarting("setattr " + i).getLast();
    valid = Integer.parseInt(last.split(" ")[2], 16);
    assertEquals(LowLevelFs.SetAttr.MTIME | LowLevelFs.SetAttr.MTIME_NOW, valid & (LowLevelFs.SetAttr.ATIME
        | LowLevelFs.SetAttr.MTIME | LowLevelFs.SetAttr.ATIME_NOW | LowLevelFs.SetAttr.MTIME_NOW), last);
  }

  @Test
  void xattrs() throws Exception {
    Path f = Files.writeString(mp.resolve("xa"), "x");
    String out = Py.run("""
        import ctypes, errno, os, sys
        p = sys.argv[1]
        def err(fn):
            try:
                fn(); return 'ok'
            except OSError as e:
                return errno.errorcode[e.errno]
        libc = ctypes.CDLL(None, use_errno=True)
        os.setxattr(p, 'user.a', b'hello')
        print('create', err(lambda: os.setxattr(p, 'user.a', b'x', os.XATTR_CREATE)))
        print('replace', err(lambda: os.setxattr(p, 'user.none', b'x', os.XATTR_REPLACE)))
        print('get', os.getxattr(p, 'user.a').decode())
        print('probe', libc.getxattr(p.encode(), b'user.a', None, 0))
        buf = ctypes.create_string_buffer(2)
        n = libc.getxattr(p.encode(), b'user.a', buf, 2)
        print('small', errno.errorcode[ctypes.get_errno()] if n < 0 else n)
        os.setxattr(p, 'user.b', b'2')
        print('list', ','.join(sorted(os.listxattr(p))))
        print('listprobe', libc.listxattr(p.encode(), None, 0))
        n = libc.listxattr(p.encode(), buf, 2)
        print('listsmall', errno.errorcode[ctypes.get_errno()] if n < 0 else n)
        os.removexattr(p, 'user.b')
        print('gone', err(lambda: os.getxattr(p, 'user.b')))
        print('rmgone', err(lambda: os.removexattr(p, 'user.b')))
        """, f.toString());
    assertEquals("""
        create EEXIST
        replace ENODATA
        get hello
        probe 5
        small ERANGE
        list user.a,user.b
        listprobe 14
        listsmall ERANGE
        gone ENODATA
        rmgone ENODATA
        """, out);
    long i = ino("xa");
    assertTrue(fs.seen("setxattr " + i + " user.a 1 1"), "XATTR_CREATE flag reaches the filesystem");
    assertTrue(fs.seen("setxattr " + i + " user.none 1 2"));
    assertTrue(fs.seen("removexattr " + i + " user.b"));
  }

  @Test
  void fallocateFsyncAndStatfs() throws Exception {
    Path f = Files.writeString(mp.resolve("fa"), "abcdefgh");
    long i = ino("fa");
    Py.exec(List.of("fallocate", "-l", "8192", f.toString()));
    assertTrue(fs.seen("fallocate " + i + " 0 0 8192"));
    Py.exec(List.of("fallocate", "-n", "-o", "8192", "-l", "4096", f.toString()));
    assertTrue(fs.seen("fallocate " + i + " 1 8192 4096"));
    Py.exec(List.of("fallocate", "-p", "-o", "0", "-l", "4", f.toString()));
    assertTrue(fs.seen("fallocate " + i + " 3 0 4"));
    Thread.sleep(300);
    byte[] b = Files.readAllBytes(f);
    assertEquals(8192, b.length);
    assertEquals("\0\0\0\0efgh", new String(b, 0, 8, StandardCharsets.ISO_8859_1));
    String out = Py.run("""
        import errno, os, sys
        p = sys.argv[1]
        fd = os.open(p, os.O_RDWR); os.fsync(fd); os.fdatasync(fd); os.close(fd)
        fd = os.open(os.path.dirname(p), os.O_RDONLY); os.fsync(fd); os.close(fd)
        fd = os.open(p, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, 1) or print('ok')
        except OSError as e:
            print(errno.errorcode[e.errno])
        """, f.toString());
    assertTrue(fs.seen("fsync " + i + " false") && fs.seen("fsync " + i + " true"), fs.callsStarting("fsync").toString());
    assertTrue(fs.seen("fsyncdir 1 false"));
    var store = Files.getFileStore(mp);
    assertEquals(4096L * 1_000_000, store.getTotalSpace());
    assertEquals(4096L * 400_000, store.getUsableSpace());
    assertTrue(fs.seen("statfs"));
    assertEquals("ok", out.strip());
  }

  @Test
  void filesystemBugsBecomeEio() throws Exception {
    String out = Py.run("""
        import errno, os, sys
        try:
            os.stat(sys.argv[1] + '/boom'); print('ok')
        except OSError as e:
            print(errno.errorcode[e.errno])
        """, mp.toString());
    assertEquals("EIO", out.strip());
    assertTrue(session.isServing());
  }

  @Test
  void oneMebibyteWriteIsOneRequest() throws Exception {
    Path f = mp.resolve("big");
    ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
    for (int k = 0; k < buf.capacity(); k++) {
      buf.put(k, (byte) (k * 31));
    }
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      assertEquals(1 << 20, ch.write(buf, 0));
    }
    System.out.println("largest write request seen: " + fs.maxWrite.get() + " bytes");
    assertEquals(1 << 20, fs.maxWrite.get());
    ByteBuffer back = ByteBuffer.allocateDirect(1 << 20);
    try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
      while (back.hasRemaining() && ch.read(back) > 0) {
        // read to the end
      }
    }
    back.flip();
    buf.rewind();
    assertEquals(buf, back);
    System.out.println("largest read request seen: " + fs.maxRead.get() + " bytes");
    assertTrue(fs.maxRead.get() > 128 * 1024, "readahead raised past the kernel's 128 KiB default: " + fs.maxRead);
  }

  static final String LOCKER = """
      import errno, fcntl, signal, struct, sys
      mode, path = sys.argv[1], sys.argv[2]
      f = open(path, 'r+')
      def err(fn):
          try:
              fn(); return 'ok'
          except OSError as e:
              return errno.errorcode[e.errno]
      if mode == 'hold':
          fcntl.lockf(f, fcntl.LOCK_EX); print('locked')
          sys.stdin.read()
      elif mode == 'holdflock':
          fcntl.flock(f, fcntl.LOCK_EX); print('locked')
          sys.stdin.read()
      elif mode == 'try':
          print(err(lambda: fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)))
          r = fcntl.fcntl(f, fcntl.F_GETLK, struct.pack('hh4xqqi4x', fcntl.F_WRLCK, 0, 0, 0, 0))
          print('getlk', struct.unpack('hh4xqqi4x', r)[0] == fcntl.F_WRLCK)
          print(err(lambda: fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)))
      elif mode == 'wait':
          print('waiting'); fcntl.lockf(f, fcntl.LOCK_EX); print('got')
      elif mode == 'waitflock':
          print('waiting'); fcntl.flock(f, fcntl.LOCK_EX); print('got')
      elif mode == 'interrupt':
          def on_alarm(sig, frame):
              raise TimeoutError()
          signal.signal(signal.SIGALRM, on_alarm)
          signal.alarm(1)
          try:
              fcntl.lockf(f, fcntl.LOCK_EX); print('got')
          except TimeoutError:
              print('interrupted')
      """;

  @Test
  void locksWaitWithoutStallingOtherRequests() throws Exception {
    Path f = Files.writeString(mp.resolve("lockme"), "data");
    long i = ino("lockme");
    Process holder = Py.start(LOCKER, "hold", f.toString());
    Process waiter = null;
    try {
      BufferedReader h = new BufferedReader(new InputStreamReader(holder.getInputStream()));
      assertEquals("locked", h.readLine());
      assertEquals("EAGAIN\ngetlk True\nok\n", Py.run(LOCKER, "try", f.toString()));
      assertTrue(fs.seen("getlk " + i + " 1 0 " + Long.MAX_VALUE));
      assertTrue(fs.seen("setlk " + i + " 1 0 " + Long.MAX_VALUE + " false"));
      assertEquals("interrupted\n", Py.run(LOCKER, "interrupt", f.toString()));
      assertTrue(fs.seen("interrupted"), "the F_SETLKW was interrupted in the filesystem (EINTR)");

      waiter = Py.start(LOCKER, "wait", f.toString());
      BufferedReader w = new BufferedReader(new InputStreamReader(waiter.getInputStream()));
      assertEquals("waiting", w.readLine());
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (fs.callsStarting("setlk " + i + " 1 0 " + Long.MAX_VALUE + " true").size() < 3
          && System.nanoTime() < deadline) {
        Thread.sleep(20); // hold, interrupt, wait: three blocking requests
      }
      assertEquals(3, fs.callsStarting("setlk " + i + " 1 0 " + Long.MAX_VALUE + " true").size());
      // While that request waits in the filesystem, others are served.
      long t0 = System.nanoTime();
      for (int k = 0; k < 200; k++) {
        Files.writeString(mp.resolve("while-waiting"), "k" + k);
        assertEquals("k" + k, Files.readString(mp.resolve("while-waiting")));
      }
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < 10_000, "200 write+read rounds took " + ms + " ms while a lock waited");
      assertTrue(waiter.isAlive(), "the waiter still waits");
      holder.getOutputStream().close(); // the holder exits: its close releases the lock (flush with lock_owner)
      assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
      assertEquals("got", w.readLine());
      assertTrue(waiter.waitFor(10, TimeUnit.SECONDS));
      assertTrue(fs.seen("flush " + i), "close sends flush with the lock owner");
    } finally {
      holder.destroyForcibly();
      if (waiter != null) {
        waiter.destroyForcibly();
      }
    }
  }

  @Test
  void flockLocks() throws Exception {
    Path f = Files.writeString(mp.resolve("flockme"), "data");
    long i = ino("flockme");
    Process holder = Py.start(LOCKER, "holdflock", f.toString());
    Process waiter = null;
    try {
      BufferedReader h = new BufferedReader(new InputStreamReader(holder.getInputStream()));
      assertEquals("locked", h.readLine());
      assertTrue(fs.seen("flock " + i + " 2"), fs.callsStarting("flock").toString());
      String out = Py.run("""
          import errno, fcntl, sys
          f = open(sys.argv[1], 'r+')
          try:
              fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB); print('ok')
          except OSError as e:
              print(errno.errorcode[e.errno])
          """, f.toString());
      assertEquals("EAGAIN", out.strip());
      assertTrue(fs.seen("flock " + i + " 6"));
      waiter = Py.start(LOCKER, "waitflock", f.toString());
      BufferedReader w = new BufferedReader(new InputStreamReader(waiter.getInputStream()));
      assertEquals("waiting", w.readLine());
      Thread.sleep(300);
      assertTrue(waiter.isAlive());
      holder.getOutputStream().close();
      assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
      assertEquals("got", w.readLine());
      assertTrue(fs.seen("release " + i + " ") && fs.callsStarting("release " + i).stream()
          .anyMatch(c -> c.endsWith("true")), "release with flock_release: " + fs.callsStarting("release " + i));
    } finally {
      holder.destroyForcibly();
      if (waiter != null) {
        waiter.destroyForcibly();
      }
    }
  }

  @Test
  void callerContextReachesTheFilesystem() throws Exception {
    // Another user must be able to reach the mount (allow_other) through the temp directories.
    for (Path p = mp.getParent(); p != null && p.startsWith(tmp.getParent()) && !p.equals(tmp.getParent());
        p = p.getParent()) {
      Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    }
    Py.exec(List.of("setpriv", "--reuid=4321", "--regid=4322", "--clear-groups", "sh", "-c",
        "umask 027 && mkdir " + mp.resolve("owned")));
    assertEquals(4321, (int) Files.getAttribute(mp.resolve("owned"), "unix:uid"));
    assertEquals(4322, (int) Files.getAttribute(mp.resolve("owned"), "unix:gid"));
    // mkdir gets the mode before the umask (the binding does not ask for it to be applied: DONT_MASK off, so the
    // kernel applied it already) and MemFs applies req.umask() again, which changes nothing here.
    assertEquals("rwxr-x---", PosixFilePermissions.toString(Files.getPosixFilePermissions(mp.resolve("owned"))));
  }

  @Test
  void lookupOfASymlinkItselfIsNotFollowed() throws Exception {
    Path l = Files.createSymbolicLink(mp.resolve("dangling"), Path.of("nowhere"));
    assertTrue(Files.exists(l, LinkOption.NOFOLLOW_LINKS));
    assertFalse(Files.exists(l));
  }
}
