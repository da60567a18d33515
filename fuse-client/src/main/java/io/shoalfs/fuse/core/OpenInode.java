package io.shoalfs.fuse.core;

import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The client's state of one regular file while a handle has it open, or after the last close while it still
 * holds writes not yet durable (or a failure not yet reported): one write buffer, one read-ahead window, the
 * chunk map, the storage groups to sync, and the write-back error sequence. Shared by every handle of this
 * inode so that all of them see each other's writes.
 *
 * <p>Everything except {@code refs} is guarded by {@link #lock} (a lock rather than the monitor, so that the
 * background flusher can skip an inode that is busy instead of waiting behind it). {@code size},
 * {@code pendingEnd}, {@code dirty} and {@code unsyncedGroups} are volatile so getattr and the inode table can
 * read them without the lock.
 */
final class OpenInode {
  /** Marks a chunk index the metadata service said has no chunk (a hole). */
  static final ChunkRef HOLE = ChunkRef.getDefaultInstance();
  /** Bound on remembered chunk refs; past it the map starts over (refs are fetched again on demand). */
  static final int MAX_CHUNK_REFS = 65_536;
  /** Bound on chunk ids remembered per storage group for Sync; past it the Sync names none (syncs all). */
  static final int MAX_SYNC_CHUNKS = 1024;
  static final Set<Long> ALL_CHUNKS = Set.of();

  final long ino;
  /** Set at open when Linux's relatime rule asks for an atime update on the next read; guarded by lock. */
  boolean atimeDue;
  final ReentrantLock lock = new ReentrantLock();
  /** Open handles; guarded by the inode table's lock. */
  int refs;

  /** Size as the metadata service last told us (at open, after our commits and truncates). */
  volatile long size;
  /**
   * The inode's version in the newest attributes {@link #size} was taken from (the service bumps it on every
   * change). Attributes with a lower one were fetched before a change this record already took, such as its
   * own commit by the flusher while a getattr or an open was on its way: they are stale and must not take the
   * size back. Written after {@link #size}, so a reader without the lock that sees it sees that size too.
   */
  volatile long version;
  /** Highest end offset written by the application since the last commit, 0 if none (what getattr shows). */
  volatile long pendingEnd;
  /** Written since the last commit: the commit must set the size and the mtime. */
  volatile boolean dirty;
  /** When the oldest write not yet committed was made (System.nanoTime), for the bounded dirty age. */
  long dirtySinceNanos;
  long lastWriteNs;
  /** Highest end offset the storage daemons acknowledged since the last commit. */
  long ackedEnd;
  /** Lowest start offset of a send that failed since the last commit, Long.MAX_VALUE if none. */
  long failedFrom = Long.MAX_VALUE;
  /** Per chunk index, {lo, hi} acknowledged since the last commit (CommitWriteRequest.written, for st_blocks). */
  final Map<Integer, int[]> written = new HashMap<>();

  byte[] buf;
  long bufStart;
  int bufLen;

  byte[] readAhead;
  long readAheadStart;
  int readAheadLen;
  /** The last read-ahead window's size and where the last read ended (-1: none yet), for the growing window. */
  int readAheadWindow;
  long lastReadEnd = -1;

  final Map<Integer, ChunkRef> chunks = new HashMap<>();

  /*
   * Write-backs (FileIo's pipeline): the buffers sent to the storage daemons and not yet taken back by the
   * thread holding {@link #lock}. {@code sent} is guarded by the monitor of {@code sent} itself (the sending
   * threads never take {@link #lock}); everything a finished write-back changes in this record is changed by the
   * thread holding {@link #lock} when it takes the write-back back (FileIo#reap).
   */
  final List<FileIo.WriteBack> sent = new ArrayList<>();
  /** Write-backs a daemon refused as stale, to send again in order once their chunk is asked again; lock. */
  final List<FileIo.WriteBack> refused = new ArrayList<>();
  /** The chunk each index's write-backs go to since the last commit, and when it was asked for; lock. */
  final Map<Integer, ChunkRef> writeRefs = new HashMap<>();
  final Map<Integer, Long> writeRefAt = new HashMap<>();
  /** Counts changes of the inode seen by the watch; the write refs and asks ahead belong to {@link #refsSeen}. */
  final java.util.concurrent.atomic.AtomicLong changes = new java.util.concurrent.atomic.AtomicLong();
  long refsSeen;
  /** alloc_chunk asked ahead for the next chunks of a sequential writer (FileIo#prefetchRef); lock. */
  final Map<Integer, Ahead> prefetch = new HashMap<>();

