package io.shoalfs.storage.store;

import static io.shoalfs.storage.core.ChunkGeometry.BLOCKS_PER_CHUNK;
import static io.shoalfs.storage.core.ChunkGeometry.BLOCK_SIZE;
import static io.shoalfs.storage.core.ChunkGeometry.blockOf;
import static io.shoalfs.storage.core.ChunkGeometry.blockStart;
import static io.shoalfs.storage.store.ChunkTables.BLOCKS;
import static io.shoalfs.storage.store.ChunkTables.CHUNKS;
import static io.shoalfs.storage.store.ChunkTables.FENCES;

import io.shoalfs.common.store.RocksStore;
import io.shoalfs.storage.core.ChunkGeometry;
import io.shoalfs.storage.core.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.RocksDBException;
import org.rocksdb.Status;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chunk data in RocksDB: each chunk is up to 64 blocks of 64 KiB, each block stored with its own CRC32C (see
 * {@link ChunkTables} for the layout). Every request is one WriteBatch, so it is applied wholly or not at all;
 * every read checks the CRC of every block it touches.
 *
 * <p>RocksDB's own WAL is on: no Raft log stands in front of chunk data yet, so it is the only thing that
 * makes an acknowledged write survive a crash. Every write reaches the WAL file (write(2), not fsync) before it
 * is acknowledged, so it survives a SIGKILL of the daemon; {@link #sync()} (the Sync RPC) or a write with
 * {@code sync} fsyncs the WAL, after which every write acknowledged before it also survives a power loss or a
 * kernel crash. close() syncs the WAL too, so a clean stop never loses an acknowledged write.
 *
 * <p>Space and fencing (garbage collection): {@link #delete} drops a chunk's blocks by one range delete and
 * leaves a tombstone in the {@code fences} table, so a late write with an old chunk map is refused
 * ({@link StorageException.Stale}) instead of re-creating the chunk; {@link #fence} freezes a chunk against
 * writers with an older epoch. A background reclaimer turns deletes into free disk space: shortly after deletes
 * it flushes the memtables (so WAL files that held the deleted bytes can go) and compacts the deleted key range
 * down to the last level, which drops the deleted keys and deletes blob files whose every blob is garbage; blob
 * GC (age cutoff, force threshold below) relocates the live rest of old, mostly-garbage blob files. Tombstones
 * are kept for {@link Tuning#tombstoneRetention()} and at most {@link Tuning#maxTombstones()} of them.
 *
 * <p>Concurrency: writes, truncates and deletes of one chunk are serialized by a lock taken from a fixed set of
 * stripes (read-modify-write of a partial block must not race another writer of the same block). Reads take no
 * chunk lock: one RocksDB iterator sees one consistent snapshot, so a read never sees half a request.
 */
public final class ChunkStore implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkStore.class);

  /** A fixed count bounds memory whatever the number of chunks; a collision only serializes two chunks. */
  static final int LOCK_STRIPES = 1024;
  /** How long a request waits for its chunk's lock before it gives up with UNAVAILABLE. */
  static final Duration LOCK_WAIT = Duration.ofSeconds(20);
  /** How long close() waits for running requests before it leaves the database open rather than crash them. */
  static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
  /**
   * Values of at least this many bytes live in BlobDB blob files (DESIGN decision 2): full blocks never get
   * rewritten by compaction, while small tail blocks and the chunks table stay inline in SST files.
   */
  static final long MIN_BLOB_SIZE = 4 << 10;
  /** Target size of a blob file: smaller files are freed sooner (a file goes once all its blobs are garbage). */
  static final long BLOB_FILE_SIZE = 64L << 20;
  /** Blob files in the oldest half may be garbage-collected (live blobs relocated) by any compaction. */
  static final double BLOB_GC_AGE_CUTOFF = 0.5;
  /** When the oldest eligible blob files are this much garbage, RocksDB schedules compactions to collect them. */
  static final double BLOB_GC_FORCE_THRESHOLD = 0.5;
  /**
   * Bound on the WAL files kept: past it RocksDB flushes the tables whose memtables hold the oldest WAL file.
   * Without it the small chunks and fences tables, whose memtables rarely fill, pinned every WAL file (a copy
   * of every block written) until a restart: a daemon took twice its data on disk.
   */
  static final long MAX_TOTAL_WAL_SIZE = 256L << 20;
  /** Cap on the files summed by {@link #diskBytes()} (a RocksDB directory holds a few hundred at most). */
  static final int MAX_FILES_COUNTED = 100_000;

  /**
   * Tunables of space reclamation.
   *
   * @param reclaimDelay how long after a delete the reclaimer waits (gathering more deletes) before it compacts
   * @param tombstoneRetention how long a deleted chunk's tombstone refuses late writes; past it a writer that
   *     still holds the chunk could re-create it (chunk ids are never reused, so only a leak, never a mix-up)
   * @param maxTombstones most tombstones kept; the oldest go first past it
   * @param sweepPeriod how often expired tombstones are dropped
   */
  public record Tuning(Duration reclaimDelay, Duration tombstoneRetention, int maxTombstones, Duration sweepPeriod) {
    public static final Tuning DEFAULTS =
        new Tuning(Duration.ofMillis(500), Duration.ofHours(24), 1_000_000, Duration.ofMinutes(10));
  }

  private final RocksStore rocks;
  private final long capacity;
  private final AtomicLong used;
  private final ReentrantLock[] stripes = new ReentrantLock[LOCK_STRIPES];
  /** Requests hold the read side; close() takes the write side so it never frees the DB under a request. */
  private final ReentrantReadWriteLock lifecycle = new ReentrantReadWriteLock();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Tuning tuning;
  private final AtomicLong tombstones;
  /** Unsigned range of chunk ids deleted since the reclaimer's last pass; guarded by {@link #reclaimLock}. */
  private long pendingLo = -1;
  private long pendingHi = 0;
  private boolean pending;
  private final Object reclaimLock = new Object();
  private final AtomicLong reclaimPasses = new AtomicLong();
  private final Thread reclaimer;

  private ChunkStore(RocksStore rocks, long capacity, long used, long tombstones, Tuning tuning) {
    this.rocks = rocks;
    this.capacity = capacity;
    this.used = new AtomicLong(used);
    this.tombstones = new AtomicLong(tombstones);
    this.tuning = tuning;
    for (int i = 0; i < stripes.length; i++) {
      stripes[i] = new ReentrantLock();
    }
    this.reclaimer = Thread.ofPlatform().daemon().name("chunk-reclaim").unstarted(this::reclaimLoop);
  }

  /** Opens (creating if needed) the store in {@code dir}, accepting up to {@code capacityBytes} of chunk data. */
  public static ChunkStore open(Path dir, long capacityBytes) throws IOException {
    return open(dir, capacityBytes, Tuning.DEFAULTS);
  }

  public static ChunkStore open(Path dir, long capacityBytes, Tuning tuning) throws IOException {
    if (capacityBytes <= 0) {
      throw new IllegalArgumentException("capacity must be positive, got " + capacityBytes);
    }
    ColumnFamilyOptions cf = new ColumnFamilyOptions()
        .setEnableBlobFiles(true)
        .setMinBlobSize(MIN_BLOB_SIZE)
        .setBlobFileSize(BLOB_FILE_SIZE)
        .setEnableBlobGarbageCollection(true)
        .setBlobGarbageCollectionAgeCutoff(BLOB_GC_AGE_CUTOFF)
        .setBlobGarbageCollectionForceThreshold(BLOB_GC_FORCE_THRESHOLD);
    RocksStore rocks;
    try {
      rocks = new RocksStore(dir, ChunkTables.ALL, false, cf);
    } catch (RocksDBException e) {
      cf.close();
      throw new IOException("cannot open chunk store at " + dir + ": " + e.getMessage(), e);
    }
    try {
      rocks.db().setDBOptions(org.rocksdb.MutableDBOptions.builder().setMaxTotalWalSize(MAX_TOTAL_WAL_SIZE).build());
      ChunkStore store = new ChunkStore(rocks, capacityBytes, sumOfLengths(rocks), countTombstones(rocks), tuning);
      store.reclaimer.start();
      return store;
    } catch (RocksDBException | RuntimeException e) {
      rocks.close();
      throw new IOException("cannot read chunk store at " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Used bytes are not persisted as a counter: summing one small record per chunk at open cannot drift. */
  private static long sumOfLengths(RocksStore rocks) throws RocksDBException {
    long[] sum = {0};
    rocks.scan(CHUNKS, new byte[0], null, (chunk, length) -> {
      sum[0] += length;
      return true;
    });
    return sum[0];
  }

  private static long countTombstones(RocksStore rocks) throws RocksDBException {
    long[] n = {0};
    rocks.scan(FENCES, new byte[0], null, (chunk, fence) -> {
      if (fence.deleted()) {
        n[0]++;
      }
      return true;
    });
    return n[0];
  }

  /** A write with epoch 0: what a chunk that was never fenced accepts. */
  public void write(long chunkId, long offset, ByteBuffer data, boolean sync) throws StorageException {
    write(chunkId, 0, offset, data, sync);
  }

  /**
   * Writes {@code data} (its remaining bytes) at {@code offset} of the chunk. Partial blocks are merged with
   * what is stored (after checking its CRC); the whole request is one atomic batch. Refused with
   * {@link StorageException.Stale} if the chunk was deleted or {@code epoch} is below its fence.
   */
  public void write(long chunkId, long epoch, long offset, ByteBuffer data, boolean sync) throws StorageException {
    write(chunkId, epoch, offset, data, sync, true);
  }

  /**
   * {@link #write(long, long, long, ByteBuffer, boolean)}; {@code checkCapacity} false for a replicated group's
   * apply, which must give the same result on every member whatever each one's capacity (the group's leader
   * checks its own before it proposes: {@link #hasRoomFor}); a disk that is really full fails the member instead.
   */
  public void write(long chunkId, long epoch, long offset, ByteBuffer data, boolean sync, boolean checkCapacity)
      throws StorageException {
    int length = data.remaining();
    ChunkGeometry.checkRange(offset, length);
    try (Held held = lock(chunkId)) {
      checkFence(chunkId, epoch);
      if (length == 0) {
        return;
      }
      long end = offset + length;
      long oldLength = storedLength(chunkId);
      long growth = Math.max(0, end - oldLength);
      if (checkCapacity) {
        reserve(chunkId, growth);
      } else {
        used.addAndGet(growth);
      }
      boolean committed = false;
      try (RocksStore.Batch batch = rocks.batch()) {
        for (int b = blockOf(offset); b <= blockOf(end - 1); b++) {
          batch.putRaw(BLOCKS, new BlockKey(chunkId, b).encode(), mergeBlock(chunkId, b, offset, data));
        }
        if (growth > 0) {
          batch.put(CHUNKS, chunkId, end);
        }
        if (sync) {
          batch.commitSync();
        } else {
          batch.commit();
        }
        committed = true;
      } catch (RocksDBException e) {
        throw failure("write to chunk " + Long.toUnsignedString(chunkId), e);
      } finally {
        if (!committed) {
          used.addAndGet(-growth);
        }
      }
    }
  }

  /** The new stored value of block {@code b} once the part of {@code data} that falls in it is written. */
  private byte[] mergeBlock(long chunkId, int b, long offset, ByteBuffer data)
      throws RocksDBException, StorageException.CorruptBlock {
    long start = blockStart(b);
    int from = (int) Math.max(offset - start, 0);
    int to = (int) Math.min(offset + data.remaining() - start, BLOCK_SIZE);
    byte[] value;
    if (from == 0 && to == BLOCK_SIZE) {
      value = BlockValue.allocate(BLOCK_SIZE);
    } else {
      byte[] old = rocks.get(BLOCKS, new BlockKey(chunkId, b));
      int oldLength = old == null ? 0 : BlockValue.verify(old, chunkId, b);
      value = BlockValue.allocate(Math.max(oldLength, to));
      System.arraycopy(old == null ? value : old, BlockValue.HEADER, value, BlockValue.HEADER, oldLength);
    }
    data.get(data.position() + (int) (start + from - offset), value, BlockValue.HEADER + from, to - from);
    return BlockValue.seal(value);
  }

  /**
   * Copy-on-write of snapshots and clones: [offset, offset + length) of chunk {@code from} into the same range
   * of chunk {@code to}, in pieces of {@link #COPY_PIECE} (each checked by its CRCs on read, re-sealed on write).
   * A new chunk is written only by its one writer after alloc_chunk, so the copy needs no lock across pieces.
   */
  public void copy(long from, long to, long offset, long length) throws StorageException {
    copy(from, to, offset, length, true);
  }

  /** {@link #copy(long, long, long, long)}; {@code checkCapacity} as in the write of a replicated group. */
  public void copy(long from, long to, long offset, long length, boolean checkCapacity) throws StorageException {
    ChunkGeometry.checkRange(offset, length);
    for (long done = 0; done < length; done += COPY_PIECE) {
      int n = (int) Math.min(COPY_PIECE, length - done);
      write(to, 0, offset + done, ByteBuffer.wrap(read(from, offset + done, n)), false, checkCapacity);
    }
  }

  /** Bytes per piece of {@link #copy}: bounds the heap one copy holds. */
  static final int COPY_PIECE = 1 << 20;


  /**
   * Exactly {@code length} bytes from {@code offset}; bytes never written read as zeros. A deleted chunk is
   * refused ({@link StorageException.Stale}) rather than read as zeros: its reader holds a stale chunk map.
   */
  public byte[] read(long chunkId, long offset, int length) throws StorageException {
    ChunkGeometry.checkRange(offset, length);
    byte[] out = new byte[length];
    long end = offset + length;
    int last = length == 0 ? 0 : blockOf(end - 1);
    StorageException.CorruptBlock[] corrupt = {null};
    try (Held held = enter()) {
      Fence f = fenceOf(chunkId);
      if (f != null && f.deleted()) {
        throw stale(chunkId, f, 0, "read");
      }
      if (length == 0) {
        return out;
      }
      rocks.scanRaw(BLOCKS, BlockKey.chunkPrefix(chunkId), new BlockKey(chunkId, blockOf(offset)).encode(),
          (key, value) -> {
            int b = BlockKey.blockOf(key);
            if (b > last) {
              return false;
            }
            int payload;
            try {
              payload = BlockValue.verify(value, chunkId, b);
            } catch (StorageException.CorruptBlock e) {
              corrupt[0] = e;
              return false;
            }
            long start = blockStart(b);
            long from = Math.max(offset, start);
            long to = Math.min(end, start + payload);
            if (to > from) {
              System.arraycopy(value, BlockValue.HEADER + (int) (from - start), out, (int) (from - offset),
                  (int) (to - from));
            }
            return true;
          });
    } catch (RocksDBException e) {
      throw failure("read of chunk " + Long.toUnsignedString(chunkId), e);
    }
    if (corrupt[0] != null) {
      throw corrupt[0];
    }
    return out;
  }

  /**
   * Drops everything at or beyond {@code length}: whole blocks by a range delete, the block that straddles it
   * by trimming its payload (and re-computing its CRC). Growing a chunk this way stores nothing: the bytes
   * past the stored length already read as zeros.
   */
  public void truncate(long chunkId, long length) throws StorageException {
    truncate(chunkId, 0, length);
  }

  /** {@link #truncate(long, long)}, fenced like {@link #write(long, long, long, ByteBuffer, boolean)}. */
  public void truncate(long chunkId, long epoch, long length) throws StorageException {
    ChunkGeometry.checkLength(length);
    try (Held held = lock(chunkId)) {
      checkFence(chunkId, epoch);
      long oldLength = storedLength(chunkId);
      if (length >= oldLength) {
        return;
      }
      try (RocksStore.Batch batch = rocks.batch()) {
        int firstDropped = ChunkGeometry.firstBlockAtOrAfter(length);
        if (firstDropped < BLOCKS_PER_CHUNK) {
          batch.deleteRange(BLOCKS, new BlockKey(chunkId, firstDropped).encode(),
              new BlockKey(chunkId, BLOCKS_PER_CHUNK).encode());
        }
        int keep = (int) (length % BLOCK_SIZE);
        if (keep != 0) {
          int b = blockOf(length);
          byte[] old = rocks.get(BLOCKS, new BlockKey(chunkId, b));
          if (old != null && BlockValue.verify(old, chunkId, b) > keep) {
            byte[] value = BlockValue.allocate(keep);
            System.arraycopy(old, BlockValue.HEADER, value, BlockValue.HEADER, keep);
            batch.putRaw(BLOCKS, new BlockKey(chunkId, b).encode(), BlockValue.seal(value));
          }
        }
        if (length == 0) {
          batch.delete(CHUNKS, chunkId);
        } else {
          batch.put(CHUNKS, chunkId, length);
        }
        // The request carries no sync flag; truncates are rare, so make them durable rather than guess.
        batch.commitSync();
      } catch (RocksDBException e) {
        throw failure("truncate of chunk " + Long.toUnsignedString(chunkId), e);
      }
      used.addAndGet(length - oldLength);
    }
  }

  /**
   * Removes every block of the chunk (one range delete) and leaves its tombstone, in one durable batch.
   * Idempotent: deleting a deleted chunk, or one that never held anything, succeeds (and leaves a tombstone).
   * The disk space returns after the reclaimer's next pass.
   */
  public void delete(long chunkId) throws StorageException {
    try (Held held = lock(chunkId)) {
      Fence f = fenceOf(chunkId);
      if (f != null && f.deleted()) {
        return;
      }
      long oldLength = storedLength(chunkId);
      try (RocksStore.Batch batch = rocks.batch()) {
        if (oldLength > 0) {
          batch.deleteRange(BLOCKS, new BlockKey(chunkId, 0).encode(),
              new BlockKey(chunkId, BLOCKS_PER_CHUNK).encode());
          batch.delete(CHUNKS, chunkId);
        }
        batch.put(FENCES, chunkId, new Fence(Fence.DELETED, System.currentTimeMillis()));
        batch.commitSync();
      } catch (RocksDBException e) {
        throw failure("delete of chunk " + Long.toUnsignedString(chunkId), e);
      }
      used.addAndGet(-oldLength);
      tombstones.incrementAndGet();
      if (oldLength > 0) {
        reclaimSoon(chunkId);
      }
    }
  }

  /**
   * Raises the chunk's fence to {@code epoch} (unsigned; never lowers it) and returns the fence in force: from
   * then on writes and truncates carrying a smaller epoch are refused. Durable before it returns. A deleted
   * chunk is refused ({@link StorageException.Stale}); a chunk that holds nothing yet may be fenced.
   */
  public long fence(long chunkId, long epoch) throws StorageException {
    if (epoch == Fence.DELETED) {
      throw new StorageException.InvalidRange("epoch 2^64-1 is reserved for deleted chunks");
    }
    try (Held held = lock(chunkId)) {
      Fence f = fenceOf(chunkId);
      if (f != null && f.deleted()) {
        throw stale(chunkId, f, epoch, "fence");
      }
      long current = f == null ? 0 : f.epoch();
      if (Long.compareUnsigned(epoch, current) <= 0) {
        return current;
      }
      try (RocksStore.Batch batch = rocks.batch()) {
        batch.put(FENCES, chunkId, new Fence(epoch, System.currentTimeMillis()));
        batch.commitSync();
      } catch (RocksDBException e) {
        throw failure("fence of chunk " + Long.toUnsignedString(chunkId), e);
      }
      return epoch;
    }
  }

  /** The chunk's fence row, or null (fence 0). */
  private Fence fenceOf(long chunkId) throws StorageException {
    try {
      return rocks.get(FENCES, chunkId);
    } catch (RocksDBException e) {
      throw failure("lookup of the fence of chunk " + Long.toUnsignedString(chunkId), e);
    }
  }

  private void checkFence(long chunkId, long epoch) throws StorageException {
    Fence f = fenceOf(chunkId);
    if (f != null && !f.admits(epoch)) {
      throw stale(chunkId, f, epoch, "write");
    }
  }

  private static StorageException.Stale stale(long chunkId, Fence f, long epoch, String what) {
    String id = Long.toUnsignedString(chunkId);
    return new StorageException.Stale(chunkId, f.epoch(), f.deleted()
        ? what + " of chunk " + id + " refused: the chunk was deleted"
        : what + " of chunk " + id + " refused: epoch " + Long.toUnsignedString(epoch) + " is below its fence "
            + Long.toUnsignedString(f.epoch()));
  }

  // ---- reclaiming disk space ----

  private void reclaimSoon(long chunkId) {
    synchronized (reclaimLock) {
      if (!pending) {
        pendingLo = chunkId;
        pendingHi = chunkId;
        pending = true;
      } else {
        if (Long.compareUnsigned(chunkId, pendingLo) < 0) {
          pendingLo = chunkId;
        }
        if (Long.compareUnsigned(chunkId, pendingHi) > 0) {
          pendingHi = chunkId;
        }
      }
      reclaimLock.notifyAll();
    }
  }

  /**
   * The reclaimer thread: after deletes (waiting {@link Tuning#reclaimDelay()} for more to gather), flushes
   * and compacts the deleted range; every {@link Tuning#sweepPeriod()} drops expired tombstones. One pass at a
   * time, so deletes never queue compactions.
   */
  private void reclaimLoop() {
    long nextSweep = System.nanoTime() + tuning.sweepPeriod().toNanos();
    while (!closed.get()) {
      long lo;
      long hi;
      boolean work;
      synchronized (reclaimLock) {
        long waitMs = Math.max(1, (nextSweep - System.nanoTime()) / 1_000_000);
        if (!pending) {
          try {
            reclaimLock.wait(Math.min(waitMs, 1000));
          } catch (InterruptedException e) {
            return;
          }
        }
        work = pending;
      }
      if (work) {
        try {
          Thread.sleep(tuning.reclaimDelay().toMillis());
        } catch (InterruptedException e) {
          return;
        }
        synchronized (reclaimLock) {
          lo = pendingLo;
          hi = pendingHi;
          pending = false;
        }
        reclaim(lo, hi);
      }
      if (System.nanoTime() - nextSweep >= 0) {
        sweepTombstones(System.currentTimeMillis());
        nextSweep = System.nanoTime() + tuning.sweepPeriod().toNanos();
      }
    }
  }

  private void reclaim(long lo, long hi) {
    try (Held held = enter()) {
      rocks.flush();
      byte[] to = hi == -1L ? null : new BlockKey(hi + 1, 0).encode();
      rocks.compactRange(BLOCKS, new BlockKey(lo, 0).encode(), to);
      reclaimPasses.incrementAndGet();
    } catch (StorageException.Unavailable e) {
      // closing
    } catch (RocksDBException | RuntimeException e) {
      LOG.warn("chunk store {}: reclaiming the space of deleted chunks failed (retried after the next delete): {}",
          rocks.dir(), e.getMessage());
    }
  }

  /**
   * Drops tombstones older than the retention and, past {@link Tuning#maxTombstones()}, the oldest. Returns how
   * many went. Runs on the reclaimer thread (and from tests).
   */
  int sweepTombstones(long nowMillis) {
    long cutoff = nowMillis - tuning.tombstoneRetention().toMillis();
    try (Held held = enter()) {
      int n = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(0, tombstones.get()) + 1024);
      long[] ages = new long[Math.min(n, tuning.maxTombstones() + 1024)];
      int[] count = {0};
      // First pass: the times of the tombstones that stay by age, to find the count cutoff.
      rocks.scan(FENCES, new byte[0], null, (chunk, f) -> {
        if (f.deleted() && f.atMillis() >= cutoff && count[0] < ages.length) {
          ages[count[0]++] = f.atMillis();
        }
        return true;
      });
      long keepFrom = cutoff;
      if (count[0] > tuning.maxTombstones()) {
        long[] sorted = Arrays.copyOf(ages, count[0]);
        Arrays.sort(sorted);
        keepFrom = Math.max(cutoff, sorted[count[0] - tuning.maxTombstones()]);
      }
      long keep = keepFrom;
      int[] dropped = {0};
      try (RocksStore.Batch batch = rocks.batch()) {
        rocks.scan(FENCES, new byte[0], null, (chunk, f) -> {
          if (f.deleted() && f.atMillis() < keep) {
            try {
              batch.delete(FENCES, chunk);
            } catch (RocksDBException e) {
              throw new IllegalStateException(e);
            }
            dropped[0]++;
          }
          return true;
        });
        if (dropped[0] > 0) {
          batch.commit();
          tombstones.addAndGet(-dropped[0]);
          LOG.info("chunk store {}: dropped {} expired tombstones of deleted chunks", rocks.dir(), dropped[0]);
        }
      }
      return dropped[0];
    } catch (StorageException.Unavailable e) {
      return 0;
    } catch (RocksDBException | RuntimeException e) {
      LOG.warn("chunk store {}: sweeping tombstones failed: {}", rocks.dir(), e.getMessage());
      return 0;
    }
  }

  /** Completed reclaim passes (tests wait on it). */
  public long reclaimPasses() {
    return reclaimPasses.get();
  }

  /** Tombstones of deleted chunks currently kept. */
  public long tombstones() {
    return tombstones.get();
  }

  /**
   * What the database takes on disk now: the sizes of the files in its directory (SST, blob, WAL, manifest,
   * logs), as du would count them.
   */
  public long diskBytes() {
    return sizeOf(rocks.dir(), 0, new int[] {0});
  }

  /** Sum of the regular files under {@code dir} (two levels at most); files deleted meanwhile count nothing. */
  private static long sizeOf(Path dir, int depth, int[] files) {
    long sum = 0;
    try (var entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        if (++files[0] > MAX_FILES_COUNTED) {
          break;
        }
        try {
          var attrs = Files.readAttributes(p, java.nio.file.attribute.BasicFileAttributes.class,
              java.nio.file.LinkOption.NOFOLLOW_LINKS);
          if (attrs.isRegularFile()) {
            sum += attrs.size();
          } else if (attrs.isDirectory() && depth < 2) {
            sum += sizeOf(p, depth + 1, files);
          }
        } catch (IOException e) {
          // Deleted by RocksDB while we looked (an obsolete SST, blob or WAL file): it takes nothing now.
        }
      }
    } catch (IOException | java.nio.file.DirectoryIteratorException e) {
      // The directory itself went: nothing to count there.
    }
    return sum;
  }

  /**
   * Makes every write acknowledged so far durable: one fsync of RocksDB's WAL (RocksDB serializes concurrent
   * syncs, and one covers every write before it, so callers need not batch). There is one WAL per daemon, so the
   * chunk a caller names does not matter: every chunk's writes become durable.
   */
  public void sync() throws StorageException {
    try (Held held = enter()) {
      rocks.db().flushWal(true);
    } catch (RocksDBException e) {
      throw failure("sync of the write-ahead log", e);
    }
  }

  /** Sum of the stored lengths of all chunks (holes inside a chunk count: a sparse chunk is rare). */
  public long usedBytes() {
    return used.get();
  }

  public long capacityBytes() {
    return capacity;
  }

  /** The underlying database: for tests and offline tools only; never write to it while requests run. */
  // ---- scrub: every block of a group's chunks checked against its CRC32C ----

  /** Notes that {@code chunkId} belongs to replicated group {@code group} (idempotent). */
  public void noteGroupChunk(String group, long chunkId, boolean present) throws StorageException {
    try (Held held = enter(); RocksStore.Batch batch = rocks.batch()) {
      byte[] k = ChunkTables.stagedKey(group, chunkId);
      if (present) {
        batch.putRaw(ChunkTables.GROUP_CHUNKS, k, new byte[0]);
      } else {
        batch.deleteRaw(ChunkTables.GROUP_CHUNKS, k);
      }
      batch.commit();
    } catch (RocksDBException e) {
      throw failure("recording chunk " + Long.toUnsignedString(chunkId) + " of group " + group, e);
    }
  }

  /** A damaged block found by {@link #scrub}. */
  public record Damage(long chunkId, int block) {}

  /**
   * Checks every stored block of {@code group}'s chunks; returns the damaged ones (at most {@code limit}) and
   * adds the number of blocks checked to {@code checked}. Reads the blocks one chunk at a time.
   */
  public java.util.List<Damage> scrub(String group, int limit, java.util.concurrent.atomic.AtomicLong checked)
      throws StorageException {
    byte[] g = group.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    byte[] prefix = java.util.Arrays.copyOf(g, g.length + 1);
    java.util.List<Long> chunks = new java.util.ArrayList<>();
    java.util.List<Damage> out = new java.util.ArrayList<>();
    try (Held held = enter()) {
      rocks.scanRaw(ChunkTables.GROUP_CHUNKS, prefix, null, (k, v) -> {
        chunks.add(java.nio.ByteBuffer.wrap(k, k.length - 8, 8).getLong());
        return true;
      });
      for (long chunk : chunks) {
        rocks.scanRaw(BLOCKS, BlockKey.chunkPrefix(chunk), null, (k, v) -> {
          checked.incrementAndGet();
          int b = BlockKey.blockOf(k);
          try {
            BlockValue.verify(v, chunk, b);
          } catch (StorageException.CorruptBlock c) {
            out.add(new Damage(chunk, b));
          }
          return out.size() < limit;
        });
        if (out.size() >= limit) {
          break;
        }
      }
    } catch (RocksDBException e) {
      throw failure("scrubbing group " + group, e);
    }
    return out;
  }

  // ---- repair of one block from another member's copy ----

  /** The stored value of block {@code b} (CRC32C header and payload), checked; null when never written. */
  public byte[] rawBlock(long chunkId, int b) throws StorageException {
    try (Held held = lock(chunkId)) {
      byte[] v = rocks.get(BLOCKS, new BlockKey(chunkId, b));
      if (v != null) {
        BlockValue.verify(v, chunkId, b);
      }
      return v;
    } catch (RocksDBException e) {
      throw failure("reading block " + b + " of chunk " + Long.toUnsignedString(chunkId), e);
    }
  }

  /**
   * Replaces block {@code b} with {@code value}, another member's copy at the same applied index (checked first;
   * null: the block was never written there, so it is dropped here). Synced: a repair must not be undone by a
   * crash.
   */
  public void repairBlock(long chunkId, int b, byte[] value) throws StorageException {
    if (value != null) {
      BlockValue.verify(value, chunkId, b);
    }
    try (Held held = lock(chunkId); RocksStore.Batch batch = rocks.batch()) {
      if (value == null) {
        batch.deleteRaw(BLOCKS, new BlockKey(chunkId, b).encode());
      } else {
        batch.putRaw(BLOCKS, new BlockKey(chunkId, b).encode(), value);
      }
      batch.commitSync();
    } catch (RocksDBException e) {
      throw failure("repairing block " + b + " of chunk " + Long.toUnsignedString(chunkId), e);
    }
  }

  // ---- replicated groups: the staged bytes of log entries and each group's applied index ----

  /**
   * Whether {@code bytes} more fit within the capacity now (a replicated group's leader asks before it proposes a
   * write; an answer is a hint, since the write may overwrite bytes already stored).
   */
  public boolean hasRoomFor(long bytes) {
    return used.get() + bytes <= capacity;
  }

  /** Keeps the bytes of entry {@code index} of {@code group} until it is applied; durable when it returns. */
  public void stage(String group, long index, ByteBuffer data) throws StorageException {
    byte[] bytes = new byte[data.remaining()];
    data.duplicate().get(bytes);
    try (Held held = enter(); RocksStore.Batch batch = rocks.batch()) {
      batch.putRaw(ChunkTables.STAGED, ChunkTables.stagedKey(group, index), bytes);
      batch.commitSync();
    } catch (RocksDBException e) {
      throw failure("staging entry " + index + " of group " + group, e);
    }
  }

  /** The staged bytes of an entry, or null (applied already, or never written here). */
  public byte[] staged(String group, long index) throws StorageException {
    try (Held held = enter()) {
      return rocks.get(ChunkTables.STAGED, ChunkTables.stagedKey(group, index));
    } catch (RocksDBException e) {
      throw failure("reading staged entry " + index + " of group " + group, e);
    }
  }

  /** Records entry {@code index} of {@code group} as applied and drops its staged bytes, in one batch. */
  public void applied(String group, long index) throws StorageException {
    try (Held held = enter(); RocksStore.Batch batch = rocks.batch()) {
      batch.put(ChunkTables.APPLIED, group, index);
      batch.deleteRaw(ChunkTables.STAGED, ChunkTables.stagedKey(group, index));
      batch.commit();
    } catch (RocksDBException e) {
      throw failure("recording applied entry " + index + " of group " + group, e);
    }
  }

  /** The highest applied log index of {@code group}, or -1 when nothing of it was applied here. */
  public long appliedIndex(String group) throws StorageException {
    try (Held held = enter()) {
      Long i = rocks.get(ChunkTables.APPLIED, group);
      return i == null ? -1 : i;
    } catch (RocksDBException e) {
      throw failure("reading the applied index of group " + group, e);
    }
  }

  /** Drops the staged bytes of entries {@code fromIndex} and later of {@code group} (Ratis truncated them). */
  public void dropStaged(String group, long fromIndex) throws StorageException {
    try (Held held = enter(); RocksStore.Batch batch = rocks.batch()) {
      batch.deleteRange(ChunkTables.STAGED, ChunkTables.stagedKey(group, fromIndex),
          ChunkTables.stagedKey(group, -1L));
      batch.commit();
    } catch (RocksDBException e) {
      throw failure("dropping staged entries of group " + group, e);
    }
  }

  /**
   * A range as it reads now, for a member that needs an applied entry's bytes again (Ratis re-sends an entry
   * whose bytes are no longer staged): holes and deleted chunks read as zeros. Safe to send in place of the
   * original bytes because the member applies every later entry too, and any byte that differs was changed
   * by one of them.
   */
  public byte[] readForReplay(long chunkId, long offset, int length) throws StorageException {
    try {
      return read(chunkId, offset, length);
    } catch (StorageException.Stale deleted) {
      return new byte[length];
    }
  }

  public RocksStore rocks() {
    return rocks;
  }

  /** Stored length of a chunk; the caller holds the chunk's lock. */
  private long storedLength(long chunkId) throws StorageException {
    try {
      Long length = rocks.get(CHUNKS, chunkId);
      return length == null ? 0 : length;
    } catch (RocksDBException e) {
      throw failure("lookup of chunk " + Long.toUnsignedString(chunkId), e);
    }
  }

  private void reserve(long chunkId, long growth) throws StorageException.OutOfSpace {
    while (growth > 0) {
      long now = used.get();
      if (now + growth > capacity) {
        throw new StorageException.OutOfSpace("writing chunk " + Long.toUnsignedString(chunkId) + " needs "
            + growth + " more bytes; " + now + " of " + capacity + " are used", null);
      }
      if (used.compareAndSet(now, now + growth)) {
        return;
      }
    }
  }

  private static StorageException failure(String what, RocksDBException e) {
    Status s = e.getStatus();
    if (s != null && s.getSubCode() == Status.SubCode.NoSpace) {
      return new StorageException.OutOfSpace(what + ": disk full: " + e.getMessage(), e);
    }
    return new StorageException.StoreFailure(what + " failed in RocksDB: " + e.getMessage(), e);
  }

  /** A held lock released by try-with-resources. */
  private interface Held extends AutoCloseable {
    @Override
    void close();
  }

  /** Enters as a request: fails fast once close() has begun. */
  private Held enter() throws StorageException.Unavailable {
    Lock shared = lifecycle.readLock();
    acquire(shared, "the chunk store");
    if (closed.get()) {
      shared.unlock();
      throw new StorageException.Unavailable("the chunk store is closing");
    }
    return shared::unlock;
  }

  /** Enters as a request and takes the chunk's stripe lock. */
  private Held lock(long chunkId) throws StorageException.Unavailable {
    Held entered = enter();
    ReentrantLock stripe = stripes[stripeOf(chunkId)];
    try {
      acquire(stripe, "chunk " + Long.toUnsignedString(chunkId));
    } catch (StorageException.Unavailable e) {
      entered.close();
      throw e;
    }
    return () -> {
      stripe.unlock();
      entered.close();
    };
  }

  /** Fibonacci hashing: ids that differ only in their high bits (not just consecutive ids) spread too. */
  static int stripeOf(long chunkId) {
    return (int) ((chunkId * 0x9E3779B97F4A7C15L) >>> (Long.SIZE - Integer.numberOfTrailingZeros(LOCK_STRIPES)));
  }

  private static void acquire(Lock lock, String what) throws StorageException.Unavailable {
    try {
      if (!lock.tryLock(LOCK_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        throw new StorageException.Unavailable(what + " stayed busy for " + LOCK_WAIT.toSeconds() + " s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StorageException.Unavailable("interrupted while waiting for " + what);
    }
  }

  /** Waits (bounded) for running requests, then frees the database. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    reclaimer.interrupt();
    try {
      // A pass in progress holds the store open; it is bounded by one compaction of the deleted range.
      reclaimer.join(CLOSE_WAIT.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Lock exclusive = lifecycle.writeLock();
    try {
      if (!exclusive.tryLock(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
        LOG.error("chunk store {}: requests still running after {} s; leaving the database open",
            rocks.dir(), CLOSE_WAIT.toSeconds());
        return;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      LOG.error("chunk store {}: interrupted while closing; leaving the database open", rocks.dir());
      return;
    }
    try {
      try {
        // Not needed for writes in the WAL file already, but a clean stop must never depend on that.
        rocks.db().flushWal(true);
      } catch (RocksDBException e) {
        LOG.error("chunk store {}: could not sync the write-ahead log at close: {}", rocks.dir(), e.getMessage());
      }
      rocks.close();
    } finally {
      exclusive.unlock();
    }
  }
}
