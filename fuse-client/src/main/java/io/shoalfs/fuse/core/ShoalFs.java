package io.shoalfs.fuse.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The filesystem as the FUSE adapter sees it: path-based namespace operations and handle-based data
 * operations over the metadata service (namespace, chunk map, sizes) and the storage daemons (bytes).
 *
 * <p>Consistency is close-to-open (DESIGN decision 7): open fetches fresh attributes and forgets the chunk map
 * and read-ahead of the file; writes reach the storage daemons when the write buffer fills (or a read,
 * truncate or non-contiguous write needs it) and become visible to other clients when flush, fsync or release
 * commits the new size. Nothing is cached beyond the open handles, except the short-lived path cache.
 *
 * <p>Thread-safe: the FUSE loop calls in from many threads. Data operations on one inode are serialized on its
 * {@link OpenInode}; different inodes proceed in parallel.
 *
 * <p>Errors: {@link MetaException} (an errno from the metadata service), {@link IOException} (a storage daemon
 * failed) and {@link FsException} (an errno decided here).
 */
public final class ShoalFs implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ShoalFs.class);
  private static final int CHUNK = Layout.CHUNK_SIZE;
  private static final int O_ACCMODE = 03;
  private static final int O_EXCL = 0200;

  private final MetaClient meta;
  private final StorageClient storage;
  private final long rootIno;
  private final FsConfig config;
  private final PathCache paths;
  private final DirAttrCache dirs;
  private final Map<Long, Handle> handles = new ConcurrentHashMap<>();
  /** Open inodes by number; guarded by itself (also guards {@link OpenInode#refs}). */
  private final Map<Long, OpenInode> inodes = new HashMap<>();
  private final AtomicLong nextFh = new AtomicLong(1);

  private record Handle(long fh, OpenInode inode, int flags) {}

  /** A path resolved to an inode; {@code attr} is set when a fresh lookup produced it. */
  private record Resolved(long ino, Attr attr, boolean cached) {}

  @FunctionalInterface
  private interface PathOp<T> {
    T apply(Resolved r) throws MetaException, IOException, FsException;
  }

  /** Receives directory entries; returns false when the kernel's buffer is full. */
  @FunctionalInterface
  public interface DirFiller {
    boolean add(String name, long ino, FileType type);
  }

  /** One of the two times of utimens: leave it, set it to the service's "now", or set it to a value. */
  public record TimeUpdate(Kind kind, long epochNanos) {
    public enum Kind { OMIT, NOW, SET }

    public static final TimeUpdate OMIT = new TimeUpdate(Kind.OMIT, 0);
    public static final TimeUpdate NOW = new TimeUpdate(Kind.NOW, 0);

    public static TimeUpdate at(long epochNanos) {
      return new TimeUpdate(Kind.SET, epochNanos);
    }
  }

  public ShoalFs(MetaClient meta, StorageClient storage, long rootIno, FsConfig config) {
    this.meta = meta;
    this.storage = storage;
    this.rootIno = rootIno;
    this.config = config;
    this.paths = new PathCache(config.pathTtl(), config.pathCacheEntries());
    this.dirs = new DirAttrCache(config.pathTtl(), config.pathCacheEntries());
  }

  public long rootIno() {
    return rootIno;
  }

  // ---- namespace ----

  /** Attributes of {@code path}; the size includes this client's writes not yet committed. */
  public Attr getAttr(String path) throws MetaException, IOException, FsException {
    return withLocalSize(onPath(path, r -> {
      Attr dir = r.attr() == null ? dirs.get(r.ino()) : null;
      return dir != null ? dir : freshAttr(r);
    }));
  }

  public Attr getAttr(long fh) throws MetaException, FsException {
    Handle h = handle(fh);
    return withLocalSize(meta.getAttr(h.inode().ino));
  }

  public void readDir(String path, DirFiller filler) throws MetaException, IOException, FsException {
    // The first page goes through onPath so a stale cached inode is retried; later pages cannot be, since
    // entries already went to the kernel.
    String[] after = {""};
    long[] ino = {0};
    boolean more = onPath(path, r -> {
      ReadDirReply page = meta.readDir(r.ino(), "", config.readDirPage());
      ino[0] = r.ino();
      return deliver(page, filler, after) && page.getMore();
    });
    while (more) {
      ReadDirReply page = meta.readDir(ino[0], after[0], config.readDirPage());
      more = deliver(page, filler, after) && page.getMore();
    }
  }

  private static boolean deliver(ReadDirReply page, DirFiller filler, String[] after) {
    for (DirEntry e : page.getEntriesList()) {
      if (!filler.add(e.getName(), e.getIno(), e.getType())) {
        return false;
      }
      after[0] = e.getName();
    }
    return !page.getEntriesList().isEmpty();
  }

  public Attr mkdir(String path, int mode, int uid, int gid) throws MetaException, IOException, FsException {
    String name = checkedName(path);
    long gen = paths.generation();
    Attr a = onPath(parentOf(path), p -> {
      dirs.invalidate(p.ino());
      return meta.mkdir(p.ino(), name, mode & 07777, uid, gid);
    });
    paths.put(path, a.getIno(), gen);
    return a;
  }

  public void unlink(String path) throws MetaException, IOException, FsException {
    String name = checkedName(path);
    try {
      onPath(parentOf(path), p -> {
        dirs.invalidate(p.ino());
        meta.unlink(p.ino(), name);
        return null;
      });
    } finally {
      paths.invalidateTree(path);
    }
  }

  public void rmdir(String path) throws MetaException, IOException, FsException {
    String name = checkedName(path);
    try {
      onPath(parentOf(path), p -> {
        dirs.invalidate(p.ino());
        meta.rmdir(p.ino(), name);
        return null;
      });
    } finally {
      paths.invalidateTree(path);
    }
  }

  public void rename(String from, String to) throws MetaException, IOException, FsException {
    String fromName = checkedName(from);
    String toName = checkedName(to);
    try {
      Resolved src = resolve(parentOf(from), true);
      Resolved dst = resolve(parentOf(to), true);
      dirs.invalidate(src.ino());
      dirs.invalidate(dst.ino());
      try {
        meta.rename(src.ino(), fromName, dst.ino(), toName, 0);
        return;
      } catch (MetaException e) {
        if (e.code() != Code.ENOENT || !(src.cached() || dst.cached())) {
          throw e;
        }
      }
      paths.invalidateChain(from);
      paths.invalidateChain(to);
      Resolved src2 = resolve(parentOf(from), false);
      Resolved dst2 = resolve(parentOf(to), false);
      dirs.invalidate(src2.ino());
      dirs.invalidate(dst2.ino());
      meta.rename(src2.ino(), fromName, dst2.ino(), toName, 0);
    } finally {
      paths.invalidateTree(from);
      paths.invalidateTree(to);
    }
  }

  public void chmod(String path, int mode) throws MetaException, IOException, FsException {
    setAttr(path, SetAttrRequest.newBuilder().setMode(mode & 07777));
  }

  /** {@code uid} or {@code gid} of -1 (or 0xFFFFFFFF) leaves that id unchanged. */
  public void chown(String path, long uid, long gid) throws MetaException, IOException, FsException {
    SetAttrRequest.Builder b = SetAttrRequest.newBuilder();
    if (uid != -1 && uid != 0xFFFF_FFFFL) {
      b.setUid((int) uid);
    }
    if (gid != -1 && gid != 0xFFFF_FFFFL) {
      b.setGid((int) gid);
    }
    setAttr(path, b);
  }

  public void setTimes(String path, TimeUpdate atime, TimeUpdate mtime)
      throws MetaException, IOException, FsException {
    SetAttrRequest.Builder b = SetAttrRequest.newBuilder();
    switch (atime.kind()) {
      case NOW -> b.setAtimeNow(true);
      case SET -> b.setAtimeNs(atime.epochNanos());
      case OMIT -> { }
    }
    switch (mtime.kind()) {
      case NOW -> b.setMtimeNow(true);
      case SET -> b.setMtimeNs(mtime.epochNanos());
      case OMIT -> { }
    }
    setAttr(path, b);
  }

  private void setAttr(String path, SetAttrRequest.Builder b) throws MetaException, IOException, FsException {
    onPath(path, r -> {
      // Uncommitted writes would otherwise be committed later with their own mtime, undoing e.g. the mtime
      // that `cp -p` sets on the open file before closing it.
      commitIfOpen(r.ino());
      dirs.invalidate(r.ino());
      Attr a = meta.setAttr(b.setIno(r.ino()).build());
      dirs.offer(a);
      return a;
    });
  }

  public StatFsReply statFs() throws MetaException {
    return meta.statFs(rootIno);
  }

  // ---- open files ----

  /** Creates (or, without O_EXCL, opens an existing regular file) and returns a handle. */
  public long create(String path, int mode, int flags, int uid, int gid)
      throws MetaException, IOException, FsException {
    String name = checkedName(path);
    long gen = paths.generation();
    Attr a = onPath(parentOf(path),
        p -> {
          dirs.invalidate(p.ino());
          return meta.create(p.ino(), name, mode & 07777, uid, gid, (flags & O_EXCL) != 0);
        });
    paths.put(path, a.getIno(), gen);
    if (a.getType() != FileType.REGULAR) {
      throw new FsException(Errno.EISDIR, path + " is not a regular file");
    }
    return openHandle(a, flags);
  }

  public long open(String path, int flags) throws MetaException, IOException, FsException {
    Attr a = onPath(path, this::freshAttr);
    if (a.getType() == FileType.DIRECTORY) {
      throw new FsException(Errno.EISDIR, path + " is a directory");
    }
    return openHandle(a, flags);
  }

  private long openHandle(Attr a, int flags) {
    OpenInode n;
    synchronized (inodes) {
      n = inodes.computeIfAbsent(a.getIno(), OpenInode::new);
      n.refs++;
    }
    synchronized (n) {
      // Close-to-open: whatever other clients committed before this open is what reads see now.
      n.size = a.getSize();
      n.chunks.clear();
      n.dropReadAhead();
    }
    long fh = nextFh.getAndIncrement();
    handles.put(fh, new Handle(fh, n, flags & O_ACCMODE));
    return fh;
  }

  /** Reads up to {@code length} bytes at {@code offset}; returns the count (short only at the end of file). */
  public int read(long fh, long offset, int length, ByteSink dst) throws MetaException, IOException, FsException {
    OpenInode n = handle(fh).inode();
    synchronized (n) {
      flushBuffer(n, false);
      long size = n.visibleSize();
      if (offset >= size || length <= 0) {
        return 0;
      }
      int want = (int) Math.min(length, size - offset);
      int done = 0;
      while (done < want) {
        long pos = offset + done;
        if (pos < n.readAheadStart || pos >= n.readAheadStart + n.readAheadLen) {
          fillReadAhead(n, pos, size);
        }
        int from = (int) (pos - n.readAheadStart);
        int take = Math.min(want - done, n.readAheadLen - from);
        dst.put(done, n.readAhead, from, take);
        done += take;
      }
      return want;
    }
  }

  /** Fetches [pos, pos + read-ahead) clipped to the chunk and the file size into the read-ahead window. */
  private void fillReadAhead(OpenInode n, long pos, long size) throws MetaException, IOException, FsException {
    int index = chunkIndex(pos);
    int inChunk = (int) (pos % CHUNK);
    int len = (int) Math.min(Math.min(config.readAheadBytes(), CHUNK - inChunk), size - pos);
    if (n.readAhead == null) {
      n.readAhead = new byte[config.readAheadBytes()];
    }
    n.readAheadLen = 0;
    ChunkRef ref = chunkForRead(n, index);
    if (ref == null) {
      Arrays.fill(n.readAhead, 0, len, (byte) 0);
    } else {
      ByteString data = storage.read(ref, inChunk, len);
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

  /** Writes {@code length} bytes at {@code offset} into the write buffer, sending full buffers on. */
  public int write(long fh, long offset, int length, ByteSource src) throws MetaException, IOException, FsException {
    OpenInode n = handle(fh).inode();
    if (offset < 0 || (offset + length - 1) / CHUNK > Integer.MAX_VALUE) {
      throw new FsException(Errno.EFBIG, "offset " + offset + " beyond the largest file");
    }
    synchronized (n) {
      if (n.readAheadLen > 0 && offset < n.readAheadStart + n.readAheadLen
          && offset + length > n.readAheadStart) {
        n.dropReadAhead();
      }
      int cap = config.writeBufferBytes();
      if (n.buf == null) {
        n.buf = new byte[cap];
      }
      int done = 0;
      while (done < length) {
        long pos = offset + done;
        if (n.bufLen > 0 && (pos != n.bufStart + n.bufLen || chunkIndex(pos) != chunkIndex(n.bufStart))) {
          flushBuffer(n, false);
        }
        if (n.bufLen == 0) {
          n.bufStart = pos;
        }
        int toChunkEnd = (int) (CHUNK - pos % CHUNK);
        int take = Math.min(length - done, Math.min(cap - n.bufLen, toChunkEnd));
        src.copyTo(done, n.buf, n.bufLen, take);
        n.bufLen += take;
        done += take;
        n.dirty = true;
        if (pos + take > n.pendingEnd) {
          n.pendingEnd = pos + take;
        }
        if (n.bufLen == cap || take == toChunkEnd) {
          flushBuffer(n, false);
        }
      }
      n.lastWriteNs = nowNanos();
      return length;
    }
  }

  /** Sends the write buffer to its chunk. A failure drops the buffer and is remembered for flush/close. */
  private void flushBuffer(OpenInode n, boolean sync) throws MetaException, IOException, FsException {
    if (n.bufLen == 0) {
      return;
    }
    int index = chunkIndex(n.bufStart);
    int inChunk = (int) (n.bufStart % CHUNK);
    try {
      ChunkRef ref = chunkForWrite(n, index);
      // The buffer is reused only after the blocking call returned, by which time gRPC has serialized it.
      storage.write(ref, inChunk, UnsafeByteOperations.unsafeWrap(n.buf, 0, n.bufLen), sync);
      if (sync) {
        n.unsynced.remove(ref.getGroupId());
      } else {
        int last = n.bufLen - 1;
        n.unsynced.put(ref.getGroupId(),
            new OpenInode.SyncPoint(ref, inChunk + last, n.bufStart + last, n.buf[last]));
      }
    } catch (MetaException e) {
      n.writeError = new FsException(e.errno(), e.getMessage());
      throw e;
    } catch (IOException e) {
      n.writeError = new FsException(Errno.EIO, e.getMessage());
      throw e;
    } finally {
      n.bufLen = 0;
    }
  }

  private ChunkRef chunkForWrite(OpenInode n, int index) throws MetaException {
    ChunkRef known = n.chunks.get(index);
    if (known != null && known != OpenInode.HOLE) {
      return known;
    }
    ChunkRef ref = meta.allocChunk(n.ino, index);
    n.rememberChunk(index, ref);
    return ref;
  }

  /** close(2) of one descriptor: make this file's writes visible to others (close-to-open). */
  public void flush(long fh) throws MetaException, IOException, FsException {
    OpenInode n = handle(fh).inode();
    synchronized (n) {
      commit(n, false);
    }
  }

  /** Like flush, and the data is durable on the storage daemons when it returns. */
  public void fsync(long fh) throws MetaException, IOException, FsException {
    OpenInode n = handle(fh).inode();
    synchronized (n) {
      commit(n, true);
    }
  }

  /** The last close of a handle: commits, then forgets the handle (and the inode's state if it was the last). */
  public void release(long fh) throws MetaException, IOException, FsException {
    Handle h = handles.remove(fh);
    if (h == null) {
      throw new FsException(Errno.EBADF, "no open file " + fh);
    }
    OpenInode n = h.inode();
    try {
      synchronized (n) {
        commit(n, false);
      }
    } finally {
      synchronized (inodes) {
        if (--n.refs == 0) {
          inodes.remove(n.ino);
        }
      }
    }
  }

  private void commit(OpenInode n, boolean sync) throws MetaException, IOException, FsException {
    Exception sendFailure = null;
    try {
      flushBuffer(n, sync);
      if (sync) {
        syncGroups(n);
      }
    } catch (MetaException | IOException e) {
      sendFailure = e;
    }
    if (n.dirty) {
      // Even after a failed send: the size covers what the application wrote, and it hears of the failure.
      Attr a = meta.commitWrite(n.ino, n.pendingEnd, n.lastWriteNs);
      n.size = a.getSize();
      n.pendingEnd = 0;
      n.dirty = false;
    }
    FsException pending = n.writeError;
    n.writeError = null;
    if (pending != null) {
      throw pending;
    }
    if (sendFailure instanceof MetaException me) {
      throw me;
    }
    if (sendFailure instanceof IOException ioe) {
      throw ioe;
    }
  }

  /**
   * Makes earlier unsynced writes durable. The storage API has no sync-only request (an empty synced write is
   * a no-op), so each group gets its last written byte again with sync: its log is then flushed up to and
   * including every earlier write. Rewriting our own byte is the same as that write arriving a moment later.
   */
  private void syncGroups(OpenInode n) throws IOException {
    List<OpenInode.SyncPoint> points = new ArrayList<>(n.unsynced.values());
    for (OpenInode.SyncPoint p : points) {
      storage.write(p.chunk(), p.offsetInChunk(), ByteString.copyFrom(new byte[] {p.value()}), true);
      n.unsynced.remove(p.chunk().getGroupId());
    }
  }

  private void commitIfOpen(long ino) throws MetaException, IOException, FsException {
    OpenInode n;
    synchronized (inodes) {
      n = inodes.get(ino);
    }
    if (n != null) {
      synchronized (n) {
        commit(n, false);
      }
    }
  }

  // ---- truncate ----

  public void truncate(String path, long size) throws MetaException, IOException, FsException {
    onPath(path, r -> {
      truncateIno(r.ino(), size);
      return null;
    });
  }

  public void truncate(long fh, long size) throws MetaException, IOException, FsException {
    truncateIno(handle(fh).inode().ino, size);
  }

  private void truncateIno(long ino, long size) throws MetaException, IOException, FsException {
    if (size < 0) {
      throw new FsException(Errno.EINVAL, "negative size " + size);
    }
    if (size > 0 && (size - 1) / CHUNK > Integer.MAX_VALUE) {
      throw new FsException(Errno.EFBIG, "size " + size + " beyond the largest file");
    }
    OpenInode n;
    synchronized (inodes) {
      n = inodes.get(ino);
    }
    if (n == null) {
      truncateStored(ino, size);
      return;
    }
    synchronized (n) {
      // Commit first: a commit after the truncate would extend the file again to the old writes' end.
      commit(n, false);
      truncateStored(ino, size);
      // Bytes cut off need no durability, and rewriting one would bring it back past the end.
      n.unsynced.values().removeIf(p -> p.fileOffset() >= size);
      n.size = size;
      n.chunks.clear();
      n.dropReadAhead();
    }
  }

  /**
   * Shrinking sets the size, then cuts the chunk that holds the new end, so that extending the file later
   * reads zeros there (chunks wholly past the end are the metadata service's to drop). Growing sets the size.
   */
  private void truncateStored(long ino, long size) throws MetaException, IOException, FsException {
    Attr before = meta.getAttr(ino);
    if (before.getType() == FileType.DIRECTORY) {
      throw new FsException(Errno.EISDIR, "inode " + ino + " is a directory");
    }
    meta.setAttr(SetAttrRequest.newBuilder().setIno(ino).setSize(size).build());
    if (size < before.getSize()) {
      int index = chunkIndex(size);
      for (ChunkRef ref : meta.getChunks(ino, index, 1)) {
        if (ref.getIndex() == index) {
          storage.truncate(ref, (int) (size % CHUNK));
        }
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

  private Attr freshAttr(Resolved r) throws MetaException {
    if (r.attr() != null) {
      return r.attr();
    }
    Attr a = meta.getAttr(r.ino());
    dirs.offer(a);
    if (a.getNlink() == 0) {
      // Removed by another client while its path was cached here.
      throw new MetaException(Code.ENOENT, "inode " + r.ino() + " was removed");
    }
    return a;
  }

  private Attr withLocalSize(Attr a) {
    OpenInode n;
    synchronized (inodes) {
      n = inodes.get(a.getIno());
    }
    if (n == null) {
      return a;
    }
    long pending = n.pendingEnd;
    return pending > a.getSize() ? a.toBuilder().setSize(pending).build() : a;
  }

  /**
   * Runs {@code op} on the resolved path. If the path came from the cache and the operation says ENOENT, the
   * cached inode may have been removed by another client: forget it and try once more with fresh lookups.
   */
  private <T> T onPath(String path, PathOp<T> op) throws MetaException, IOException, FsException {
    Resolved r = resolve(path, true);
    try {
      return op.apply(r);
    } catch (MetaException e) {
      if (e.code() != Code.ENOENT || !r.cached()) {
        throw e;
      }
    }
    paths.invalidateChain(path);
    return op.apply(resolve(path, false));
  }

  private Resolved resolve(String path, boolean useCache) throws MetaException, FsException {
    if (path.equals("/")) {
      return new Resolved(rootIno, null, false);
    }
    if (useCache) {
      long ino = paths.get(path);
      if (ino >= 0) {
        return new Resolved(ino, null, true);
      }
    }
    String name = checkedName(path);
    long gen = paths.generation();
    Resolved parent = resolve(parentOf(path), useCache);
    Attr a = meta.lookup(parent.ino(), name);
    paths.put(path, a.getIno(), gen);
    dirs.offer(a);
    return new Resolved(a.getIno(), a, parent.cached());
  }

  private static String parentOf(String path) {
    int slash = path.lastIndexOf('/');
    return slash <= 0 ? "/" : path.substring(0, slash);
  }

  private static String checkedName(String path) throws FsException {
    if (path.isEmpty() || path.charAt(0) != '/' || path.equals("/")) {
      throw new FsException(Errno.EINVAL, "not a name: '" + path + "'");
    }
    String name = path.substring(path.lastIndexOf('/') + 1);
    if (name.isEmpty()) {
      throw new FsException(Errno.EINVAL, "empty name in '" + path + "'");
    }
    // The limit is on bytes, as the kernel counts it.
    if (name.length() > Layout.NAME_MAX / 4 && name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
        > Layout.NAME_MAX) {
      throw new FsException(Errno.ENAMETOOLONG, "name longer than " + Layout.NAME_MAX + " bytes");
    }
    return name;
  }

  private static int chunkIndex(long offset) {
    return (int) (offset / CHUNK);
  }

  private static long nowNanos() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  /** Commits every open file's writes (best effort, each failure logged once); handles stay valid. */
  public void commitAll() {
    List<OpenInode> open;
    synchronized (inodes) {
      open = new ArrayList<>(inodes.values());
    }
    for (OpenInode n : open) {
      synchronized (n) {
        try {
          commit(n, false);
        } catch (Exception e) {
          LOG.warn("could not commit writes to inode {} at shutdown: {}", n.ino, e.toString());
        }
      }
    }
  }

  public int openHandles() {
    return handles.size();
  }

  @Override
  public void close() {
    commitAll();
  }
}
