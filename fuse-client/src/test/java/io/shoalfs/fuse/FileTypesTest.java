package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.storage.testing.TestCluster;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every op family through the kernel on a real mount, with the real tools: symlinks, hard links, FIFOs and
 * devices, xattrs, one-time utimensat, RENAME_EXCHANGE, setgid directories, fallocate and st_blocks.
 */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class FileTypesTest {
  @TempDir
  static Path tmp;
  static TestMount mount;

  @BeforeAll
  static void mount(TestCluster cluster) throws IOException {
    mount = TestMount.open(cluster, tmp, "types");
  }

  @AfterAll
  static void unmount() {
    if (mount != null) {
      mount.close();
    }
  }

  /** Runs a command; returns its stdout (trimmed), failing the test on a non-zero exit. */
  static String run(String... cmd) throws Exception {
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
    assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", cmd));
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
    return out;
  }

  static String py(String script, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("python3", "-c", script));
    cmd.addAll(Arrays.asList(args));
    return run(cmd.toArray(String[]::new));
  }

  @Test
  void symlinksAndReadlink() throws Exception {
    Path d = Files.createDirectory(mount.root().resolve("sym"));
    Files.writeString(d.resolve("target.txt"), "via link");
    Path link = Files.createSymbolicLink(d.resolve("link"), Path.of("target.txt"));
    assertEquals(Path.of("target.txt"), Files.readSymbolicLink(link));
    assertEquals("via link", Files.readString(link));
    assertTrue(Files.isSymbolicLink(link));
    assertEquals(10, (Long) Files.getAttribute(link, "unix:size", LinkOption.NOFOLLOW_LINKS));
    Files.createSymbolicLink(d.resolve("loop1"), Path.of("loop2"));
    Files.createSymbolicLink(d.resolve("loop2"), Path.of("loop1"));
    FileSystemException loop = assertThrows(FileSystemException.class, () -> Files.readString(d.resolve("loop1")));
    assertTrue(String.valueOf(loop.getReason()).contains("symbolic links"), loop.getReason());
    // lchown through the kernel on the link itself
    run("chown", "-h", "123:456", link.toString());
    assertEquals(123, (Integer) Files.getAttribute(link, "unix:uid", LinkOption.NOFOLLOW_LINKS));
    assertEquals(0, (Integer) Files.getAttribute(d.resolve("target.txt"), "unix:uid"), "target untouched");
  }

  @Test
  void hardLinksCountAndShareData() throws Exception {
    Path d = Files.createDirectory(mount.root().resolve("hard"));
    Path f = Files.writeString(d.resolve("f"), "shared");
    Files.createLink(d.resolve("g"), f);
    assertEquals(2, (Integer) Files.getAttribute(f, "unix:nlink"));
    assertEquals(Files.getAttribute(f, "unix:ino"), Files.getAttribute(d.resolve("g"), "unix:ino"));
    Files.writeString(d.resolve("g"), "changed");
    assertEquals("changed", Files.readString(f));
    Files.delete(f);
    assertEquals(1, (Integer) Files.getAttribute(d.resolve("g"), "unix:nlink"));
    FileSystemException dirLink = assertThrows(FileSystemException.class,
        () -> Files.createLink(d.resolve("dirlink"), mount.root().resolve("hard")));
    assertTrue(String.valueOf(dirLink.getReason()).contains("not permitted"), dirLink.getReason());
  }

  @Test
  void fifosSocketsAndDevices() throws Exception {
    Path d = Files.createDirectory(mount.root().resolve("nodes"));
    run("mkfifo", d.resolve("fifo").toString());
    run("mknod", d.resolve("chr").toString(), "c", "1", "3");
    run("mknod", d.resolve("blk").toString(), "b", "7", "0");
    assertEquals("fifo", run("stat", "-c", "%F", d.resolve("fifo").toString()));
    assertEquals("character special file 1:3", run("stat", "-c", "%F %Hr:%Lr", d.resolve("chr").toString()));
    assertEquals("block special file 7:0", run("stat", "-c", "%F %Hr:%Lr", d.resolve("blk").toString()));
    py("import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])", d.resolve("sock").toString());
    assertEquals("socket", run("stat", "-c", "%F", d.resolve("sock").toString()));
    // A FIFO works through the kernel (the data never reaches Shoal).
    String got = py("import os,sys,threading\n"
        + "p=sys.argv[1]\n"
        + "t=threading.Thread(target=lambda: open(p,'w').write('through the fifo'))\n"
        + "t.start(); print(open(p).read()); t.join()", d.resolve("fifo").toString());
    assertEquals("through the fifo", got);
  }

  @Test
  void xattrsSetGetListRemoveAndFlags() throws Exception {
    Path f = Files.writeString(mount.root().resolve("xattr.txt"), "x");
    String script = "import os,sys,errno\n"
        + "p=sys.argv[1]\n"
        + "os.setxattr(p,'user.a',b'one')\n"
        + "os.setxattr(p,'user.b',b'')\n"
        + "print(os.getxattr(p,'user.a').decode())\n"
        + "print(sorted(os.listxattr(p)))\n"
        + "try:\n  os.setxattr(p,'user.a',b'x',os.XATTR_CREATE)\nexcept OSError as e: print(errno.errorcode[e.errno])\n"
        + "try:\n  os.setxattr(p,'user.c',b'x',os.XATTR_REPLACE)\nexcept OSError as e: print(errno.errorcode[e.errno])\n"
        + "try:\n  os.setxattr(p,'user.big',b'x'*65537)\nexcept OSError as e: print(errno.errorcode[e.errno])\n"
        + "os.removexattr(p,'user.a')\n"
        + "try:\n  os.getxattr(p,'user.a')\nexcept OSError as e: print(errno.errorcode[e.errno])\n"
        + "print(sorted(os.listxattr(p)))\n";
    assertEquals(String.join("\n", "one", "['user.a', 'user.b']", "EEXIST", "ENODATA", "E2BIG", "ENODATA",
        "['user.b']"), py(script, f.toString()));
  }

  @Test
  void oneTimeUtimensAndRenameExchange() throws Exception {
    Path f = Files.writeString(mount.root().resolve("times.txt"), "t");
    run("touch", "-m", "-d", "2001-02-03 04:05:06", f.toString());
    FileTime atimeBefore = (FileTime) Files.getAttribute(f, "unix:lastAccessTime");
    assertEquals("2001-02-03 04:05:06", run("date", "-r", f.toString(), "+%Y-%m-%d %H:%M:%S"));
    run("touch", "-a", "-d", "1999-01-01 00:00:00", f.toString());
    assertEquals("1999-01-01", run("stat", "-c", "%x", f.toString()).substring(0, 10), "atime set");
    assertEquals("2001-02-03 04:05:06", run("date", "-r", f.toString(), "+%Y-%m-%d %H:%M:%S"), "mtime kept");
    assertFalse(atimeBefore.toString().startsWith("1999"));

    Path x = Files.writeString(mount.root().resolve("ex-a"), "A");
    Path y = Files.createDirectory(mount.root().resolve("ex-b"));
    py("import ctypes,os,sys\n"
        + "libc=ctypes.CDLL(None,use_errno=True)\n"
        + "r=libc.renameat2(-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),2)\n"
        + "sys.exit(0 if r==0 else ctypes.get_errno())", x.toString(), y.toString());
    assertTrue(Files.isDirectory(mount.root().resolve("ex-a")), "exchanged: the directory is under ex-a");
    assertEquals("A", Files.readString(mount.root().resolve("ex-b")));
  }

  @Test
  void setgidDirectoriesPassTheirGroup() throws Exception {
    Path d = Files.createDirectory(mount.root().resolve("sgid"));
    run("chown", ":4321", d.toString());
    run("chmod", "2775", d.toString());
    Path f = Files.writeString(d.resolve("f"), "g");
    Path sub = Files.createDirectory(d.resolve("sub"));
    assertEquals(4321, (Integer) Files.getAttribute(f, "unix:gid"));
    assertEquals(4321, (Integer) Files.getAttribute(sub, "unix:gid"));
    assertEquals("2", run("stat", "-c", "%a", sub.toString()).substring(0, 1), "subdirectory keeps S_ISGID");
  }

  @Test
  void fallocateAndBlocksOfSparseFiles() throws Exception {
    Path f = mount.root().resolve("sparse.bin");
    run("truncate", "-s", "1G", f.toString());
    assertEquals(1L << 30, Files.size(f));
    long sparseBlocks = Long.parseLong(run("stat", "-c", "%b", f.toString()));
    assertTrue(sparseBlocks < 64, "a sparse file uses (almost) no blocks: " + sparseBlocks);
    Path g = mount.root().resolve("alloc.bin");
    run("fallocate", "-l", "8M", g.toString());
    assertEquals(8L << 20, Files.size(g));
    run("fallocate", "-n", "-o", "8M", "-l", "4M", g.toString());
    assertEquals(8L << 20, Files.size(g), "KEEP_SIZE");
    Files.write(g, new byte[] {1, 2, 3, 4}, java.nio.file.StandardOpenOption.WRITE);
    run("fallocate", "-p", "-o", "1", "-l", "2", g.toString());
    byte[] head = Arrays.copyOf(Files.readAllBytes(g), 4);
    assertEquals("[1, 0, 0, 4]", Arrays.toString(head), "PUNCH_HOLE zeroes the range");
  }

  @Test
  void namesOver255BytesAreRefused() {
    FileSystemException e = assertThrows(FileSystemException.class,
        () -> Files.createFile(mount.root().resolve("n".repeat(256))));
    assertTrue(String.valueOf(e.getReason()).contains("too long"), e.getReason());
  }
}
