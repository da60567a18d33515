package io.shoalfs.storage.store;

import static io.shoalfs.storage.core.ChunkGeometry.BLOCK_SIZE;
import static io.shoalfs.storage.core.ChunkGeometry.CHUNK_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.store.RocksStore;
import io.shoalfs.storage.core.StorageException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@Timeout(60)
class ChunkStoreTest {
  @TempDir
  Path dir;

  private ChunkStore store;

  @BeforeEach
  void open() throws Exception {
    store = ChunkStore.open(dir, 1L << 30);
  }

  @AfterEach
  void close() {
    store.close();
  }

  private void reopen() throws Exception {
    store.close();
    store = ChunkStore.open(dir, 1L << 30);
  }

  private static byte[] pattern(int length, int seed) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  private void write(long chunk, long offset, byte[] data) throws StorageException {
    store.write(chunk, offset, ByteBuffer.wrap(data), false);
  }

  @Test
  void unwrittenChunkReadsAsZeros() throws Exception {
    assertArrayEquals(new byte[300_000], store.read(42, 1000, 300_000));
    assertArrayEquals(new byte[0], store.read(42, CHUNK_SIZE, 0));
    assertEquals(0, store.usedBytes());
  }

  @Test
  void dataSurvivesCloseAndReopen() throws Exception {
    byte[] a = pattern(3 * BLOCK_SIZE + 17, 1);
    byte[] b = pattern(100, 2);
    write(5, BLOCK_SIZE - 3, a);
    write(6, CHUNK_SIZE - 100, b);
    store.write(7, 0, ByteBuffer.wrap(b), true);
    long used = store.usedBytes();
    assertEquals((BLOCK_SIZE - 3 + a.length) + CHUNK_SIZE + 100, used);

    reopen();

    assertArrayEquals(a, store.read(5, BLOCK_SIZE - 3, a.length));
    assertArrayEquals(new byte[BLOCK_SIZE - 3], store.read(5, 0, BLOCK_SIZE - 3));
    assertArrayEquals(b, store.read(6, CHUNK_SIZE - 100, 100));
    assertArrayEquals(b, store.read(7, 0, 100));
    assertEquals(used, store.usedBytes(), "used bytes are recomputed from the chunks table");
  }

  @Test
  void partialBlockWritesMergeWithWhatIsStored() throws Exception {
    byte[] whole = pattern(BLOCK_SIZE, 3);
    write(1, 0, whole);
    byte[] middle = pattern(10, 4);
    write(1, 1000, middle);
    System.arraycopy(middle, 0, whole, 1000, 10);
    assertArrayEquals(whole, store.read(1, 0, BLOCK_SIZE));

    // A short payload past a hole: the hole and the tail of the block read as zeros.
    write(2, 500, middle);
    byte[] expected = new byte[BLOCK_SIZE + 5];
    System.arraycopy(middle, 0, expected, 500, 10);
    assertArrayEquals(expected, store.read(2, 0, expected.length));
  }

  @Test
  void truncateDropsWholeBlocksAndTrimsThePartialOne() throws Exception {
    byte[] data = pattern(5 * BLOCK_SIZE, 5);
    write(9, 0, data);
    long cut = 2L * BLOCK_SIZE + 123;
    store.truncate(9, cut);
    assertEquals(cut, store.usedBytes());

    byte[] expected = Arrays.copyOf(data, 5 * BLOCK_SIZE);
    Arrays.fill(expected, (int) cut, expected.length, (byte) 0);
    assertArrayEquals(expected, store.read(9, 0, expected.length));
    // Only blocks 0..2 remain, and block 2 holds exactly 123 bytes of payload.
    List<Integer> blocks = new ArrayList<>();
    store.rocks().scanRaw(ChunkTables.BLOCKS, BlockKey.chunkPrefix(9), null, (k, v) -> {
      blocks.add(BlockKey.blockOf(k));
      if (BlockKey.blockOf(k) == 2) {
        assertEquals(BlockValue.HEADER + 123, v.length);
      }
      return true;
    });
    assertEquals(List.of(0, 1, 2), blocks);

    // Writing past the truncation point after it does not resurrect old bytes.
    write(9, 4L * BLOCK_SIZE, new byte[] {7});
    expected[4 * BLOCK_SIZE] = 7;
    assertArrayEquals(expected, store.read(9, 0, expected.length));

    // Growing by truncate stores nothing and changes nothing.
    long usedBefore = store.usedBytes();
    store.truncate(9, CHUNK_SIZE);
    assertEquals(usedBefore, store.usedBytes());
    store.truncate(9, 0);
    assertEquals(0, store.usedBytes());
    assertArrayEquals(new byte[expected.length], store.read(9, 0, expected.length));
    assertNull(store.rocks().get(ChunkTables.CHUNKS, 9L));
  }

