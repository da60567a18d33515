package io.shoalfs.cli.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.cli.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PreflightTest {
  @TempDir Path tmp;

  @Test
  void libfuseFromTheEnvironmentMustExist() throws Exception {
    UserError e = assertThrows(UserError.class,
        () -> Preflight.libfuse(Map.of(Preflight.LIBFUSE_ENV, tmp.resolve("nope.so.3").toString())));
    assertTrue(e.getMessage().contains("apt-get install libfuse3-3"), e.getMessage());
    Path lib = Files.writeString(tmp.resolve("libfuse3.so.3"), "");
    assertEquals(lib, Preflight.libfuse(Map.of(Preflight.LIBFUSE_ENV, lib.toString())));
  }

  @Test
  void libfuseIsFoundOnThisMachine() {
    assertTrue(Files.isReadable(Preflight.libfuse(Map.of())), "the test machine has libfuse3 installed");
  }

  @Test
  void mountPointRules() throws Exception {
    Path missing = tmp.resolve("missing");
    assertTrue(assertThrows(UserError.class, () -> Preflight.mountPoint(missing, false)).getMessage()
        .contains("does not exist"));
    assertFalse(Files.exists(missing));
    Preflight.mountPoint(missing, true);
    assertTrue(Files.isDirectory(missing), "the default mount point is created");

    Path file = Files.writeString(tmp.resolve("file"), "x");
    assertTrue(assertThrows(UserError.class, () -> Preflight.mountPoint(file, false)).getMessage()
        .contains("not a directory"));

    Path full = Files.createDirectories(tmp.resolve("full"));
    Files.writeString(full.resolve("keep"), "x");
    assertTrue(assertThrows(UserError.class, () -> Preflight.mountPoint(full, true)).getMessage()
        .contains("not empty"));
    assertEquals("x", Files.readString(full.resolve("keep")));

    // "/" is always a mount point.
    assertTrue(assertThrows(UserError.class, () -> Preflight.mountPoint(Path.of("/"), false)).getMessage()
        .contains("already a mount point"));
  }
}
