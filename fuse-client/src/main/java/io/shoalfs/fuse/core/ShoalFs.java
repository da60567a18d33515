package io.shoalfs.fuse.core;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import java.io.IOException;

/**
 * The filesystem as the FUSE adapter sees it: path-based namespace operations and handle-based data
 * operations over the metadata service (namespace, chunk map, sizes) and the storage daemons (bytes).
 *
 * <p>Consistency is close-to-open (DESIGN decision 7): open fetches fresh attributes and forgets the chunk map
 * and read-ahead of the file; writes reach the storage daemons when the write buffer fills (or a read,
 * truncate or non-contiguous write needs it) and become visible to other clients when flush, fsync or release
 * commits the new size. Nothing is cached beyond the open handles, except the short-lived path cache.
 *
 * <p>Thread-safe: the FUSE loop calls in from many threads. The open-file data layer (handles, buffers, chunk
 * maps, commits) is {@link FileIo}; this class resolves paths and delegates data operations to it.
 *
 * <p>Errors: {@link MetaException} (an errno from the metadata service), {@link IOException} (a storage daemon
 * failed) and {@link FsException} (an errno decided here).
 */
public final class ShoalFs implements AutoCloseable {
  private static final int O_EXCL = 0200;

  private final MetaClient meta;
  private final long rootIno;
  private final FsConfig config;
  private final PathCache paths;
  private final DirAttrCache dirs;
  private final FileIo io;

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
    this.rootIno = rootIno;
    this.config = config;
    this.paths = new PathCache(config.pathTtl(), config.pathCacheEntries());
    this.dirs = new DirAttrCache(config.pathTtl(), config.pathCacheEntries());
    this.io = new FileIo(meta, storage, config);
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
    return withLocalSize(meta.getAttr(io.inoOf(fh)));
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
    return io.open(a, flags);
  }

  /** Reads up to {@code length} bytes at {@code offset}; returns the count (short only at the end of file). */
  public int read(long fh, long offset, int length, ByteSink dst) throws MetaException, IOException, FsException {
    return io.read(fh, offset, length, dst);
  }

  /** Writes {@code length} bytes at {@code offset} into the write buffer, sending full buffers on. */
  public int write(long fh, long offset, int length, ByteSource src) throws MetaException, IOException, FsException {
    return io.write(fh, offset, length, src);
  }

  /** close(2) of one descriptor: make this file's writes visible to others (close-to-open). */
  public void flush(long fh) throws MetaException, IOException, FsException {
    io.flush(fh);
  }

  /** Like flush, and the data is durable on the storage daemons when it returns. */
  public void fsync(long fh) throws MetaException, IOException, FsException {
    io.fsync(fh, false);
  }

  /** The last close of a handle: commits, then forgets the handle (and the inode's state if it was the last). */
  public void release(long fh) throws MetaException, IOException, FsException {
    io.release(fh);
  }

  private void commitIfOpen(long ino) throws MetaException, IOException, FsException {
    io.commitIfOpen(ino);
  }

  // ---- truncate ----

  public void truncate(String path, long size) throws MetaException, IOException, FsException {
    onPath(path, r -> {
      truncateIno(r.ino(), size);
      return null;
    });
  }

  public void truncate(long fh, long size) throws MetaException, IOException, FsException {
    io.truncate(io.inoOf(fh), size);
  }

  private void truncateIno(long ino, long size) throws MetaException, IOException, FsException {
    io.truncate(ino, size);
  }

  // ---- helpers ----

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
    return io.withLocalSize(a);
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

  /** Commits every open file's writes (best effort, each failure logged once); handles stay valid. */
  public void commitAll() {
    io.commitAll();
  }

  public int openHandles() {
    return io.openHandles();
  }

  /** The open-file data layer this filesystem delegates to. */
  public FileIo fileIo() {
    return io;
  }

  @Override
  public void close() {
    io.close();
  }
}
