package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.StatFsReply;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

/** Directories, names and attributes through a real mount. */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class NamespaceTest {
  @TempDir
  static Path tmp;
  static TestMount mount;
  static TestCluster cluster;

  @BeforeAll
  static void mount(TestCluster c) throws IOException {
    cluster = c;
    mount = TestMount.open(c, tmp, "ns");
  }

  @AfterAll
  static void unmount() {
    if (mount != null) {
      mount.close();
    }
  }

  @Test
  void nestedDirectoriesAndListing() throws IOException {
    Path deep = mount.root().resolve("n1/a/b/c/d");
    Files.createDirectories(deep);
    assertTrue(Files.isDirectory(deep));
    Files.writeString(deep.resolve("leaf.txt"), "leaf");
    assertEquals("leaf", Files.readString(mount.root().resolve("n1/a/b/c/d/leaf.txt")));
    assertThrows(FileAlreadyExistsException.class, () -> Files.createDirectory(mount.root().resolve("n1/a")));
    assertThrows(NoSuchFileException.class, () -> Files.createDirectory(mount.root().resolve("n1/missing/x")));
    try (Stream<Path> s = Files.walk(mount.root().resolve("n1"))) {
      assertEquals(6, s.count(), "n1, a, b, c, d, leaf.txt");
    }
  }

  @Test
  void listingLargerThanOneReaddirPage() throws IOException {
    Path dir = Files.createDirectory(mount.root().resolve("many"));
    // More than one page of the client (512) and of any smaller server default.
    int count = 600;
    Set<String> expect = new TreeSet<>();
    for (int i = 0; i < count; i++) {
      String name = String.format("entry-%04d%s", i, i % 7 == 0 ? "-dir" : ".txt");
      if (i % 7 == 0) {
        Files.createDirectory(dir.resolve(name));
      } else {
        Files.createFile(dir.resolve(name));
      }
      expect.add(name);
    }
    Set<String> got;
    try (Stream<Path> s = Files.list(dir)) {
      got = s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
    }
    assertEquals(expect, got);
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(count / 7 + 1, s.filter(Files::isDirectory).count());
    }
  }

  @Test
  void renameFilesAndDirectories() throws IOException {
    Path base = Files.createDirectory(mount.root().resolve("ren"));
    Path a = Files.writeString(base.resolve("a.txt"), "A");
    Path b = base.resolve("b.txt");
    Files.move(a, b);
    assertFalse(Files.exists(a));
    assertEquals("A", Files.readString(b));

    // Over an existing file: the target's old content is gone.
    Path c = Files.writeString(base.resolve("c.txt"), "C");
    Files.move(b, c, StandardCopyOption.REPLACE_EXISTING);
    assertFalse(Files.exists(b));
    assertEquals("A", Files.readString(c));

    // A directory with content, into another directory; old paths below it are gone at once.
    Path d1 = Files.createDirectories(base.resolve("d1/inner"));
    Files.writeString(d1.resolve("f.txt"), "F");
    assertEquals("F", Files.readString(base.resolve("d1/inner/f.txt")));
    Path target = Files.createDirectory(base.resolve("dst"));
    Files.move(base.resolve("d1"), target.resolve("moved"));
    assertFalse(Files.exists(base.resolve("d1/inner/f.txt")));
    assertFalse(Files.exists(base.resolve("d1")));
    assertEquals("F", Files.readString(target.resolve("moved/inner/f.txt")));
    try (Stream<Path> s = Files.list(base)) {
      assertEquals(List.of("c.txt", "dst"), s.map(p -> p.getFileName().toString()).sorted().toList());
    }
  }

  @Test
  void unlinkAndRmdir() throws IOException {
    Path dir = Files.createDirectory(mount.root().resolve("rm"));
    Path f = Files.writeString(dir.resolve("f"), "x");
    assertThrows(DirectoryNotEmptyException.class, () -> Files.delete(dir));
    Files.delete(f);
    assertFalse(Files.exists(f));
    assertThrows(NoSuchFileException.class, () -> Files.delete(f));
    Files.delete(dir);
    assertFalse(Files.exists(dir));
    // The name is free again, for a different kind of thing.
    Files.writeString(dir, "now a file");
    assertEquals("now a file", Files.readString(dir));
  }

  @Test
  void chmodAndUtimes() throws IOException {
    Path f = Files.writeString(mount.root().resolve("attrs.txt"), "attrs");
    Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
    assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(f)));
    Path d = Files.createDirectory(mount.root().resolve("attrs.d"));
    Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwx------"));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d)));

    Instant when = Instant.parse("2021-03-04T05:06:07.123456789Z");
    Files.setLastModifiedTime(f, FileTime.from(when));
    assertEquals(FileTime.from(when), Files.getLastModifiedTime(f));
    Files.setAttribute(f, "lastAccessTime", FileTime.from(when.plusSeconds(60)));
    assertEquals(FileTime.from(when.plusSeconds(60)), Files.getAttribute(f, "lastAccessTime"));
    assertEquals(FileTime.from(when), Files.getLastModifiedTime(f), "setting atime left mtime alone");

    Files.setAttribute(f, "unix:uid", 1234);
    Files.setAttribute(f, "unix:gid", 5678);
    assertEquals(1234, Files.getAttribute(f, "unix:uid"));
    assertEquals(5678, Files.getAttribute(f, "unix:gid"));

    // An mtime set on an open file with unflushed writes survives the close (cp -p does this).
    try (var ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
      ch.write(java.nio.ByteBuffer.wrap("ATTRS".getBytes()));
      Files.setLastModifiedTime(f, FileTime.from(when));
    }
    assertEquals(FileTime.from(when), Files.getLastModifiedTime(f));
    assertEquals("ATTRS", Files.readString(f));
  }

  @Test
  void inodeNumbersAndRoot() throws Exception {
    assertEquals(Layout.ROOT_INO, ((Number) Files.getAttribute(mount.root(), "unix:ino")).longValue());
    Path f = Files.writeString(mount.root().resolve("ino.txt"), "i");
    long ino = ((Number) Files.getAttribute(f, "unix:ino")).longValue();
    assertEquals(ino, cluster.client().lookup(Layout.ROOT_INO, "ino.txt").getIno());
  }

  @Test
  void statfsReportsTheVolume() throws Exception {
    FileStore store = Files.getFileStore(mount.root());
    assertEquals("fuse.shoal", store.type());
    StatFsReply s = cluster.client().statFs(Layout.ROOT_INO);
    long total = s.getCapacityBytes() / 4096 * 4096;
    assertEquals(total, store.getTotalSpace());
    assertTrue(total > 0, "capacity is reported");
    long free = store.getUsableSpace();
    assertTrue(free >= 0 && free <= total, "free " + free + " within capacity " + total);
    long expectFree = Math.max(0, s.getCapacityBytes() - s.getUsedBytes()) / 4096 * 4096;
    // Other tests write concurrently in the same cluster: allow for their writes in between.
    assertTrue(Math.abs(expectFree - free) <= 256L << 20, "free " + free + " vs " + expectFree);
  }

  @Test
  void namesTooLongAreRejected() {
    String longName = IntStream.range(0, 256).mapToObj(i -> "n").collect(Collectors.joining());
    assertThrows(IOException.class, () -> Files.createFile(mount.root().resolve(longName)));
  }
}
