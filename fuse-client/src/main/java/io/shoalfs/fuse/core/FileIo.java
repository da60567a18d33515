package io.shoalfs.fuse.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StaleChunkException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CommitWriteRequest;
import io.shoalfs.proto.meta.Extent;
import io.shoalfs.proto.meta.FallocateRequest;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The open-file data layer: handles, one {@link OpenInode} per open inode, and the data operations on them over
 * the metadata service (chunk map, sizes) and the storage daemons (bytes). Inode based: it never sees a path, so
 * a path-based or an inode-based filesystem can sit on top.
 *
 * <p>Consistency is close-to-open (DESIGN decision 7): open takes the attributes the caller just fetched and
 * forgets the chunk map and read-ahead of the file; writes reach the storage daemons when the write buffer fills
 * (or a read, truncate or non-contiguous write needs it) and become visible to other clients when flush, fsync,
 * release or the background flusher commits the new size. The flusher bounds the dirty age: buffered writes of
 * an open file older than {@link FsConfig#dirtyAge()} are sent and committed.
 *
 * <p>Durability (DESIGN decision 12): fsync on any handle of an inode syncs every storage group this client
 * wrote for the inode since its last sync, also writes made through handles already closed (the inode's record
 * outlives its last close, bounded by {@link FsConfig#unsyncedClosedMax()}, until an fsync or the flusher
 * synced it). A commit never sets the size past what the storage daemons acknowledged.
 *
 * <p>Errors: {@link MetaException} (an errno from the metadata service), {@link IOException} (a storage daemon
 * failed) and {@link FsException} (an errno decided here, or a remembered write-back failure). A failed send or
 * sync is remembered per inode like Linux's errseq: the next write, flush and fsync of every handle of the inode
 * (including handles opened later, if no fsync has reported it yet) fails once with it (EIO; a close reports it
 * only on a descriptor open for writing), and it is logged once at WARN with the inode.
 *
 * <p>Locking: operations on one inode are serialized by its {@link OpenInode#lock}, which is held across the
 * metadata calls of that operation; the bytes go to the daemons through the write-back pipeline, whose threads
 * hold no lock (several write-backs of one inode on their way at once, see {@link #flushBuffer}); different
 * inodes proceed in parallel. The inode table's lock is never held
 * across a remote call. The flusher only tryLocks an inode (a busy inode is being written or flushed anyway, and
 * is looked at again on the next tick), so it never blocks behind an application and never blocks other inodes.
 * Lock order: an inode's lock, then the table's.
 */
public final class FileIo implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FileIo.class);
  private static final int CHUNK = Layout.CHUNK_SIZE;
  private static final int O_ACCMODE = 03;
  private static final int O_RDONLY = 0;
  /** fallocate(2) mode bits. */
  public static final int FALLOC_FL_KEEP_SIZE = 1;
  public static final int FALLOC_FL_PUNCH_HOLE = 2;
  /** Bound on per-chunk extents gathered for one commit; past it the write commits early. */
  static final int MAX_EXTENTS = 1024;
  /** How long a closed file's failure that no fsync has reported yet is kept for a later descriptor. */
  static final long ERROR_KEEP_NANOS = TimeUnit.SECONDS.toNanos(60);
  /** Allocation unit of the service's accounting: st_blocks in 4 KiB units. */
  private static final int ALLOC_UNIT = 4096;
  /** What a write reserves at a time when its reservation runs out: one chunk (the service's Quotas.UNIT). */
  static final long RESERVE_UNIT = CHUNK;
  /** The most one reservation asks for (a writer that keeps growing a file doubles its ask up to this). */
  static final long MAX_RESERVE_ASK = 8L * CHUNK;
  /** Zeros sent by hole punching, in pieces; never written to. */
  private static final byte[] ZEROS = new byte[1 << 20];

  private final MetaClient meta;
  private final StorageClient storage;
  private final FsConfig config;
  private final Map<Long, Handle> handles = new ConcurrentHashMap<>();
  /** Inode records by number (open, or closed with writes not yet durable); guarded by itself. */
  private final Map<Long, OpenInode> inodes = new HashMap<>();
  /** Records in {@link #inodes} with no handle open; guarded by {@link #inodes}. */
  private int lingering;
  private final AtomicLong nextFh = new AtomicLong(1);
  private final ScheduledExecutorService flusher;

  /** Write-backs of one inode on their way at once. */
  static final int DEPTH = 4;
  /** Write buffers on their way to the daemons at once, over all inodes (memory: this many write buffers). */
  static final int WRITE_BACK_BUFFERS = 16;
  private static final int FREE_BUFFERS_KEPT = 4;
  /**
   * How long a chunk answered by alloc_chunk serves the write-backs of its index before it is asked again (and
   * at the latest at the next commit): a snapshot taken meanwhile is seen by writes sent after this bound.
   */
  /** The first read-ahead window of a sequential reader; it doubles up to the configured read-ahead. */
  static final int MIN_READ_AHEAD = 128 << 10;
  /** How far from the end of the last read a read still counts as sequential. */
  static final long SEQUENTIAL_SLACK = 1 << 20;
  /** Chunks a sequential writer asks alloc_chunk for ahead of its writes. */
  static final int PREFETCH_CHUNKS = 2;
  static final long WRITE_REF_TTL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
  private final ExecutorService pipeline = Executors.newFixedThreadPool(16, r -> {
    Thread t = new Thread(r, "shoal-write-back");
    t.setDaemon(true);
    return t;
  });
  private final Semaphore buffers = new Semaphore(WRITE_BACK_BUFFERS);
  private final Queue<byte[]> freeBuffers = new ConcurrentLinkedQueue<>();

  /** One open descriptor; {@code errSeq} is the inode's failure count this handle has reported (errseq). */
  private static final class Handle {
    final long fh;
    final OpenInode inode;
    final int flags;
    int errSeq;

    Handle(long fh, OpenInode inode, int flags) {
      this.fh = fh;
      this.inode = inode;
      this.flags = flags;
    }
  }

  /** relatime (Linux's default): atime is updated when it is not newer than mtime/ctime, or a day old. */
  private static final long RELATIME_NS = 24L * 3600 * 1_000_000_000L;
  /** A noatime mount: reads never update atime. */
  private volatile boolean noatime;

  public FileIo(MetaClient meta, StorageClient storage, FsConfig config) {
    this.meta = meta;
    this.storage = storage;
    this.config = config;
    Duration age = config.dirtyAge();
    if (age.isZero()) {
      flusher = null;
    } else {
      flusher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "shoal-flusher");
        t.setDaemon(true);
        return t;
      });
      long tick = Math.max(10, age.toMillis() / 4);
      flusher.scheduleWithFixedDelay(this::flushOld, tick, tick, TimeUnit.MILLISECONDS);
    }
  }

  /**
   * Opens the regular file {@code attr} describes (attributes fetched fresh by the caller: close-to-open) and
   * returns a new handle id. {@code flags} are open(2)'s flags.
   */
  /**
   * Another client may have changed {@code a}'s file while it stayed open here (seen on taking a lock): the
   * open file's size, chunk map and read-ahead follow the fresh attributes. This client's own unflushed writes
   * stay (the visible size covers them).
   */
  public void refresh(Attr a) {
    OpenInode n;
    synchronized (inodes) {
      n = inodes.get(a.getIno());
    }
    if (n == null) {
      return;
    }
    n.lock.lock();
    try {
      if (!n.isStale(a)) {
        n.tookSize(a);
      }
      n.chunks.clear();
      n.changes.incrementAndGet(); // chunks asked for writing are asked again (writeRef)
      n.dropReadAhead();
    } finally {
      n.lock.unlock();
    }
  }

  /** Reads leave atime alone (the mount has the noatime option). */
  public void setNoatime(boolean noatime) {
    this.noatime = noatime;
  }

  /** Linux's relatime rule for the attributes an open saw. */
  private boolean atimeDue(Attr a) {
    return !noatime && (a.getAtimeNs() <= a.getMtimeNs() || a.getAtimeNs() <= a.getCtimeNs()
        || nowNanos() - a.getAtimeNs() >= RELATIME_NS);
  }

  public long open(Attr attr, int flags) {
    OpenInode n;
    synchronized (inodes) {
      n = inodes.get(attr.getIno());
      if (n == null) {
        n = new OpenInode(attr.getIno());
        inodes.put(attr.getIno(), n);
      } else if (n.refs == 0) {
        lingering--;
      }
      n.refs++;
    }
    long fh = nextFh.getAndIncrement();
    Handle h = new Handle(fh, n, flags & O_ACCMODE);
    n.lock.lock();
    try {
      // Close-to-open: whatever other clients committed before this open is what reads see now. Attributes
      // older than this record's (fetched before its own commit landed: the flusher, another descriptor's
      // close) would take the size back below bytes this client committed: the record's size stands then.
      boolean fresh = !n.isStale(attr);
      if (fresh) {
        n.tookSize(attr);
      }
      n.chunks.clear();
      n.changes.incrementAndGet(); // chunks asked for writing are asked again (writeRef)
      n.dropReadAhead();
      n.atimeDue = atimeDue(attr);
      if (!n.dirty && fresh) {
        n.allocBase = attr.getAllocatedBytes();
        n.allocPending = 0;
        n.hulls.clear();
      }
      // Like Linux's errseq_sample: a failure nobody has reported yet is reported on this descriptor too.
      h.errSeq = n.errSeen ? n.errSeq : n.errSeq - 1;
    } finally {
      n.lock.unlock();
    }
    handles.put(fh, h);
    return fh;
  }

  /** The inode a handle is open on. */
  public long inoOf(long fh) throws FsException {
    return handle(fh).inode.ino;
  }

  /**
   * Reads up to {@code length} bytes at {@code offset}; returns the count (short only at the end of file).
   * Reads see this client's own writes, also those still buffered.
   */
  public int read(long fh, long offset, int length, ByteSink dst) throws MetaException, IOException, FsException {
    OpenInode n = handle(fh).inode;
    n.lock.lock();
    try {
      try {
        flushBuffer(n);
      } catch (MetaException | IOException e) {
        // Remembered for the writers' next write, flush and fsync; the read itself can go on.
      }
      drain(n); // the bytes this client wrote are on the daemons before it reads them there
      long size = n.visibleSize();
      if (offset >= size || length <= 0) {
        return 0;
      }
      int want = (int) Math.min(length, size - offset);
      int done = 0;
      while (done < want) {
        long pos = offset + done;
        if (pos < n.readAheadStart || pos >= n.readAheadStart + n.readAheadLen) {
          fillReadAhead(n, pos, size, want - done);
        }
        int from = (int) (pos - n.readAheadStart);
        int take = Math.min(want - done, n.readAheadLen - from);
        dst.put(done, n.readAhead, from, take);
        done += take;
      }
      n.lastReadEnd = offset + want;
      if (n.atimeDue) {
        // Before the reply: the kernel drops its cached atime after a read and asks getattr next.
        n.atimeDue = false;
        try {
          meta.setAttr(SetAttrRequest.newBuilder().setIno(n.ino).setAtimeRead(true).build());
        } catch (MetaException e) {
          // The bytes were read; a lost atime update is not worth failing the read for.
          LOG.debug("atime of inode {} not updated: {}", n.ino, e.getMessage());
        }
      }
      return want;
    } finally {
      n.lock.unlock();
    }
  }

  /**
   * Fetches [pos, pos + window) clipped to the chunk and the file size into the read-ahead window. The window
   * grows for a sequential reader (a read near where the last one ended: the kernel's own read-ahead may send
   * neighbouring reads out of order), doubling from {@link #MIN_READ_AHEAD} up to the configured read-ahead; a
   * read elsewhere fetches only what it asks for (whole 4 KiB pages), so a random 4 KiB read moves 4 KiB.
   */
  private void fillReadAhead(OpenInode n, long pos, long size, int asked) throws MetaException, IOException {
    int index = chunkIndex(pos);
    int inChunk = (int) (pos % CHUNK);
    boolean sequential = n.lastReadEnd >= 0 && Math.abs(pos - n.lastReadEnd) <= SEQUENTIAL_SLACK;
    int window = sequential
        ? (int) Math.min(config.readAheadBytes(), Math.max(MIN_READ_AHEAD, 2L * n.readAheadWindow))
        : (int) Math.min(config.readAheadBytes(), roundUp(Math.max(asked, 1)));
    n.readAheadWindow = window;
    int len = (int) Math.min(Math.min(window, CHUNK - inChunk), size - pos);
    if (n.readAhead == null || n.readAhead.length < len) {
      n.readAhead = new byte[sequential ? config.readAheadBytes() : Math.max(len, MIN_READ_AHEAD)];
    }
    n.readAheadLen = 0;
    ChunkRef ref = chunkForRead(n, index);
    if (ref == null) {
      Arrays.fill(n.readAhead, 0, len, (byte) 0);
    } else {
      ByteString data;
      try {
        data = storage.read(ref, inChunk, len);
      } catch (StaleChunkException e) {
        // The chunk was deleted (another client truncated or removed it and its space was reclaimed): this map
        // is stale. Fetch it again, once; the index is then a hole or another chunk.
        n.chunks.remove(index);
        ref = chunkForRead(n, index);
        data = ref == null ? ByteString.copyFrom(new byte[len]) : storage.read(ref, inChunk, len);
      }
      if (data.size() != len) {
        throw new IOException("chunk " + ref.getChunkId() + " returned " + data.size() + " bytes, wanted " + len);
      }
      data.copyTo(n.readAhead, 0);
    }
    n.readAheadStart = pos;
    n.readAheadLen = len;
  }

  private ChunkRef chunkForRead(OpenInode n, int index) throws MetaException {
    ChunkRef known = n.chunks.get(index);
    if (known == null) {
      int count = (int) Math.min(config.chunkMapWindow(), (long) Integer.MAX_VALUE - index + 1);
      List<ChunkRef> refs = meta.getChunks(n.ino, index, count);
      for (int i = 0; i < count; i++) {
        n.rememberChunk(index + i, OpenInode.HOLE);
      }
      for (ChunkRef r : refs) {
        n.rememberChunk(r.getIndex(), r);
      }
      known = n.chunks.get(index);
    }
    return known == OpenInode.HOLE ? null : known;
  }

  /**
   * Writes {@code length} bytes at {@code offset} into the write buffer, sending full buffers on. Fails with a
   * write-back error of this inode that this handle has not reported yet (and then writes nothing).
   */
  public int write(long fh, long offset, int length, ByteSource src) throws MetaException, IOException, FsException {
    Handle h = handle(fh);
    OpenInode n = h.inode;
    if (offset < 0 || (offset + length - 1) / CHUNK > Integer.MAX_VALUE) {
      throw new FsException(Errno.EFBIG, "offset " + offset + " beyond the largest file");
    }
    n.lock.lock();
    try {
      reap(n);
      reportError(h, false);
      if (n.readAheadLen > 0 && offset < n.readAheadStart + n.readAheadLen
          && offset + length > n.readAheadStart) {
        n.dropReadAhead();
      }
      int cap = config.writeBufferBytes();
      int done = 0;
      try {
        while (done < length) {
          long pos = offset + done;
          if (n.bufLen > 0 && (pos != n.bufStart + n.bufLen || chunkIndex(pos) != chunkIndex(n.bufStart))) {
            flushBuffer(n);
          }
          if (n.bufLen == 0) {
            n.bufStart = pos;
          }
          int toChunkEnd = (int) (CHUNK - pos % CHUNK);
          int take = admit(n, pos, Math.min(length - done, Math.min(cap - n.bufLen, toChunkEnd)), done == 0);
          if (take == 0) {
            break; // past the quota: a short write; the next one fails with EDQUOT
          }
          if (n.buf == null) {
            n.buf = takeBuffer();
          }
          src.copyTo(done, n.buf, n.bufLen, take);
          n.bufLen += take;
          done += take;
          if (!n.dirty) {
            n.dirtySinceNanos = System.nanoTime();
            n.dirty = true;
          }
          if (pos + take > n.pendingEnd) {
            n.pendingEnd = pos + take;
          }
          if (n.bufLen == cap || take == toChunkEnd) {
            flushBuffer(n);
          }
        }
      } catch (MetaException | IOException e) {
        // This descriptor hears of the failure now; the others on their next write, flush or fsync.
        markReported(h, false);
        throw e;
      }
      n.lastWriteNs = nowNanos();
      if (n.written.size() >= MAX_EXTENTS) {
        flushBuffer(n); // every accepted write in this commit: its reservation accounting starts over after it
        commitWrite(n);
      }
      return done;
    } finally {
      n.lock.unlock();
    }
  }

  /**
   * Hands the write buffer to the write-back pipeline and returns without waiting for the daemon: up to
   * {@link #DEPTH} write-backs of one inode are on their way at once (and {@link #WRITE_BACK_BUFFERS} in all),
   * each sent by a pipeline thread that holds no lock. One that overlaps an earlier one still on its way waits
   * for it (a daemon would apply them in either order). Their outcome is taken back by the thread holding the
   * inode's lock ({@link #reap}); {@link #drain} waits for all of them, which every commit, sync and read does
   * first, so a committed size still never covers bytes the daemons did not acknowledge. Fails at once only
   * when the chunk could not be asked for (then, as a failed send, it is remembered for every handle); a failed
   * send is remembered when it is taken back, and reported by the next write, flush or fsync.
   */
  private void flushBuffer(OpenInode n) throws MetaException, IOException {
    if (n.bufLen == 0) {
      return;
    }
    int index = chunkIndex(n.bufStart);
    WriteBack w = new WriteBack(index, (int) (n.bufStart % CHUNK), n.bufStart, n.bufLen, n.buf);
    n.buf = null; // the next write takes a fresh buffer; this one belongs to the write-back now
    n.bufLen = 0;
    try {
      w.ref = writeRef(n, index);
    } catch (MetaException e) {
      giveBack(w.buf);
      failed(n, w.start, e.errno(), e.getMessage());
      throw e;
    } catch (IOException e) {
      giveBack(w.buf);
      failed(n, w.start, e instanceof StaleChunkException ? Errno.ESTALE : Errno.EIO, e.getMessage());
      throw e;
    }
    buffers.acquireUninterruptibly(); // released by the sending thread, which never waits for a lock
    synchronized (n.sent) {
      while (inFlight(n, w, -1) >= DEPTH || inFlight(n, w, w.index) < 0) {
        awaitSent(n);
      }
      n.sent.add(w);
    }
    if (w.inChunk + w.len == CHUNK) {
      // A writer that reached a chunk's end is likely sequential: ask for the next chunks before it needs them.
      // (Not one at a chunk's start: every small file is written there once, and asking ahead for it cost two
      // placements in the log per file, chunk records nothing writes, and their deletes later.)
      for (int ahead = 1; ahead <= PREFETCH_CHUNKS && index <= Integer.MAX_VALUE - ahead; ahead++) {
        prefetchRef(n, index + ahead);
      }
    }
    try {
      pipeline.execute(() -> send(n, w));
    } catch (RuntimeException e) { // the pipeline is shut down: the mount is closing
      buffers.release();
      synchronized (n.sent) {
        w.failure = new IOException("the write-back pipeline is closed", e);
        w.done = true;
        n.sent.notifyAll();
      }
    }
  }

  /**
   * With {@code n.sent}'s monitor: with {@code index} -1 the number of write-backs of {@code n} on their way;
   * else -1 if one of them overlaps {@code w}, or a non-negative count if none does.
   */
  private static int inFlight(OpenInode n, WriteBack w, int index) {
    int count = 0;
    for (WriteBack o : n.sent) {
      if (o.done) {
        continue;
      }
      if (index >= 0 && o.start < w.start + w.len && w.start < o.start + o.len) {
        return -1;
      }
      count++;
    }
    return count;
  }

  private static void awaitSent(OpenInode n) {
    try {
      n.sent.wait();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while waiting for write-backs", e);
    }
  }

  /** A pipeline thread: sends one write-back, holding no lock while the daemon answers. */
  private void send(OpenInode n, WriteBack w) {
    IOException failure = null;
    try {
      storage.write(w.ref, w.inChunk, UnsafeByteOperations.unsafeWrap(w.buf, 0, w.len), false);
    } catch (IOException e) {
      failure = e;
    } catch (RuntimeException e) {
      failure = new IOException(e.toString(), e);
    } finally {
      buffers.release();
    }
    synchronized (n.sent) {
      w.failure = failure;
      w.done = true;
      n.sent.notifyAll();
    }
  }

  /**
   * With n's lock: takes back the finished write-backs: acknowledged bytes join the next commit and sync;
   * failures are remembered for every handle; those refused as stale wait in {@code refused} to go again.
   */
  private void reap(OpenInode n) {
    List<WriteBack> finished = new ArrayList<>();
    synchronized (n.sent) {
      for (Iterator<WriteBack> it = n.sent.iterator(); it.hasNext(); ) {
        WriteBack w = it.next();
        if (w.done) {
          finished.add(w);
          it.remove();
        }
      }
    }
    for (WriteBack w : finished) {
      if (w.failure instanceof StaleChunkException) {
        n.refused.add(w);
      } else if (w.failure != null) {
        giveBack(w.buf);
        failed(n, w.start, Errno.EIO, w.failure.getMessage());
      } else {
        giveBack(w.buf);
        acknowledged(n, w);
      }
    }
  }

  /**
   * With n's lock: waits until every write-back of n has its answer and takes them back; those a daemon refused
   * as stale (write fencing: the chunk was deleted, or frozen at a newer epoch) are sent again, in the order they
   * were made, to the chunk the metadata service answers now (once; a second refusal is ESTALE).
   */
  private void drain(OpenInode n) {
    synchronized (n.sent) {
      while (inFlight(n, null, -1) > 0) {
        awaitSent(n);
      }
    }
    reap(n);
    if (n.refused.isEmpty()) {
      return;
    }
    List<WriteBack> again = new ArrayList<>(n.refused);
    n.refused.clear();
    again.sort(Comparator.comparingLong(w -> w.seq));
    for (WriteBack w : again) {
      n.writeRefs.remove(w.index);
      n.chunks.remove(w.index);
    }
    for (WriteBack w : again) {
      try {
        ChunkRef ref = writeRef(n, w.index);
        storage.write(ref, w.inChunk, UnsafeByteOperations.unsafeWrap(w.buf, 0, w.len), false);
        w.ref = ref;
        acknowledged(n, w);
      } catch (MetaException e) {
        failed(n, w.start, e.errno(), e.getMessage());
      } catch (IOException e) {
        failed(n, w.start, e instanceof StaleChunkException ? Errno.ESTALE : Errno.EIO, e.getMessage());
      } finally {
        giveBack(w.buf);
      }
    }
  }

  /** With n's lock: the daemons acknowledged {@code w}'s bytes. */
  private static void acknowledged(OpenInode n, WriteBack w) {
    n.markUnsynced(w.ref);
    n.ackedEnd = Math.max(n.ackedEnd, w.start + w.len);
    int[] ext = n.written.get(w.index);
    if (ext == null) {
      n.written.put(w.index, new int[] {w.inChunk, w.inChunk + w.len});
    } else {
      ext[0] = Math.min(ext[0], w.inChunk);
      ext[1] = Math.max(ext[1], w.inChunk + w.len);
    }
  }

  /** With n's lock: a send from {@code start} on failed; the next commit stays below it. */
  private static void failed(OpenInode n, long start, int errno, String message) {
    n.failedFrom = Math.min(n.failedFrom, start);
    n.hulls.clear(); // the failed bytes are in no extent: fetch the service's view again
    recordFailure(n, errno, message);
  }

  /**
   * The chunk index {@code index}'s write-backs go to: asked of the metadata service (alloc_chunk) for the first
   * write-back of the index since the last commit, and again when that answer is older than
   * {@link #WRITE_REF_TTL_NANOS}; the write-backs in between reuse it. Asked again, it may be a new chunk (a
   * snapshot taken since froze the old one: copy-on-write), so the index's earlier write-backs must have landed
   * first: their bytes are then in the copy.
   */
  private ChunkRef writeRef(OpenInode n, int index) throws MetaException, IOException {
    long changes = n.changes.get();
    if (changes != n.refsSeen) {
      // Another client (or this one) changed the inode since these were asked for: a truncate there may have
      // dropped their chunks. Ask again; the write-backs already sent to them must land first.
      drain(n);
      forgetWriteRefs(n);
      n.refsSeen = changes;
    }
    ChunkRef ref = n.writeRefs.get(index);
    Long at = n.writeRefAt.get(index);
    if (ref != null && at != null && System.nanoTime() - at < WRITE_REF_TTL_NANOS && n.refused.isEmpty()) {
      return ref;
    }
    if (ref != null || !n.refused.isEmpty()) {
      drain(n); // without a cached ref none of the index's write-backs is on its way (commit clears them)
    }
    long asked = System.nanoTime();
    OpenInode.Ahead ahead = prefetched(n, index);
    if (ahead != null) {
      asked = ahead.askedAt();
      ref = copyOnWrite(n.ino, index, ahead.ref().join(), n.written.get(index));
      n.rememberChunk(index, ref);
    } else {
      ref = chunkForWrite(n, index);
    }
    n.writeRefs.put(index, ref);
    n.writeRefAt.put(index, asked);
    return ref;
  }

  /**
   * A sequential writer filled chunk {@code index - 1}: asks alloc_chunk for {@code index} now, on a pipeline
   * thread, so the write-back that crosses into it does not wait for a metadata round trip (placement ahead). An
   * answer older than {@link #WRITE_REF_TTL_NANOS} when it is wanted is thrown away and asked again; a chunk asked
   * for and never written costs nothing (it holds no bytes and reads as zeros).
   */
  private void prefetchRef(OpenInode n, int index) {
    if (n.writeRefs.containsKey(index) || n.prefetch.containsKey(index)) {
      return;
    }
    if (n.prefetch.size() >= 2 * PREFETCH_CHUNKS) {
      n.prefetch.clear(); // a writer that jumps around: its old asks are not wanted
    }
    long ino = n.ino;
    n.prefetch.put(index, new OpenInode.Ahead(System.nanoTime(), CompletableFuture.supplyAsync(() -> {
      try {
        return meta.allocChunk(ino, index);
      } catch (MetaException e) {
        throw new CompletionException(e);
      }
    }, pipeline)));
  }

  /** The prefetched answer for {@code index} if there is a fresh one (then it is taken), else null. */
  private static OpenInode.Ahead prefetched(OpenInode n, int index) {
    OpenInode.Ahead a = n.prefetch.remove(index);
    if (a == null) {
      return null;
    }
    try {
      ChunkRef ref = a.ref().get(60, TimeUnit.SECONDS);
      return System.nanoTime() - a.askedAt() < WRITE_REF_TTL_NANOS ? new OpenInode.Ahead(a.askedAt(),
          CompletableFuture.completedFuture(ref)) : null;
    } catch (ExecutionException | TimeoutException e) {
      return null; // asked again on the writer's thread, which then sees the error itself
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private byte[] takeBuffer() {
    byte[] b = freeBuffers.poll();
    return b != null && b.length == config.writeBufferBytes() ? b : new byte[config.writeBufferBytes()];
  }

  private void giveBack(byte[] b) {
    if (b != null && freeBuffers.size() < FREE_BUFFERS_KEPT) {
      freeBuffers.offer(b);
    }
  }

  /** One buffer on its way to a storage daemon; {@code done} and {@code failure} guarded by the inode's sent. */
  static final class WriteBack {
    private static final AtomicLong SEQ = new AtomicLong();
    final long seq = SEQ.incrementAndGet();
    final int index;
    final int inChunk;
    final long start;
    final int len;
    final byte[] buf;
    ChunkRef ref;
    boolean done;
    IOException failure;

    WriteBack(int index, int inChunk, long start, int len, byte[] buf) {
      this.index = index;
      this.inChunk = inChunk;
      this.start = start;
      this.len = len;
      this.buf = buf;
    }
  }

  // ---- quota reservations (metadata-service core Quotas) ----

  /**
   * How many of the {@code len} bytes at {@code pos} (within one chunk) this session may write now: all of them
   * if its reservation for the inode covers the growth of the allocation they cause (as the service will count
   * it: the chunk's written hull, whole 4 KiB units per inode); else it asks the service for more (one
   * {@link #RESERVE_UNIT} or what the write needs); if the grant falls short (the quota or the pool is nearly
   * full), the bytes that fit. None fit: 0 when some bytes of this write(2) were taken already (a short write),
   * else EDQUOT (ENOSPC when the pool is full) for the application, before anything is buffered.
   */
  private int admit(OpenInode n, long pos, int len, boolean first)
      throws MetaException, IOException, FsException {
    int index = chunkIndex(pos);
    int lo = (int) (pos % CHUNK);
    int[] hull = hullOf(n, index);
    long growth = growth(hull, lo, lo + len);
    int take = len;
    if (!fits(n, growth)) {
      int refused = reserveFor(n, growth);
      if (!fits(n, growth) && n.allocPending > 0) {
        // What the session holds may be less than the writes accepted since the last commit used (a replaced
        // session lost its reservations): commit them (their growth becomes usage, from what is left of the
        // reservation or the free space), then ask again from a clean count.
        flushBuffer(n);
        n.bufStart = pos;
        commitWrite(n);
        refused = reserveFor(n, growth);
      }
      if (!fits(n, growth)) {
        int lowOk = 0;
        int highBad = len;
        while (highBad - lowOk > 1) {
          int mid = (lowOk + highBad) >>> 1;
          if (fits(n, growth(hull, lo, lo + mid))) {
            lowOk = mid;
          } else {
            highBad = mid;
          }
        }
        take = lowOk;
        if (take == 0) {
          if (first) {
            throw new FsException(refused, refused == Errno.ENOSPC ? "the storage pool is full"
                : "the volume's quota is used up (" + n.reserved + " bytes reserved for inode " + n.ino + ")");
          }
          return 0;
        }
        growth = growth(hull, lo, lo + take);
      }
    }
    if (growth > 0) {
      if (hull[0] == hull[1]) {
        hull[0] = lo;
        hull[1] = lo + take;
      } else {
        hull[0] = Math.min(hull[0], lo);
        hull[1] = Math.max(hull[1], lo + take);
      }
      n.allocPending += growth;
    }
    return take;
  }

  /**
   * Asks the service for what {@code growth} more needs beyond what this session holds (at least one unit);
   * returns the errno to give if it was refused (EDQUOT, or ENOSPC when the pool is full).
   */
  private int reserveFor(OpenInode n, long growth) throws MetaException {
    long need = charge(n, growth) - n.reserved;
    try {
      // A writer that keeps growing the file asks for twice as much each time (up to MAX_RESERVE_ASK), so a
      // long sequential write costs a handful of reservations instead of one metadata round trip per chunk.
      long ask = Math.max(n.reserveAsk, need);
      n.reserveAsk = Math.min(MAX_RESERVE_ASK, Math.max(RESERVE_UNIT, n.reserveAsk * 2));
      n.reserved = meta.reserve(n.ino, ask);
      return Errno.EDQUOT;
    } catch (MetaException e) {
      if (e.code() != Code.EDQUOT && e.code() != Code.ENOSPC) {
        throw e;
      }
      return e.code().getNumber();
    }
  }

  /** The bytes of usage the accepted writes plus {@code growth} more cost (4 KiB units of the whole inode). */
  private static long charge(OpenInode n, long growth) {
    return roundUp(n.allocBase + n.allocPending + growth) - roundUp(n.allocBase);
  }

  private static boolean fits(OpenInode n, long growth) {
    return growth == 0 || charge(n, growth) <= n.reserved;
  }

  private static long roundUp(long bytes) {
    return (bytes + ALLOC_UNIT - 1) / ALLOC_UNIT * ALLOC_UNIT;
  }

  /** How much the hull {@code h} grows by covering [lo, hi). */
  private static long growth(int[] h, int lo, int hi) {
    if (hi <= lo) {
      return 0;
    }
    if (h[0] == h[1]) {
      return hi - lo;
    }
    return (long) Math.max(h[1], hi) - Math.min(h[0], lo) - (h[1] - h[0]);
  }

  /** The written hull of chunk {@code index} as far as this client knows; fetched with the chunk map. */
  private int[] hullOf(OpenInode n, int index) throws MetaException {
    int[] h = n.hulls.get(index);
    if (h == null) {
      if (n.hulls.size() >= OpenInode.MAX_CHUNK_REFS) {
        n.hulls.clear(); // refetched; errs only towards reserving more
      }
      ChunkRef ref = chunkForRead(n, index);
      h = ref == null || ref.getLo() >= ref.getHi() ? new int[] {0, 0} : new int[] {ref.getLo(), ref.getHi()};
      n.hulls.put(index, h);
    }
    return h;
  }

  /**
   * Asks the metadata service for the chunk a write-back goes to (see {@link #writeRef}): a snapshot taken since
   * the last ask freezes the chunk, and alloc_chunk then answers a new chunk to copy into (copy-on-write), so no
   * write sent after a snapshot and after this bound lands in a chunk the snapshot holds.
   */
  private ChunkRef chunkForWrite(OpenInode n, int index) throws MetaException, IOException {
    ChunkRef ref = writable(n.ino, index, n.written.get(index));
    n.rememberChunk(index, ref);
    return ref;
  }

  /** Bytes per read of a copy-on-write copy: well under gRPC's 4 MiB message limit. */
  private static final int COPY_PIECE = 1 << 20;

  /**
   * The chunk at (ino, index) to modify in place: alloc_chunk's answer, with the old chunk's bytes copied into it
   * first when it answered a copy (the old one is held by a snapshot or a clone and is never written).
   */
  /** The fence of a chunk a snapshot or clone holds: above every epoch handed out, so no write is admitted. */
  static final long FROZEN = -2L;

  private ChunkRef writable(long ino, int index) throws MetaException, IOException {
    return writable(ino, index, null);
  }

  /**
   * {@link #writable(long, int)} for an open file whose bytes {@code uncommitted} ([lo, hi) within the chunk, or
   * null) were written to the old chunk but not committed yet: the copy covers them too, or they would be lost.
   */
  private ChunkRef writable(long ino, int index, int[] uncommitted) throws MetaException, IOException {
    return copyOnWrite(ino, index, meta.allocChunk(ino, index), uncommitted);
  }

  /** alloc_chunk's answer {@code ref} made writable: the old chunk's bytes copied first when it answered a copy. */
  private ChunkRef copyOnWrite(long ino, int index, ChunkRef ref, int[] uncommitted) throws IOException {
    if (ref.getCopyFromChunkId() != 0) {
      ChunkRef from = ChunkRef.newBuilder().setIndex(index).setChunkId(ref.getCopyFromChunkId())
          .setGroupId(ref.getCopyFromGroup()).setToken(ref.getCopyFromToken()).build();
      // Only the old chunk's written extent holds bytes (the rest reads as zeros in the new chunk too).
      int lo = ref.getCopyLo() < ref.getCopyHi() ? ref.getCopyLo() : 0;
      int hi = ref.getCopyLo() < ref.getCopyHi() ? ref.getCopyHi() : CHUNK;
      if (uncommitted != null) {
        lo = Math.min(lo, uncommitted[0]);
        hi = Math.max(hi, uncommitted[1]);
      }
      // Freeze the old chunk for good before copying it: a write another client (or an earlier write-back of
      // this one) still has in flight with the old chunk map is then refused by the daemon (stale: the writer
      // fetches the map again and writes into the new chunk) instead of landing in the old chunk after the copy,
      // where the live file would lose it and the snapshot would change. Fences only rise; no writer ever holds
      // epoch 2^64 - 2 (2^64 - 1 marks a deleted chunk).
      storage.fence(from, FROZEN);
      boolean copied = false;
      if (from.getGroupId().equals(ref.getGroupId())) {
        try {
          storage.copy(from.getChunkId(), ref, lo, hi - lo); // inside the daemon: no bytes over the network
          copied = true;
        } catch (IOException e) {
          LOG.warn("copy of chunk {} inside its daemon failed ({}); copying through this client", from.getChunkId(),
              e.getMessage());
        }
      }
      for (int off = lo; !copied && off < hi; off += COPY_PIECE) {
        int len = Math.min(COPY_PIECE, hi - off);
        storage.write(ref, off, storage.read(from, off, len), false);
      }
    }
    return ref;
  }

  /** A write-back failure of inode {@code n}: every handle reports it once; logged once until reported. */
  private static void recordFailure(OpenInode n, int errno, String message) {
    if (n.errSeen) {
      LOG.warn("write-back of inode {} failed: {} (reported once to every open descriptor)", n.ino, message);
    }
    n.errSeq++;
    n.errSeen = false;
    n.lastError = new FsException(errno, "write-back of inode " + n.ino + " failed: " + message);
  }

  /**
   * This handle has reported the inode's latest failure. Only an fsync consumes it for descriptors opened later
   * (Linux's errseq_check_and_advance): a close's error is ignored by most programs (a shell redirection, say),
   * so `echo x > f && sync f` must still see it on the new descriptor of `sync`.
   */
  private static void markReported(Handle h, boolean byFsync) {
    h.errSeq = h.inode.errSeq;
    if (byFsync) {
      h.inode.errSeen = true;
    }
  }

  /** Throws the inode's latest write-back failure if this handle has not reported it yet. */
  private static void reportError(Handle h, boolean byFsync) throws FsException {
    OpenInode n = h.inode;
    if (h.errSeq != n.errSeq && n.lastError != null) {
      markReported(h, byFsync);
      throw new FsException(n.lastError.errno(), n.lastError.getMessage());
    }
  }

  /**
   * close(2) of one descriptor: sends and commits this file's writes (close-to-open), then reports a write-back
   * failure this descriptor has not reported yet.
   */
  public void flush(long fh) throws MetaException, IOException, FsException {
    Handle h = handle(fh);
    h.inode.lock.lock();
    try {
      commit(h.inode, h, false);
    } finally {
      h.inode.lock.unlock();
    }
  }

  /**
   * fsync(2)/fdatasync(2) ({@code dataOnly}; both do the same, the metadata service's state is durable anyway):
   * sends the buffer, syncs every storage group this client wrote the inode to since its last sync (through any
   * handle, also closed ones), then commits, so a committed size never covers bytes that are not durable; reports
   * a write-back failure this descriptor has not reported yet.
   */
  public void fsync(long fh, boolean dataOnly) throws MetaException, IOException, FsException {
    Handle h = handle(fh);
    h.inode.lock.lock();
    try {
      commit(h.inode, h, true);
    } finally {
      h.inode.lock.unlock();
    }
  }

  /**
   * The last close of a handle: commits, then forgets the handle. The inode's record stays (bounded) while its
   * writes are not durable yet, so a later fsync through a new descriptor syncs them.
   */
  public void release(long fh) throws MetaException, IOException, FsException {
    Handle h = handles.remove(fh);
    if (h == null) {
      throw new FsException(Errno.EBADF, "no open file " + fh);
    }
    OpenInode n = h.inode;
    n.lock.lock();
    try {
      commit(n, h, false);
    } finally {
      try {
        n.closedAtNanos = System.nanoTime();
        boolean tooMany;
        synchronized (inodes) {
          tooMany = --n.refs == 0 && afterLastClose(n) && lingering > config.unsyncedClosedMax();
          if (n.refs == 0) {
            n.reserved = 0; // the service returns it at this session's last close of the inode
          }
        }
        if (tooMany) {
          // Past the bound this close makes its own writes durable rather than remember them.
          try {
            syncGroups(n);
          } catch (IOException e) {
            recordFailure(n, Errno.EIO, e.getMessage());
            LOG.warn("inode {}: dropping the record of unsynced writes ({} closed files remembered): {}",
                n.ino, config.unsyncedClosedMax(), e.getMessage());
            n.unsynced.clear();
            n.unsyncedGroups = 0;
          }
          // Past the bound an unreported failure is not kept for later descriptors either (logged above).
          n.errSeen = true;
          synchronized (inodes) {
            dropIfIdle(n);
          }
        }
      } finally {
        n.lock.unlock();
      }
    }
  }

  /** With n's lock and the table's held, after refs reached 0: frees buffers; keeps the record only if needed. */
  private boolean afterLastClose(OpenInode n) {
    giveBack(n.buf);
    n.buf = null;
    n.readAhead = null;
    n.readAheadLen = 0;
    if (n.idle()) {
      inodes.remove(n.ino, n);
      return false;
    }
    lingering++;
    return true;
  }

  /** With n's lock and the table's held. */
  private void dropIfIdle(OpenInode n) {
    if (n.idle() && inodes.remove(n.ino, n)) {
      lingering--;
    }
  }

  /**
   * Sends the buffer, syncs if asked, commits. With a handle, reports the first write-back failure it has not
   * reported; without one (flusher, setattr, truncate) send failures are only remembered for the handles, and
   * only a failed commit throws.
   */
  private void commit(OpenInode n, Handle h, boolean sync) throws MetaException, IOException, FsException {
    try {
      flushBuffer(n);
    } catch (MetaException | IOException e) {
      // Remembered in the inode; reported below.
    }
    if (sync) {
      try {
        syncGroups(n);
      } catch (IOException e) {
        recordFailure(n, Errno.EIO, e.getMessage());
      }
    }
    if (n.dirty) {
      commitWrite(n);
    }
    // A close reports write-back failures only on descriptors open for writing (as NFS does): a reader's close
    // has nothing to do with them. fsync reports them on any descriptor (`sync FILE` opens read-only).
    if (h != null && (sync || (h.flags & O_ACCMODE) != O_RDONLY)) {
      reportError(h, sync);
    }
  }

  /** Commits the size up to what the storage daemons acknowledged (never past a failed send), mtime, extents. */
  private void commitWrite(OpenInode n) throws MetaException {
    drain(n);
    long end = Math.min(n.ackedEnd, n.failedFrom);
    CommitWriteRequest.Builder b = CommitWriteRequest.newBuilder()
        .setIno(n.ino).setEnd(end).setMtimeNs(n.lastWriteNs == 0 ? nowNanos() : n.lastWriteNs);
    for (Map.Entry<Integer, int[]> e : n.written.entrySet()) {
      b.addWritten(Extent.newBuilder().setIndex(e.getKey()).setLo(e.getValue()[0]).setHi(e.getValue()[1]));
    }
    MetaReply reply = meta.call(MetaRequest.newBuilder().setCommitWrite(b).build());
    Attr a = reply.getAttr();
    n.reserved = reply.getReservedBytes();
    n.allocBase = a.getAllocatedBytes();
    n.allocPending = 0;
    n.tookSize(a);
    n.pendingEnd = 0;
    n.dirty = false;
    n.ackedEnd = 0;
    n.failedFrom = Long.MAX_VALUE;
    n.written.clear();
    forgetWriteRefs(n); // the next write-back of each chunk asks alloc_chunk again (copy-on-write after a snapshot)
  }

  /** With n's lock and nothing of n on its way: the next write-back of each chunk asks alloc_chunk again. */
  private static void forgetWriteRefs(OpenInode n) {
    n.writeRefs.clear();
    n.writeRefAt.clear();
    n.prefetch.clear();
  }

  /** The watch says another client (or this one) changed inode {@code ino}; called without any lock. */
  public void changedElsewhere(long ino) {
    OpenInode n = record(ino);
    if (n != null) {
      n.changes.incrementAndGet();
    }
  }

  /** Makes the inode's acknowledged writes durable: one Sync per storage group written since the last sync. */
  private void syncGroups(OpenInode n) throws IOException {
    drain(n);
    List<Map.Entry<String, Set<Long>>> groups = new ArrayList<>(n.unsynced.entrySet());
    for (Map.Entry<String, Set<Long>> g : groups) {
      storage.sync(g.getKey(), g.getValue());
      n.unsynced.remove(g.getKey());
      n.unsyncedGroups = n.unsynced.size();
    }
  }

  /** Commits the inode's uncommitted writes, if this client has it open (before a setattr, say). */
  public void commitIfOpen(long ino) throws MetaException, IOException, FsException {
    OpenInode n = record(ino);
    if (n != null) {
      n.lock.lock();
      try {
        commit(n, null, false);
      } finally {
        n.lock.unlock();
      }
    }
  }

  private OpenInode record(long ino) {
    synchronized (inodes) {
      return inodes.get(ino);
    }
  }

  // ---- truncate ----

  /** truncate(2)/ftruncate(2) of inode {@code ino}, open here or not. */
  public void truncate(long ino, long size) throws MetaException, IOException, FsException {
    if (size < 0) {
      throw new FsException(Errno.EINVAL, "negative size " + size);
    }
    if (size > 0 && (size - 1) / CHUNK > Integer.MAX_VALUE) {
      throw new FsException(Errno.EFBIG, "size " + size + " beyond the largest file");
    }
    OpenInode n = record(ino);
    if (n == null) {
      truncateStored(ino, size);
      return;
    }
    n.lock.lock();
    try {
      // Commit first: a commit after the truncate would extend the file again to the old writes' end.
      commit(n, null, false);
      Attr after = truncateStored(ino, size);
      n.tookSize(after);
      n.chunks.clear();
      n.changes.incrementAndGet(); // chunks asked for writing are asked again (writeRef)
      n.dropReadAhead();
      n.hulls.clear();
      n.allocBase = after.getAllocatedBytes();
      n.allocPending = 0;
    } finally {
      n.lock.unlock();
    }
  }

  /**
   * Shrinking sets the size, then cuts the chunk that holds the new end, so that extending the file later
   * reads zeros there (chunks wholly past the end are the metadata service's to drop). Growing sets the size.
   */
  private Attr truncateStored(long ino, long size) throws MetaException, IOException, FsException {
    Attr before = meta.getAttr(ino);
    if (before.getType() == FileType.DIRECTORY) {
      throw new FsException(Errno.EISDIR, "inode " + ino + " is a directory");
    }
    Attr after = meta.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(size).build());
    if (size < before.getSize()) {
      int index = chunkIndex(size);
      for (ChunkRef ref : meta.getChunks(ino, index, 1)) {
        if (ref.getIndex() == index) {
          storage.truncate(writable(ino, index), (int) (size % CHUNK)); // copy-on-write if a snapshot holds it
        }
      }
    }
    return after;
  }

  // ---- fallocate ----

  /**
   * fallocate(2) of inode {@code ino}, open here or not. Mode 0 and {@link #FALLOC_FL_KEEP_SIZE} are the
   * metadata service's (FallocateRequest; mode 0 grows the size to offset + length). {@code PUNCH_HOLE |
   * KEEP_SIZE}: zeroes the parts of the range in chunks only partly inside it on the storage daemons, drops
   * buffered and read-ahead data, then asks the metadata service to drop the chunks wholly inside. Other modes:
   * EOPNOTSUPP; a negative offset or a non-positive length: EINVAL; past the largest file: EFBIG.
   */
  public void fallocate(long ino, int mode, long offset, long length)
      throws MetaException, IOException, FsException {
    if (offset < 0 || length <= 0) {
      throw new FsException(Errno.EINVAL, "fallocate range " + offset + "+" + length);
    }
    if ((mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE)) != 0
        || ((mode & FALLOC_FL_PUNCH_HOLE) != 0 && (mode & FALLOC_FL_KEEP_SIZE) == 0)) {
      throw new FsException(Errno.EOPNOTSUPP, "fallocate mode " + mode);
    }
    long end = offset + length;
    if (end < 0 || (end - 1) / CHUNK > Integer.MAX_VALUE) {
      throw new FsException(Errno.EFBIG, "fallocate end beyond the largest file");
    }
    OpenInode n = record(ino);
    if (n != null) {
      n.lock.lock();
    }
    try {
      long size;
      if (n != null) {
        commit(n, null, false);
        size = n.size;
      } else {
        size = meta.getAttr(ino).getSize();
      }
      if ((mode & FALLOC_FL_PUNCH_HOLE) != 0) {
        zeroPartialChunks(ino, n, offset, end, size);
      }
      MetaReply reply = meta.call(MetaRequest.newBuilder().setFallocate(FallocateRequest.newBuilder()
          .setIno(ino).setMode(mode).setOffset(offset).setLength(length)).build());
      if (n != null) {
        if (reply.hasAttr()) {
          n.tookSize(reply.getAttr());
          n.allocBase = reply.getAttr().getAllocatedBytes();
          n.reserved = reply.getReservedBytes(); // an allocation consumed this session's reservation first
        } else if (mode == 0 && end > n.size) {
          n.size = end;
        }
        n.chunks.clear();
        n.changes.incrementAndGet(); // chunks asked for writing are asked again (writeRef)
        n.dropReadAhead();
        n.hulls.clear();
        n.allocPending = 0;
      }
    } finally {
      if (n != null) {
        n.lock.unlock();
      }
    }
  }

  /** Zeroes [offset, end) clipped to the size in the chunks only partly inside the range (at most two). */
  private void zeroPartialChunks(long ino, OpenInode n, long offset, long end, long size)
      throws MetaException, IOException {
    int first = chunkIndex(offset);
    int last = chunkIndex(end - 1);
    for (int index : first == last ? new int[] {first} : new int[] {first, last}) {
      long cs = (long) index * CHUNK;
      long ce = cs + CHUNK;
      if (offset <= cs && end >= ce) {
        continue; // wholly inside: the metadata service drops it
      }
      long lo = Math.max(offset, cs);
      long hi = Math.min(Math.min(end, ce), size);
      if (hi <= lo) {
        continue;
      }
      ChunkRef ref = null;
      for (ChunkRef r : meta.getChunks(ino, index, 1)) {
        if (r.getIndex() == index) {
          ref = r;
        }
      }
      if (ref == null) {
        continue; // a hole reads as zeros already
      }
      ref = writable(ino, index); // copy-on-write if a snapshot or a clone holds it
      for (long pos = lo; pos < hi; pos += ZEROS.length) {
        int len = (int) Math.min(ZEROS.length, hi - pos);
        storage.write(ref, (int) (pos - cs), UnsafeByteOperations.unsafeWrap(ZEROS, 0, len), false);
      }
      if (n != null) {
        n.markUnsynced(ref);
      } else {
        storage.sync(ref.getGroupId(), List.of(ref.getChunkId()));
      }
    }
  }

  // ---- helpers ----

  private Handle handle(long fh) throws FsException {
    Handle h = handles.get(fh);
    if (h == null) {
      throw new FsException(Errno.EBADF, "no open file " + fh);
    }
    return h;
  }

  /**
   * {@code a} with its size raised to the end of this client's writes not yet committed, or, if {@code a} is
   * older than the open file's own view (fetched before this client's commit landed), the open file's size.
   */
  public Attr withLocalSize(Attr a) {
    OpenInode n = record(a.getIno());
    if (n == null) {
      return a;
    }
    long pending = n.pendingEnd;
    long size = n.isStale(a) ? Math.max(n.size, pending) : Math.max(a.getSize(), pending);
    return size != a.getSize() ? a.toBuilder().setSize(size).build() : a;
  }

  private static int chunkIndex(long offset) {
    return (int) (offset / CHUNK);
  }

  private static long nowNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  /**
   * One flusher tick: commits open files whose oldest uncommitted write is older than the dirty age, and syncs
   * closed files whose writes are that old and still not durable (then forgets them). Skips busy inodes.
   */
  private void flushOld() {
    try {
      long age = config.dirtyAge().toNanos();
      List<OpenInode> all;
      synchronized (inodes) {
        all = new ArrayList<>(inodes.values());
      }
      for (OpenInode n : all) {
        if ((!n.dirty && n.unsyncedGroups == 0 && n.errSeen) || !n.lock.tryLock()) {
          continue;
        }
        try {
          long now = System.nanoTime();
          if (n.dirty && now - n.dirtySinceNanos >= age) {
            try {
              commit(n, null, false);
            } catch (Exception e) {
              LOG.debug("background commit of inode {} failed: {}", n.ino, e.toString());
            }
          }
          boolean closed;
          synchronized (inodes) {
            closed = n.refs == 0 && inodes.get(n.ino) == n;
          }
          if (closed && n.unsyncedGroups > 0 && now - n.closedAtNanos >= age) {
            try {
              syncGroups(n);
            } catch (IOException e) {
              recordFailure(n, Errno.EIO, e.getMessage());
            }
          }
          synchronized (inodes) {
            if (n.refs == 0) {
              if (!n.errSeen && n.unsyncedGroups == 0 && !n.dirty && now - n.closedAtNanos >= ERROR_KEEP_NANOS) {
                // Bounded: an unreported failure of a closed file is kept for a later fsync this long only.
                n.errSeen = true;
              }
              dropIfIdle(n);
            }
          }
        } finally {
          n.lock.unlock();
        }
      }
    } catch (RuntimeException e) {
      LOG.error("background flusher failed; it runs again on the next tick", e);
    }
  }

  /** Commits every open file's writes (best effort, each failure logged once); handles stay valid. */
  public void commitAll() {
    List<OpenInode> open;
    synchronized (inodes) {
      open = new ArrayList<>(inodes.values());
    }
    for (OpenInode n : open) {
      n.lock.lock();
      try {
        commit(n, null, false);
      } catch (Exception e) {
        LOG.warn("could not commit writes to inode {} at shutdown: {}", n.ino, e.toString());
      } finally {
        n.lock.unlock();
      }
    }
  }

  /** Number of open handles. */
  public int openHandles() {
    return handles.size();
  }

  /** Records of closed inodes kept because their writes are not durable yet (for tests and status). */
  public int unsyncedClosedFiles() {
    synchronized (inodes) {
      return lingering;
    }
  }

  /**
   * Stops the flusher, commits every open file and syncs every file's unsynced writes (best effort, failures
   * logged): a clean unmount leaves everything this client acknowledged durable. Handles stay usable.
   */
  @Override
  public void close() {
    if (flusher != null) {
      flusher.shutdown();
      try {
        if (!flusher.awaitTermination(10, TimeUnit.SECONDS)) {
          LOG.warn("background flusher still running after 10 s at close");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    commitAll();
    List<OpenInode> all;
    synchronized (inodes) {
      all = new ArrayList<>(inodes.values());
    }
    for (OpenInode n : all) {
      n.lock.lock();
      try {
        syncGroups(n);
      } catch (IOException e) {
        LOG.warn("could not sync writes to inode {} at shutdown: {}", n.ino, e.getMessage());
      } finally {
        n.lock.unlock();
      }
    }
    pipeline.shutdown();
  }
}
