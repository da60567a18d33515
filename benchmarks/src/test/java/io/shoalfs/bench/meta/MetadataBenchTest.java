package io.shoalfs.bench.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.bench.meta.MetadataBench.Case;
import io.shoalfs.bench.meta.MetadataBench.Layout;
import io.shoalfs.bench.meta.MetadataBench.Measurement;
import io.shoalfs.bench.meta.MetadataBench.Op;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The metadata benchmark on a local directory: what each phase leaves behind, counts, failures, cleanup. */
@Timeout(60)
class MetadataBenchTest {
  @TempDir
  Path tmp;

  private static long count(Path dir, String prefix) throws Exception {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().startsWith(prefix)).count();
    }
  }

  @Test
  void eachPhaseDoesItsCallsOnEveryFileOfEveryThread() throws Exception {
    Path base = tmp.resolve("b");
    Case one = new Case(4, Layout.ONE_DIR);
    Case many = new Case(4, Layout.MANY_DIRS);
    try (MetadataBench bench = new MetadataBench(base, List.of(one, many), 7)) {
      for (Case c : List.of(one, many)) {
        Measurement m = bench.run(Op.CREATE, c);
        assertNull(m.error());
        assertEquals(28, m.ops());
        assertTrue(m.opsPerSec() > 0);
      }
      assertEquals(56, count(base, "f"));
      assertEquals(28, count(base.resolve("4t-one-dir/d0"), "f"), "one directory holds all of its case");
      try (Stream<Path> dirs = Files.list(base.resolve("4t-many-dirs"))) {
        assertEquals(16, dirs.count());
      }
      // 4 threads over 16 directories: thread t uses directories t, t+4, t+8, t+12.
      assertTrue(Files.exists(base.resolve("4t-many-dirs/d5/f1-1")));
      Measurement stat = bench.run(Op.STAT, many);
      assertNull(stat.error());
      assertTrue(stat.ops() >= 28 && stat.ops() % 7 == 0, "whole passes: " + stat.ops());
      assertTrue(stat.nanos() >= MetadataBench.STAT_MIN_TIME.toNanos(), "stat runs at least the minimum time");
      assertEquals(28, bench.run(Op.RENAME, many).ops());
      assertEquals(0, count(base.resolve("4t-many-dirs"), "f"));
      assertEquals(28, count(base.resolve("4t-many-dirs"), "r"));
      assertEquals(28, bench.run(Op.UNLINK, many).ops());
      assertEquals(0, count(base.resolve("4t-many-dirs"), ""));
    }
    assertFalse(Files.exists(base), "close removes everything");
  }

  @Test
  void aFailedPhaseIsReportedAndTheCaseSkipsItsLaterPhases() throws Exception {
    Path base = tmp.resolve("b");
    Case c = new Case(2, Layout.ONE_DIR);
    try (MetadataBench bench = new MetadataBench(base, List.of(c), 3)) {
      Files.createFile(base.resolve("2t-one-dir/d0/f1-2")); // thread 1's last create finds it: EEXIST
      Measurement m = bench.run(Op.CREATE, c);
      assertTrue(m.error().startsWith("FileAlreadyExistsException: "), m.error());
      assertNull(m.opsPerSec());
      assertEquals("not run: create failed", bench.run(Op.STAT, c).error());
      assertEquals("not run: create failed", bench.run(Op.UNLINK, c).error());
    }
    assertFalse(Files.exists(base));
  }
}
