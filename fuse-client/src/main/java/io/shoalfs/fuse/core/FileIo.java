package io.shoalfs.fuse.core;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.SetAttrRequest;
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
 * The open-file data layer: handles, one {@link OpenInode} per open inode, and the data operations on them over
 * the metadata service (chunk map, sizes) and the storage daemons (bytes). Inode based: it never sees a path, so
 * a path-based or an inode-based filesystem can sit on top.
 *
 * <p>Consistency is close-to-open (DESIGN decision 7): open takes the attributes the caller just fetched and
 * forgets the chunk map and read-ahead of the file; writes reach the storage daemons when the write buffer fills
 * (or a read, truncate or non-contiguous write needs it) and become visible to other clients when flush, fsync or
 * release commits the new size.
 *
 * <p>Thread-safe: data operations on one inode are serialized on its {@link OpenInode}; different inodes proceed
 * in parallel.
 *
 * <p>Errors: {@link MetaException} (an errno from the metadata service), {@link IOException} (a storage daemon
 * failed) and {@link FsException} (an errno decided here, or a remembered write-back failure).
 */
public final class FileIo implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(FileIo.class);
  private static final int CHUNK = Layout.CHUNK_SIZE;
  private static final int O_ACCMODE = 03;

  private final MetaClient meta;
  private final StorageClient storage;
  private final FsConfig config;
  private final Map<Long, Handle> handles = new ConcurrentHashMap<>();
  /** Open inodes by number; guarded by itself (also guards {@link OpenInode#refs}). */
  private final Map<Long, OpenInode> inodes = new HashMap<>();
  private final AtomicLong nextFh = new AtomicLong(1);

  private record Handle(long fh, OpenInode inode, int flags) {}

  public FileIo(MetaClient meta, StorageClient storage, FsConfig config) {
    this.meta = meta;
    this.storage = storage;
    this.config = config;
  }

  /**
   * Opens the regular file {@code attr} describes (attributes fetched fresh by the caller: close-to-open) and
   * returns a new handle id. {@code flags} are open(2)'s flags.
   */
  public long open(Attr attr, int flags) {
    OpenInode n;
    synchronized (inodes) {
      n = inodes.computeIfAbsent(attr.getIno(), OpenInode::new);
      n.refs++;
    }
    synchronized (n) {
      // Close-to-open: whatever other clients committed before this open is what reads see now.
      n.size = attr.getSize();
      n.chunks.clear();
      n.dropReadAhead();
    }
    long fh = nextFh.getAndIncrement();
    handles.put(fh, new Handle(fh, n, flags & O_ACCMODE));
    return fh;
  }

  /** The inode a handle is open on. */
  public long inoOf(long fh) throws FsException {
    return handle(fh).inode().ino;
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

  /**
   * Like flush, and the data is durable on the storage daemons when it returns. {@code dataOnly} is
   * fdatasync(2)'s flag.
   */
  public void fsync(long fh, boolean dataOnly) throws MetaException, IOException, FsException {
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

  /** Commits the open inode's uncommitted writes, if this client has it open (before a setattr, say). */
  public void commitIfOpen(long ino) throws MetaException, IOException, FsException {
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

  /** truncate(2)/ftruncate(2) of inode {@code ino}, open here or not. */
  public void truncate(long ino, long size) throws MetaException, IOException, FsException {
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

  /** {@code a} with its size raised to the end of this client's writes not yet committed. */
  public Attr withLocalSize(Attr a) {
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

  /** Number of open handles. */
  public int openHandles() {
    return handles.size();
  }

  /** Commits every open file (best effort); the handles stay usable until the process ends. */
  @Override
  public void close() {
    commitAll();
  }
}
