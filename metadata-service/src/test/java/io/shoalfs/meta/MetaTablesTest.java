package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.Layout;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaStore;
import io.shoalfs.meta.store.MetaTables;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The tables in the databases on disk are exactly the ones {@link MetaTables} defines, and keys sort right. */
@Timeout(60)
class MetaTablesTest {
  @TempDir Path tmp;

  static List<String> expected() {
    List<String> names = new ArrayList<>();
    names.add("default");
    MetaTables.ALL.stream().map(TableDef::name).forEach(names::add);
    return names;
  }

  @Test
  void definitionsAreUnique() {
    assertEquals(MetaTables.ALL.size(), new HashSet<>(MetaTables.ALL.stream().map(TableDef::name).toList()).size());
  }

  @Test
  void aFreshDatabaseHasExactlyTheDefinedTables() throws Exception {
    Path db = tmp.resolve("db");
    MetaStore.open(db).close();
    assertEquals(sorted(expected()), sorted(MetaStore.listTables(db)));
  }

  @Test
  void theServersDatabaseAndSnapshotsHaveExactlyTheDefinedTables() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle())) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      cluster.client().mkdir(Layout.ROOT_INO, "d", 0755, 0, 0);
    }
    assertEquals(sorted(expected()), sorted(MetaStore.listTables(tmp.resolve("m0/db"))));
    List<Path> snapshots;
    try (Stream<Path> s = Files.walk(tmp.resolve("m0/raft"))) {
      snapshots = s.filter(p -> p.getFileName().toString().matches("snapshot\\.\\d+_\\d+")).toList();
    }
    assertTrue(!snapshots.isEmpty(), "a clean stop leaves a snapshot");
    for (Path snap : snapshots) {
      assertEquals(sorted(expected()), sorted(MetaStore.listTables(snap)), snap.toString());
    }
  }

  @Test
  void dentryKeysGroupByParentAndSortByName() {
    byte[] a = DentryKey.CODEC.encode(new DentryKey(7, "a"));
    byte[] ab = DentryKey.CODEC.encode(new DentryKey(7, "ab"));
    byte[] b = DentryKey.CODEC.encode(new DentryKey(7, "b"));
    byte[] next = DentryKey.CODEC.encode(new DentryKey(8, ""));
    assertTrue(Arrays.compareUnsigned(a, ab) < 0 && Arrays.compareUnsigned(ab, b) < 0
        && Arrays.compareUnsigned(b, next) < 0);
    assertArrayEquals(Arrays.copyOf(a, 8), DentryKey.prefix(7));
    byte[] afterA = DentryKey.after(7, "a");
    assertTrue(Arrays.compareUnsigned(a, afterA) < 0 && Arrays.compareUnsigned(afterA, ab) < 0);
    assertEquals(new DentryKey(7, "\u00e9t\u00e9"), DentryKey.CODEC.decode(DentryKey.CODEC.encode(new DentryKey(7,
        "\u00e9t\u00e9"))));
  }

  @Test
  void chunkKeysSortByInodeThenUnsignedIndex() {
    byte[] c0 = ChunkKey.CODEC.encode(new ChunkKey(5, 0));
    byte[] c1 = ChunkKey.CODEC.encode(new ChunkKey(5, 1));
    byte[] cMax = ChunkKey.CODEC.encode(new ChunkKey(5, -1)); // index 2^32-1
    byte[] next = ChunkKey.CODEC.encode(new ChunkKey(6, 0));
    assertTrue(Arrays.compareUnsigned(c0, c1) < 0 && Arrays.compareUnsigned(c1, cMax) < 0
        && Arrays.compareUnsigned(cMax, next) < 0);
    assertEquals(0xFFFF_FFFFL, ChunkKey.CODEC.decode(cMax).unsignedIndex());
    assertArrayEquals(Arrays.copyOf(c1, 8), ChunkKey.prefix(5));
  }

  private static List<String> sorted(List<String> l) {
    return l.stream().sorted().toList();
  }
}
