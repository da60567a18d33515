package io.shoalfs.storage.store;

import static io.shoalfs.storage.core.ChunkGeometry.CHUNK_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.shoalfs.storage.core.StorageException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** CopyChunk (copy-on-write of snapshots and clones) inside the daemon's store: the bytes, holes and ranges. */
@Timeout(60)
class ChunkCopyTest {
  @TempDir Path tmp;

  @Test
  void aCopyReadsLikeTheOriginalAndLeavesItAlone() throws Exception {
    try (ChunkStore store = ChunkStore.open(tmp.resolve("s"), 1L << 30)) {
      byte[] data = new byte[3 << 20];
      new Random(7).nextBytes(data);
      int at = 123_457; // not block aligned
      store.write(1, at, ByteBuffer.wrap(data), false);
      store.copy(1, 2, 0, CHUNK_SIZE);
      assertArrayEquals(store.read(1, 0, CHUNK_SIZE), store.read(2, 0, CHUNK_SIZE));
      // Writing the copy does not change the original.
      store.write(2, at + 10, ByteBuffer.wrap(new byte[] {1, 2, 3}), false);
      assertArrayEquals(Arrays.copyOfRange(data, 0, 100), store.read(1, at, 100));
      // A part only; never-written bytes copy as zeros.
      store.copy(1, 3, at + 1000, 5000);
      assertArrayEquals(Arrays.copyOfRange(data, 1000, 6000), store.read(3, at + 1000, 5000));
      assertArrayEquals(new byte[1000], store.read(3, at, 1000));
      store.copy(99, 4, 0, 4096);
      assertArrayEquals(new byte[4096], store.read(4, 0, 4096));
      assertThrows(StorageException.InvalidRange.class, () -> store.copy(1, 5, CHUNK_SIZE - 10, 11));
    }
  }
}
