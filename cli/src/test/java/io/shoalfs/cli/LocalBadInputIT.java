package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.cli.local.Preflight;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Bad input to {@code shoal local}: a one-line reason, a non-zero exit, and nothing damaged. */
class LocalBadInputIT {
  @TempDir Path tmp;

  private static void assertOneLineError(ShoalProcess p, String expected) throws InterruptedException {
    int code = p.waitFor(120);
    assertNotEquals(0, code, "exit code");
    assertEquals(1, p.err.size(), "exactly one line on stderr, got: " + p.err);
    assertTrue(p.err.get(0).startsWith("shoal: "), p.err.get(0));
    assertTrue(p.err.get(0).contains(expected), "'" + p.err.get(0) + "' mentions '" + expected + "'");
    assertEquals(0, p.out.size(), "nothing on stdout: " + p.out);
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void unknownFlag() throws Exception {
    try (ShoalProcess p = ShoalProcess.start(tmp, "local", "--no-such-flag")) {
      assertOneLineError(p, "--no-such-flag");
    }
    assertFalse(Files.exists(tmp.resolve(".shoal")), "no data directory created");
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void missingMountPoint() throws Exception {
    Path missing = tmp.resolve("no-such-dir");
    try (ShoalProcess p = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("d").toString(), "--mount",
        missing.toString())) {
      assertOneLineError(p, "does not exist");
    }
    assertFalse(Files.exists(missing), "the missing mount point is not created behind the user's back");
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void nonEmptyMountPoint() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("full"));
    Files.writeString(mnt.resolve("keep.txt"), "precious");
    try (ShoalProcess p = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("d").toString(), "--mount",
        mnt.toString())) {
      assertOneLineError(p, "not empty");
    }
    assertEquals("precious", Files.readString(mnt.resolve("keep.txt")));
    assertFalse(Preflight.isMounted(mnt));
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void missingLibfuse() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    try (ShoalProcess p = ShoalProcess.start(tmp, Map.of(Preflight.LIBFUSE_ENV, "/nonexistent/libfuse3.so.3"),
        "local", "--dir", tmp.resolve("d").toString(), "--mount", mnt.toString())) {
      assertOneLineError(p, "libfuse3");
    }
    assertFalse(Preflight.isMounted(mnt));
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void evenNumberOfReplicas() throws Exception {
    try (ShoalProcess p = ShoalProcess.start(tmp, "local", "--meta-replicas", "2")) {
      assertOneLineError(p, "--meta-replicas");
    }
  }

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void secondInstanceOnTheSameDirectory() throws Exception {
    Path data = tmp.resolve("data");
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    Path mnt2 = Files.createDirectories(tmp.resolve("mnt2"));
    byte[] content = "written by the first instance".getBytes(StandardCharsets.UTF_8);
    ShoalProcess first = null;
    try {
      first = ShoalProcess.start(tmp, "local", "--dir", data.toString(), "--mount", mnt.toString(),
          "--meta-replicas", "1", "--storage-daemons", "1");
      LocalClusterIT.awaitStarted(first, mnt);
      Files.write(mnt.resolve("a.txt"), content);
      try (ShoalProcess second = ShoalProcess.start(tmp, "local", "--dir", data.toString(), "--mount",
          mnt2.toString(), "--meta-replicas", "1", "--storage-daemons", "1")) {
        assertOneLineError(second, "another shoal local is running");
      }
      assertFalse(Preflight.isMounted(mnt2));
      assertTrue(first.process.isAlive(), "the first instance keeps running");
      assertArrayEquals(content, Files.readAllBytes(mnt.resolve("a.txt")), "and keeps serving its mount");
      LocalClusterIT.stopAndCheckClean(first, mnt);
    } finally {
      if (first != null) {
        first.close();
      }
      TestMounts.forceUnmount(mnt);
      TestMounts.forceUnmount(mnt2);
    }
  }
}