  /** One alloc_chunk asked ahead: when it was asked, and its answer. */
  record Ahead(long askedAt, java.util.concurrent.CompletableFuture<ChunkRef> ref) {}
  /** What the next quota reservation asks for (doubles while the file keeps growing); lock. */
  long reserveAsk = FileIo.RESERVE_UNIT;

  /*
   * Quota reservations (metadata-service core Quotas): what this session holds reserved for the inode, the
   * inode's allocated bytes as the service last said, the growth of the allocation by writes accepted since
   * the last commit, and per chunk the hull {lo, hi} of the written bytes this client knows of (the service's
   * extent widened by this client's accepted writes), from which that growth is computed as the service will.
   */
  long reserved;
  long allocBase;
  long allocPending;
  final Map<Integer, int[]> hulls = new HashMap<>();
  /**
   * Storage groups written since the last successful sync, each with the chunks written there ({@link
   * #ALL_CHUNKS} once more than {@link #MAX_SYNC_CHUNKS}: then Sync names none, which syncs the whole daemon).
   */
  final Map<String, Set<Long>> unsynced = new LinkedHashMap<>();
  volatile int unsyncedGroups;
  /** When the last handle closed (System.nanoTime), for the flusher's sync of closed files. */
  long closedAtNanos;

  /**
   * Write-back errors, like Linux's errseq: {@code errSeq} counts failures; each handle remembers the count it
   * has reported, so every descriptor reports each failure once; {@code errSeen} says whether any descriptor has
   * reported the latest through fsync (a descriptor opened later reports only an error no fsync has reported).
   */
  int errSeq;
  volatile boolean errSeen = true;
  FsException lastError;

  OpenInode(long ino) {
    this.ino = ino;
  }

  long visibleSize() {
    return Math.max(size, pendingEnd);
  }

  /** True if {@code a} is older than what this record knows (see {@link #version}). */
  boolean isStale(Attr a) {
    return a.getVersion() < version;
  }

  /** Takes the size of attributes the service just answered (a commit, truncate, fallocate, fresh open). */
  void tookSize(Attr a) {
    size = a.getSize();
    version = Math.max(version, a.getVersion());
  }

  void dropReadAhead() {
    readAheadLen = 0;
  }

  void rememberChunk(int index, ChunkRef ref) {
    if (chunks.size() >= MAX_CHUNK_REFS) {
      chunks.clear();
    }
    chunks.put(index, ref);
  }

  void markUnsynced(ChunkRef ref) {
    Set<Long> ids = unsynced.get(ref.getGroupId());
    if (ids == null) {
      ids = new TreeSet<>();
      unsynced.put(ref.getGroupId(), ids);
    }
    if (ids != ALL_CHUNKS) {
      if (ids.size() >= MAX_SYNC_CHUNKS) {
        unsynced.put(ref.getGroupId(), ALL_CHUNKS);
      } else {
        ids.add(ref.getChunkId());
      }
    }
    unsyncedGroups = unsynced.size();
  }

  /** Nothing left that needs this record once no handle is open. */
  boolean idle() {
    boolean sending;
    synchronized (sent) {
      sending = !sent.isEmpty();
    }
    return refs == 0 && !dirty && unsyncedGroups == 0 && errSeen && !sending && refused.isEmpty();
  }
}