  @Test
  void deleteRemovesEveryBlockAndOnlyThatChunk() throws Exception {
    write(10, 0, pattern(CHUNK_SIZE, 6));
    byte[] neighbour = pattern(1000, 7);
    write(11, 0, neighbour);
    write(Long.MAX_VALUE, 0, neighbour);
    store.delete(10);
    store.delete(10);
    store.delete(12345);
    // A deleted chunk is not a hole: its reader holds a stale chunk map (write fencing, see ChunkFencingTest).
    assertThrows(StorageException.Stale.class, () -> store.read(10, 0, CHUNK_SIZE));
    assertArrayEquals(neighbour, store.read(11, 0, 1000));
    assertArrayEquals(neighbour, store.read(Long.MAX_VALUE, 0, 1000));
    assertEquals(2000, store.usedBytes());
    int[] left = {0};
    store.rocks().scanRaw(ChunkTables.BLOCKS, BlockKey.chunkPrefix(10), null, (k, v) -> ++left[0] > 0);
    assertEquals(0, left[0]);
  }

  static Stream<Arguments> invalidRanges() {
    return Stream.of(
        Arguments.of("write past the end", (Op) s -> s.write(1, CHUNK_SIZE - 1, ByteBuffer.allocate(2), false)),
        Arguments.of("write starting past the end",
            (Op) s -> s.write(1, CHUNK_SIZE + 1L, ByteBuffer.allocate(0), false)),
        Arguments.of("write at a negative offset", (Op) s -> s.write(1, -1, ByteBuffer.allocate(1), false)),
        Arguments.of("write at a huge offset", (Op) s -> s.write(1, 0xFFFF_FFFFL, ByteBuffer.allocate(1), false)),
        Arguments.of("read past the end", (Op) s -> s.read(1, CHUNK_SIZE - 1, 2)),
        Arguments.of("read longer than a chunk", (Op) s -> s.read(1, 0, CHUNK_SIZE + 1)),
        Arguments.of("read at a huge offset", (Op) s -> s.read(1, 0xFFFF_FFFFL, 1)),
        Arguments.of("read a negative length", (Op) s -> s.read(1, 0, -1)),
        Arguments.of("truncate past the end", (Op) s -> s.truncate(1, CHUNK_SIZE + 1L)),
        Arguments.of("truncate to a negative length", (Op) s -> s.truncate(1, -1)));
  }

  interface Op {
    void run(ChunkStore s) throws StorageException;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidRanges")
  void invalidRangesAreRejectedAndChangeNothing(String name, Op op) throws Exception {
    byte[] data = pattern(100, 8);
    write(1, CHUNK_SIZE - 100, data);
    assertThrows(StorageException.InvalidRange.class, () -> op.run(store));
    assertArrayEquals(data, store.read(1, CHUNK_SIZE - 100, 100));
    assertEquals(CHUNK_SIZE, store.usedBytes());
  }

  @Test
  void rangesTouchingTheChunkEndAreValid() throws Exception {
    write(1, CHUNK_SIZE - 1, new byte[] {9});
    assertArrayEquals(new byte[] {9}, store.read(1, CHUNK_SIZE - 1, 1));
    store.write(1, CHUNK_SIZE, ByteBuffer.allocate(0), false);
    store.truncate(1, CHUNK_SIZE);
    assertEquals(CHUNK_SIZE, store.read(1, 0, CHUNK_SIZE).length);
  }

