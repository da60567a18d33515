package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import io.shoalfs.common.mount.MountInfo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.cli.Cli;
import io.shoalfs.proto.meta.Subvolume;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Mount lifecycle: bad requests leave nothing behind, close is idempotent, subvolumes, the mount command. */
@ExtendWith(ClusterExtension.class)
@Timeout(value = 90, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShoalMountTest {
  @TempDir
  Path tmp;

  @Test
  void badMountPointsFailWithAClearMessageAndMountNothing(TestCluster cluster) throws IOException {
    Path nonEmpty = Files.createDirectory(tmp.resolve("nonempty"));
    Files.writeString(nonEmpty.resolve("x"), "x");
    Path file = Files.writeString(tmp.resolve("file"), "f");
    Path missing = tmp.resolve("missing");
    record Case(Path path, String message) {}
    for (Case c : List.of(new Case(nonEmpty, "is not empty"), new Case(file, "is not a directory"),
        new Case(missing, "does not exist"))) {
      ShoalMount.BadRequestException e = assertThrows(ShoalMount.BadRequestException.class,
          () -> ShoalMount.mount(cluster.metaAddrs(), null, c.path(), List.of()));
      assertTrue(e.getMessage().contains(c.message()), e.getMessage());
      assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
      assertFalse(MountInfo.hasFuseMount(c.path()));
    }
    assertEquals("x", Files.readString(nonEmpty.resolve("x")), "the non-empty directory is untouched");
  }

  @Test
  void unknownSubvolumeAndBadOptionsMountNothing(TestCluster cluster) throws IOException {
    Path mp = Files.createDirectory(tmp.resolve("mp"));
    ShoalMount.BadRequestException e = assertThrows(ShoalMount.BadRequestException.class,
        () -> ShoalMount.mount(cluster.metaAddrs(), "no-such-volume", mp, List.of()));
    assertTrue(e.getMessage().contains("unknown subvolume 'no-such-volume'"), e.getMessage());
    assertFalse(MountInfo.hasFuseMount(mp));

    IOException bad = assertThrows(IOException.class,
        () -> ShoalMount.mount(cluster.metaAddrs(), null, mp, List.of("no_such_fuse_option")));
    assertTrue(bad.getMessage().contains("failed"), bad.getMessage());
    assertFalse(MountInfo.hasFuseMount(mp));
    try (Stream<Path> s = Files.list(mp)) {
      assertEquals(0, s.count());
    }
  }

  @Test
  void closeUnmountsAndIsIdempotent(TestCluster cluster) throws IOException {
    Path mp = Files.createDirectory(tmp.resolve("idem"));
    ShoalMount m = ShoalMount.mount(cluster.metaAddrs(), null, mp, List.of());
    try {
      assertTrue(MountInfo.hasFuseMount(mp));
      assertTrue(m.isServing());
      Files.writeString(mp.resolve("idem.txt"), "idem");
    } finally {
      m.close();
      TestMount.forceUnmount(mp);
    }
    assertFalse(MountInfo.hasFuseMount(mp));
    assertFalse(m.isServing());
    m.close();
    assertFalse(Files.exists(mp.resolve("idem.txt")), "the file lives in Shoal, not in the directory");
  }

  @Test
  void subvolumeMountShowsOnlyThatSubvolume(TestCluster cluster) throws Exception {
    Subvolume sv = cluster.client().createSubvolume("fuse-test-sv", 1L << 30);
    try (TestMount root = TestMount.open(cluster, tmp, "root");
        TestMount vol = TestMount.open(cluster, "fuse-test-sv", tmp, "vol")) {
      assertEquals(sv.getRootIno(), ((Number) Files.getAttribute(vol.root(), "unix:ino")).longValue());
      Files.writeString(vol.root().resolve("in-subvolume.txt"), "sv");
      assertEquals("sv", Files.readString(vol.root().resolve("in-subvolume.txt")));
      assertFalse(Files.exists(root.root().resolve("in-subvolume.txt")));
      assertEquals(1L << 30, Files.getFileStore(vol.root()).getTotalSpace());
    }
  }

  @Test
  void mountCommandRejectsBadInputWithOneLine(TestCluster cluster) throws IOException {
    Path nonEmpty = Files.createDirectory(tmp.resolve("cmd-nonempty"));
    Files.writeString(nonEmpty.resolve("x"), "x");
    Path empty = Files.createDirectory(tmp.resolve("cmd-empty"));
    for (String[] args : List.of(
        new String[] {"--meta", cluster.metaAddrs(), nonEmpty.toString()},
        new String[] {"--meta", cluster.metaAddrs(), tmp.resolve("cmd-missing").toString()},
        new String[] {"--meta", cluster.metaAddrs(), "--subvolume", "nope", empty.toString()},
        new String[] {"--meta", "not an address", empty.toString()},
        new String[] {"--bogus", empty.toString()})) {
      StringWriter err = new StringWriter();
      CommandLine cl = Cli.commandLine(new MountCommand());
      cl.setErr(new PrintWriter(err));
      int code = cl.execute(args);
      assertNotEquals(0, code, String.join(" ", args));
      String out = err.toString().strip();
      assertEquals(1, out.lines().count(), "one line for " + String.join(" ", args) + ": " + out);
      assertTrue(out.startsWith("shoal: "), out);
    }
    assertFalse(MountInfo.hasFuseMount(nonEmpty));
    assertFalse(MountInfo.hasFuseMount(empty));
  }

  /** The real process the CSI node plugin starts: ready line, then SIGTERM unmounts and exits 0. */
  @Test
  void mountMainServesUntilSigterm(TestCluster cluster) throws Exception {
    Path mp = Files.createDirectory(tmp.resolve("proc"));
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
        MountMain.class.getName(), "--meta", cluster.metaAddrs(), "-o", "noatime", mp.toString()));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
      String line = out.readLine();
      assertEquals("ready: " + mp.toAbsolutePath(), line);
      assertTrue(MountInfo.hasFuseMount(mp));
      Files.writeString(mp.resolve("from-process.txt"), "p");
      assertEquals("p", Files.readString(mp.resolve("from-process.txt")));
      p.toHandle().destroy(); // SIGTERM, leaving our end of its stdout open
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "mount process exits after SIGTERM");
      assertEquals(0, p.exitValue());
      assertFalse(MountInfo.hasFuseMount(mp));
      assertEquals(null, out.readLine(), "nothing else on stdout");
    } finally {
      p.destroyForcibly();
      TestMount.forceUnmount(mp);
    }
  }
}
