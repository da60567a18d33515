package io.shoalfs.storage.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.store.RocksStore;
import io.shoalfs.common.store.TableDef;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.RocksDB;

@Timeout(30)
class ChunkTablesTest {
  @Test
  void databaseColumnFamiliesEqualTheDefinitions(@TempDir Path dir) throws Exception {
    try (ChunkStore store = ChunkStore.open(dir, 1L << 30)) {
      store.write(1, 0, ByteBuffer.wrap(new byte[10]), false);
    }
    Set<String> expected = ChunkTables.ALL.stream().map(TableDef::name).collect(Collectors.toCollection(HashSet::new));
    expected.add(new String(RocksDB.DEFAULT_COLUMN_FAMILY));
    assertEquals(expected, Set.copyOf(RocksStore.listTables(dir)));
    assertEquals(ChunkTables.ALL.size(), Set.copyOf(ChunkTables.ALL.stream().map(TableDef::name).toList()).size(),
        "table names are unique");
  }

  @Test
  void blockKeysAreBigEndianChunkThenBlockSoAChunkIsOneKeyRange() {
    byte[] key = new BlockKey(0x0102030405060708L, 0x0A0B0C0D).encode();
    assertArrayEquals(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 0x0A, 0x0B, 0x0C, 0x0D}, key);
    assertEquals(new BlockKey(0x0102030405060708L, 0x0A0B0C0D), BlockKey.CODEC.decode(key));
    // Unsigned order: chunk 2^63 sorts after chunk 1, and every block of chunk 1 before chunk 2's first.
    assertTrue(compare(new BlockKey(1, 63).encode(), new BlockKey(2, 0).encode()) < 0);
    assertTrue(compare(new BlockKey(1, 0).encode(), new BlockKey(Long.MIN_VALUE, 0).encode()) < 0);
    assertTrue(compare(new BlockKey(1, 2).encode(), new BlockKey(1, 10).encode()) < 0);
  }

  @Test
  void fullBlocksGoToBlobFiles(@TempDir Path dir) throws Exception {
    try (ChunkStore store = ChunkStore.open(dir, 1L << 30)) {
      store.write(3, 0, ByteBuffer.wrap(new byte[1 << 20]), false);
      store.rocks().flush();
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertTrue(files.anyMatch(p -> p.getFileName().toString().endsWith(".blob")),
          "BlobDB (key-value separation) must hold block values");
    }
  }

  private static int compare(byte[] a, byte[] b) {
    return java.util.Arrays.compareUnsigned(a, b);
  }
}