  @Test
  void capacityIsEnforcedOnGrowthOnly(@TempDir Path small) throws Exception {
    try (ChunkStore s = ChunkStore.open(small, 2 * BLOCK_SIZE)) {
      s.write(1, 0, ByteBuffer.allocate(BLOCK_SIZE), false);
      s.write(2, 0, ByteBuffer.allocate(BLOCK_SIZE - 10), false);
      var e = assertThrows(StorageException.OutOfSpace.class,
          () -> s.write(2, BLOCK_SIZE - 10, ByteBuffer.allocate(11), false));
      assertTrue(e.getMessage().contains("chunk 2"), e.getMessage());
      assertEquals(2 * BLOCK_SIZE - 10, s.usedBytes(), "a rejected write reserves nothing");
      s.write(1, 0, ByteBuffer.wrap(pattern(BLOCK_SIZE, 9)), false);
      s.write(2, BLOCK_SIZE - 10, ByteBuffer.allocate(10), false);
      s.delete(1);
      s.write(3, 0, ByteBuffer.allocate(BLOCK_SIZE), false);
      assertEquals(2 * BLOCK_SIZE, s.usedBytes());
    }
  }

  @Test
  void corruptBlockIsNeverServedNorFoldedIntoAWrite() throws Exception {
    byte[] data = pattern(3 * BLOCK_SIZE, 10);
    write(4, 0, data);
    flipByte(store.rocks(), new BlockKey(4, 1), 500);

    var e = assertThrows(StorageException.CorruptBlock.class, () -> store.read(4, BLOCK_SIZE + 10, 20));
    assertEquals(4, e.chunkId());
    assertEquals(1, e.block());
    // A partial write into the damaged block must not compute a fresh CRC over the damage.
    assertThrows(StorageException.CorruptBlock.class, () -> write(4, BLOCK_SIZE + 7, new byte[] {1}));
    assertThrows(StorageException.CorruptBlock.class, () -> store.truncate(4, BLOCK_SIZE + 100));
    assertThrows(StorageException.CorruptBlock.class, () -> store.read(4, 0, 3 * BLOCK_SIZE));
    // Its neighbours still read.
    assertArrayEquals(Arrays.copyOfRange(data, 0, BLOCK_SIZE), store.read(4, 0, BLOCK_SIZE));
    assertArrayEquals(Arrays.copyOfRange(data, 2 * BLOCK_SIZE, 3 * BLOCK_SIZE),
        store.read(4, 2L * BLOCK_SIZE, BLOCK_SIZE));
    // Overwriting the whole block replaces the damage.
    byte[] fresh = pattern(BLOCK_SIZE, 11);
    write(4, BLOCK_SIZE, fresh);
    assertArrayEquals(fresh, store.read(4, BLOCK_SIZE, BLOCK_SIZE));
  }

  /** Flips one payload byte of a stored block behind the store's back, as a bad disk would. */
  static void flipByte(RocksStore rocks, BlockKey key, int payloadOffset) throws Exception {
    byte[] value = rocks.get(ChunkTables.BLOCKS, key);
    value[BlockValue.HEADER + payloadOffset] ^= 0x40;
    try (RocksStore.Batch b = rocks.batch()) {
      b.put(ChunkTables.BLOCKS, key, value).commit();
    }
  }

  @Test
  void concurrentWritersToOneChunkLoseNothing() throws Exception {
    // 8 writers own interleaved 1000-byte stripes, so every block is shared by all of them and each write is
    // a read-modify-write of a partial block: without the chunk lock some stripes would come back as zeros.
    int writers = 8;
    int stripe = 1000;
    int stripes = 600;
    byte[] expected = new byte[stripes * stripe];
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try {
      List<Future<Void>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        List<Integer> mine = new ArrayList<>();
        for (int s = writer; s < stripes; s += writers) {
          mine.add(s);
          Arrays.fill(expected, s * stripe, (s + 1) * stripe, (byte) (writer + 1));
        }
        Collections.shuffle(mine, new Random(writer));
        done.add(pool.submit((Callable<Void>) () -> {
          byte[] fill = new byte[stripe];
          Arrays.fill(fill, (byte) (writer + 1));
          for (int s : mine) {
            store.write(77, (long) s * stripe, ByteBuffer.wrap(fill), false);
          }
          return null;
        }));
      }
      for (Future<Void> f : done) {
        f.get(45, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
    }
    assertArrayEquals(expected, store.read(77, 0, expected.length));
    assertEquals(expected.length, store.usedBytes());
  }

  @Test
  void closedStoreRefusesRequestsAndClosesOnce() throws Exception {
    store.close();
    assertThrows(StorageException.Unavailable.class, () -> store.read(1, 0, 10));
    assertThrows(StorageException.Unavailable.class, () -> write(1, 0, new byte[1]));
    store.close();
  }
}
