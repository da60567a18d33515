package io.shoalfs.fuse;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.fuse.core.ByteSink;
import io.shoalfs.fuse.core.ByteSource;
import io.shoalfs.fuse.core.Errno;
import io.shoalfs.fuse.core.FileIo;
import io.shoalfs.fuse.core.FsConfig;
import io.shoalfs.fuse.core.FsException;
import io.shoalfs.fuse.core.Namespace;
import io.shoalfs.fuse.ll.FuseError;
import io.shoalfs.fuse.ll.LowLevelFs;
import io.shoalfs.fuse.ll.Notifier;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Shoal filesystem as the FUSE low-level binding sees it: kernel node ids mapped to Shoal inodes
 * ({@link NodeTable}), namespace calls to {@link Namespace}, open files and data to {@link FileIo}, directories
 * to {@link DirHandles}, locks to {@link Locks}. This class only translates: node ids, umask and caller ids, the
 * kernel's caching (timeouts, keep_cache) and errors (every MetaException / FsException code becomes the same
 * errno in a {@link FuseError}; a storage failure is EIO).
 *
 * <p>Close-to-open: open asks the metadata service for fresh attributes (OpenFile on the session, which also
 * registers the open so an unlinked file lives until the last close); the kernel keeps the file's cached pages
 * only if the inode's version is the one those pages were read at, and its cached attributes are invalidated
 * when the version moved.
 */
final class ShoalLowLevelFs implements LowLevelFs {
  private static final Logger LOG = LoggerFactory.getLogger(ShoalLowLevelFs.class);
  /** st_blksize: what cp and friends size their buffers by. */
  static final int IO_BLOCK = 128 << 10;
  private static final int STATFS_BLOCK = 4096;
  private static final int O_ACCMODE = 03;
  private static final int LOCK_UN = 8;
  private static final int O_EXCL = 0200;
  private static final int O_TRUNC = 01000;
  private static final Stat NO_STAT = new Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);

  private final NodeTable nodes;
  private final Namespace ns;
  private final FileIo files;
  private final DirHandles dirs;
  private final Locks locks;
  private final LongSupplier sessionId;
  private final CacheTimeouts timeouts;
  private final Coherence coherence;
  private volatile Notifier notifier;

  ShoalLowLevelFs(NodeTable nodes, Namespace ns, FileIo io, DirHandles dirs, Locks locks, LongSupplier sessionId,
      CacheTimeouts timeouts) {
    this.nodes = nodes;
    this.ns = ns;
    this.files = io;
    this.dirs = dirs;
    this.locks = locks;
    this.sessionId = sessionId;
    this.timeouts = timeouts;
    this.coherence = new Coherence(nodes, locks, io::changedElsewhere);
  }

  /** A noatime mount: reads leave atime alone (else Linux's relatime rule applies). */
  void setNoatime(boolean noatime) {
    files.setNoatime(noatime);
  }

  /** The filesystem of the volume whose root is {@code rootIno}, with its parts wired. */
  static ShoalLowLevelFs over(MetaClient meta, StorageClient storage, long rootIno, FsConfig config,
      CacheTimeouts timeouts, LongSupplier sessionId) {
    NodeTable nodes = new NodeTable(rootIno);
    Namespace ns = new Namespace(meta);
    Locks locks = new Locks(meta, sessionId);
    return new ShoalLowLevelFs(nodes, ns, new FileIo(meta, storage, config), new DirHandles(ns, config.readDirPage()),
        locks, sessionId, timeouts);
  }

  /** Once the kernel session runs: where invalidations go (for this class and for the watch events). */
  void attach(Notifier n) {
    this.notifier = n;
    coherence.attach(n);
  }

  /** Consumes the session's watch events. */
  Coherence coherence() {
    return coherence;
  }

  FileIo fileIo() {
    return files;
  }

  NodeTable nodes() {
    return nodes;
  }

  // ---- names and attributes ----

  @Override
  public Entry lookup(Request req, long parent, String name) throws FuseError {
    long p = nodes.toShoal(parent);
    try {
      return entry(p, name, ns.lookup(p, name));
    } catch (MetaException e) {
      if (e.code() == Code.ENOENT) {
        return new Entry(0, 0, NO_STAT, 0, timeouts.negativeSec());
      }
      throw error(e);
    } catch (FsException e) {
      throw error(e);
    }
  }

  @Override
  public void forget(long ino, long nlookup) {
    long shoal = nodes.toShoal(ino);
    nodes.forget(shoal, nlookup);
    if (!nodes.holds(shoal)) {
      locks.forgotten(shoal);
    }
  }

  @Override
  public Attr getattr(Request req, long ino, long fh) throws FuseError {
    try {
      return attr(files.withLocalSize(ns.getAttr(nodes.toShoal(ino))));
    } catch (MetaException e) {
      throw error(e);
    }
  }

  @Override
  public Attr setattr(Request req, long ino, SetAttr c, long fh) throws FuseError {
    long shoal = nodes.toShoal(ino);
    try {
      if (c.has(SetAttr.SIZE)) {
        files.truncate(shoal, c.size());
      }
      SetAttrRequest.Builder b = SetAttrRequest.newBuilder().setIno(shoal);
      boolean any = false;
      if (c.has(SetAttr.MODE)) {
        b.setMode(c.mode() & 07777);
        any = true;
      }
      if (c.has(SetAttr.UID)) {
        b.setUid(c.uid());
        any = true;
      }
      if (c.has(SetAttr.GID)) {
        b.setGid(c.gid());
        any = true;
      }
      // The kernel sets ATIME together with ATIME_NOW for "now"; each time alone is the one-time change of
      // utimensat with the other UTIME_OMIT.
      if (c.has(SetAttr.ATIME_NOW)) {
        b.setAtimeNow(true);
        any = true;
      } else if (c.has(SetAttr.ATIME)) {
        b.setAtimeNs(c.atimeNs());
        any = true;
      }
      if (c.has(SetAttr.MTIME_NOW)) {
        b.setMtimeNow(true);
        any = true;
      } else if (c.has(SetAttr.MTIME)) {
        b.setMtimeNs(c.mtimeNs());
        any = true;
      }
      io.shoalfs.proto.meta.Attr a;
      if (any) {
        // Uncommitted writes would otherwise be committed later with their own mtime, undoing e.g. the
        // mtime `cp -p` sets on the open file before closing it.
        files.commitIfOpen(shoal);
        a = ns.setAttr(b.build());
      } else {
        a = ns.getAttr(shoal);
      }
      return attr(files.withLocalSize(a));
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    }
  }

  @Override
  public byte[] readlink(Request req, long ino) throws FuseError {
    try {
      return ns.readLink(nodes.toShoal(ino));
    } catch (MetaException e) {
      throw error(e);
    }
  }

  @Override
  public Entry mknod(Request req, long parent, String name, int mode, long rdev) throws FuseError {
    long p = nodes.toShoal(parent);
    int m = (mode & Namespace.S_IFMT) | (mode & ~req.umask() & 07777);
    try {
      return entry(p, name, ns.mknod(p, name, m, rdev, req.uid(), req.gid()));
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public Entry mkdir(Request req, long parent, String name, int mode) throws FuseError {
    long p = nodes.toShoal(parent);
    try {
      return entry(p, name, ns.mkdir(p, name, mode & ~req.umask(), req.uid(), req.gid()));
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public void unlink(Request req, long parent, String name) throws FuseError {
    try {
      ns.unlink(nodes.toShoal(parent), name, req.uid());
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public void rmdir(Request req, long parent, String name) throws FuseError {
    try {
      ns.rmdir(nodes.toShoal(parent), name, req.uid());
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public Entry symlink(Request req, byte[] target, long parent, String name) throws FuseError {
    long p = nodes.toShoal(parent);
    try {
      return entry(p, name, ns.symlink(p, name, target, req.uid(), req.gid()));
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public void rename(Request req, long parent, String name, long newParent, String newName, int flags)
      throws FuseError {
    try {
      ns.rename(nodes.toShoal(parent), name, nodes.toShoal(newParent), newName, flags, req.uid());
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public Entry link(Request req, long ino, long newParent, String newName) throws FuseError {
    long p = nodes.toShoal(newParent);
    try {
      return entry(p, newName, ns.link(nodes.toShoal(ino), p, newName));
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public StatFs statfs(Request req, long ino) throws FuseError {
    try {
      StatFsReply s = ns.statFs(nodes.rootIno());
      // df: size = the quota (the pool for the root volume), used = allocated bytes, avail = what writes may
      // still reserve (less what open writers hold), inodes = the inode quota and the inodes used.
      long capacity = s.getCapacityBytes();
      long free = Math.min(Math.max(0, capacity - s.getUsedBytes()), s.getAvailableBytes()) / STATFS_BLOCK;
      long files = s.getInodesCapacity();
      return new StatFs(STATFS_BLOCK, capacity / STATFS_BLOCK, free, free, files,
          Math.max(0, files - s.getInodesUsed()), io.shoalfs.common.Layout.NAME_MAX);
    } catch (MetaException e) {
      throw error(e);
    }
  }

  // ---- xattrs ----

  @Override
  public void setxattr(Request req, long ino, String name, byte[] value, int flags) throws FuseError {
    long shoal = nodes.toShoal(ino);
    nodes.xattrsChanged(shoal);
    try {
      if (PosixAcl.ACCESS.equals(name)) {
        setAccessAcl(ino, shoal, value, flags);
      } else {
        ns.setXattr(shoal, name, value, flags);
      }
    } catch (MetaException e) {
      throw error(e);
    } finally {
      nodes.xattrsChanged(shoal); // a getxattr that ran alongside must not keep an absence from before
    }
  }

  /**
   * system.posix_acl_access, as Linux filesystems treat it (the kernel leaves it to us: POSIX ACLs are not
   * negotiated with it): the ACL's owner, group (or mask) and other entries become the mode's permission bits,
   * which is what `cp -a` relies on (it copies permissions as an ACL, without a chmod). An ACL that says no more
   * than the mode is not kept; an extended one is kept as an xattr but not enforced (no POSIX ACL support yet).
   */
  private void setAccessAcl(long nodeId, long shoal, byte[] value, int flags) throws MetaException, FuseError {
    PosixAcl acl = PosixAcl.parse(value);
    if (acl == null) {
      throw new FuseError(FuseError.EINVAL, "malformed POSIX ACL");
    }
    io.shoalfs.proto.meta.Attr a = ns.getAttr(shoal);
    int mode = (a.getMode() & ~0777) | acl.permissionBits();
    if (mode != a.getMode()) {
      ns.setAttr(SetAttrRequest.newBuilder().setIno(shoal).setMode(mode).build());
    }
    if (acl.equivalentToMode()) {
      try {
        ns.removeXattr(shoal, PosixAcl.ACCESS);
      } catch (MetaException e) {
        if (e.code() != io.shoalfs.proto.meta.Code.ENODATA) {
          throw e;
        }
      }
    } else {
      ns.setXattr(shoal, PosixAcl.ACCESS, value, flags);
    }
    Notifier n = notifier;
    if (n != null) {
      n.invalidateInode(nodeId, 0, 0); // the kernel cached the old mode; the watch would tell it a bit later
    }
  }

  @Override
  public byte[] getxattr(Request req, long ino, String name) throws FuseError {
    long shoal = nodes.toShoal(ino);
    boolean caps = CAPABILITY.equals(name);
    long gen = caps ? nodes.capabilityGen(shoal) : 0;
    if (gen == -1) {
      throw new FuseError(FuseError.ENODATA, "no xattr '" + name + "'");
    }
    try {
      return ns.getXattr(shoal, name);
    } catch (MetaException e) {
      if (caps && e.code() == io.shoalfs.proto.meta.Code.ENODATA) {
        nodes.noCapability(shoal, gen);
      }
      throw error(e);
    }
  }

  /** The xattr the kernel asks for before every write(2) (file capabilities to drop); see NodeTable. */
  private static final String CAPABILITY = "security.capability";

  @Override
  public List<String> listxattr(Request req, long ino) throws FuseError {
    try {
      List<String> names = ns.listXattr(nodes.toShoal(ino));
      // The VFS checks trusted.* on get and set, but listing is the filesystem's to filter: only privileged
      // callers see that namespace (as on ext4; we see the caller's uid, not its capabilities).
      return req.uid() == 0 ? names : names.stream().filter(n -> !n.startsWith("trusted.")).toList();
    } catch (MetaException e) {
      throw error(e);
    }
  }

  @Override
  public void removexattr(Request req, long ino, String name) throws FuseError {
    nodes.xattrsChanged(nodes.toShoal(ino));
    try {
      ns.removeXattr(nodes.toShoal(ino), name);
    } catch (MetaException e) {
      throw error(e);
    } finally {
      nodes.xattrsChanged(nodes.toShoal(ino));
    }
  }

  // ---- open files ----

  @Override
  public Open open(Request req, long ino, int flags) throws FuseError {
    long shoal = nodes.toShoal(ino);
    try {
      io.shoalfs.proto.meta.Attr a = openFresh(shoal, flags);
      if (a.getType() == FileType.DIRECTORY) {
        closeFile(shoal);
        throw new FsException(Errno.EISDIR, "inode " + shoal + " is a directory");
      }
      long fh = files.open(a, flags);
      if ((flags & O_TRUNC) != 0 && (flags & O_ACCMODE) != 0) {
        try {
          files.truncate(shoal, 0); // the kernel sends O_TRUNC here when it lets the filesystem truncate
        } catch (MetaException | IOException | FsException e) {
          release(fh, shoal);
          throw e;
        }
      }
      return new Open(fh, keepPages(ino, shoal, a), false);
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    }
  }

  @Override
  public Created create(Request req, long parent, String name, int mode, int flags) throws FuseError {
    long p = nodes.toShoal(parent);
    try {
      io.shoalfs.proto.meta.Attr a = ns.create(p, name, mode & ~req.umask(), req.uid(), req.gid(), (flags & O_EXCL) != 0,
          sessionId.getAsLong());
      if (a.getType() != FileType.REGULAR) {
        closeFile(a.getIno());
        throw new FsException(Errno.EISDIR, name + " exists and is not a regular file");
      }
      long fh = files.open(a, flags);
      Entry e = entry(p, name, a);
      nodes.keepPages(a.getIno(), a.getVersion());
      return new Created(e, new Open(fh, false, false));
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  /** Fresh attributes for an open: OpenFile on the session (or a plain getattr without sessions). */
  private io.shoalfs.proto.meta.Attr openFresh(long shoal, int flags) throws MetaException {
    long session = sessionId.getAsLong();
    if (session == 0) {
      return ns.getAttr(shoal);
    }
    return ns.openFile(session, shoal, flags);
  }

  /**
   * After a lock is granted: what other clients wrote under their locks must be what this one reads now (as NFS
   * revalidates on lock), also through descriptors that stayed open (SQLite keeps its database open). Fresh
   * attributes refresh the open file's size and chunk map; if the data version moved since the kernel cached
   * the pages, they and the attributes are dropped before the lock is answered (the watch may be later).
   */
  private void revalidate(long nodeId, long shoal) throws MetaException {
    io.shoalfs.proto.meta.Attr a = ns.getAttr(shoal);
    files.refresh(a);
    Notifier n = notifier;
    if (!nodes.keepPages(shoal, a.getVersion()) && n != null) {
      n.invalidateInodeNow(nodeId, 0, -1);
    }
  }

  private boolean keepPages(long nodeId, long shoal, io.shoalfs.proto.meta.Attr a) {
    boolean keep = nodes.keepPages(shoal, a.getVersion());
    Notifier n = notifier;
    if (!keep && n != null) {
      // The kernel may hold attributes (the size) from before another client's close; pages go by keep_cache.
      n.invalidateInode(nodeId, 0, 0);
    }
    return keep;
  }

  private void closeFile(long shoal) {
    long session = sessionId.getAsLong();
    if (session == 0) {
      return;
    }
    try {
      ns.closeFile(session, shoal);
    } catch (MetaException e) {
      // The session's expiry closes it at the latest.
      LOG.warn("could not close inode {} in session {}: {}", shoal, session, e.getMessage());
    }
  }

  private void release(long fh, long shoal) {
    try {
      files.release(fh);
    } catch (MetaException | IOException | FsException e) {
      LOG.warn("release of inode {}: {}", shoal, e.getMessage());
    } finally {
      closeFile(shoal);
    }
  }

  @Override
  public int read(Request req, long ino, long fh, long offset, int size, ByteBuffer dst) throws FuseError {
    long start = System.nanoTime();
    try {
      ByteSink sink = (dstOffset, src, srcOffset, length) -> dst.put((int) dstOffset, src, srcOffset, length);
      int n = files.read(fh, offset, size, sink);
      Meters m = meters;
      if (m != null) {
        m.readBytes.increment(n);
        m.reads.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
      }
      return n;
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    }
  }

  @Override
  public int write(Request req, long ino, long fh, long offset, ByteBuffer data, int flags) throws FuseError {
    int pos = data.position();
    long start = System.nanoTime();
    try {
      ByteSource src = (srcOffset, dst, dstOffset, length) -> data.get(pos + (int) srcOffset, dst, dstOffset, length);
      int n = files.write(fh, offset, data.remaining(), src);
      Meters m = meters;
      if (m != null) {
        m.writtenBytes.increment(n);
        m.writes.record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
      }
      return n;
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    }
  }

  /** The data path's meters: bytes and latency of the kernel's read and write requests. */
  private record Meters(io.micrometer.core.instrument.Counter readBytes,
      io.micrometer.core.instrument.Counter writtenBytes, io.micrometer.core.instrument.Timer reads,
      io.micrometer.core.instrument.Timer writes) {}

  private volatile Meters meters;

  /**
   * Counts the bytes of read and write requests ({@code shoal_fuse_read_bytes_total}, {@code _written_}) and
   * times them ({@code shoal_fuse_requests_seconds{op=read|write}}: write-back makes a write's time the copy
   * into the buffer unless the buffer is full).
   */
  public void measuredBy(io.shoalfs.common.metrics.MeterGroup g) {
    String what = "FUSE read and write requests, arrival to reply";
    meters = new Meters(g.bytes("shoal.fuse.read", "bytes read through the mount"),
        g.bytes("shoal.fuse.written", "bytes written through the mount"),
        g.requests("shoal.fuse.requests", what, "read"), g.requests("shoal.fuse.requests", what, "write"));
  }

  @Override
  public void flush(Request req, long ino, long fh, long lockOwner) throws FuseError {
    long shoal = nodes.toShoal(ino);
    try {
      files.flush(fh);
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    } finally {
      try {
        locks.release(shoal, lockOwner, false);
      } catch (MetaException e) {
        LOG.warn("could not release the POSIX locks of owner {} on inode {}: {}", lockOwner, shoal,
            e.getMessage());
      }
    }
  }

  @Override
  public void release(Request req, long ino, long fh, int flags, long lockOwner, boolean flockRelease) {
    long shoal = nodes.toShoal(ino);
    if (flockRelease) {
      try {
        locks.release(shoal, lockOwner, true);
      } catch (MetaException e) {
        LOG.warn("could not release the flock lock on inode {}: {}", shoal, e.getMessage());
      }
    }
    release(fh, shoal);
  }

  @Override
  public void fsync(Request req, long ino, long fh, boolean dataOnly) throws FuseError {
    try {
      files.fsync(fh, dataOnly);
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    }
  }

  // ---- directories ----

  @Override
  public Open opendir(Request req, long ino, int flags) throws FuseError {
    long shoal = nodes.toShoal(ino);
    try {
      return new Open(dirs.open(shoal, nodes.parentOf(shoal)), false, false);
    } catch (FsException e) {
      throw error(e);
    }
  }

  @Override
  public void readdir(Request req, long ino, long fh, long offset, DirFiller filler) throws FuseError {
    try {
      dirs.read(fh, offset, (it, next) -> filler.add(it.name(), it.ino(), it.type(), next));
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public void readdirplus(Request req, long ino, long fh, long offset, DirPlusFiller filler) throws FuseError {
    long parent = nodes.toShoal(ino);
    try {
      dirs.read(fh, offset, (it, next) -> {
        if (it.name().equals(".") || it.name().equals("..")) {
          // The kernel does not link "." and ".." from readdirplus and takes no reference for them.
          Stat s = new Stat(it.ino(), it.type() | 0755, 2, 0, 0, 0, 0, 0, IO_BLOCK, 0, 0, 0);
          return filler.add(it.name(), new Entry(0, 0, s, 0, 0), next);
        }
        io.shoalfs.proto.meta.Attr a;
        try {
          a = files.withLocalSize(ns.getAttr(it.ino()));
        } catch (MetaException e) {
          if (e.code() == Code.ENOENT) {
            return true; // removed since the page was read
          }
          throw e;
        }
        Entry e = new Entry(nodes.toKernel(a.getIno()), 0, stat(a), timeouts.attrSec(), timeouts.entrySec());
        if (!filler.add(it.name(), e, next)) {
          return false;
        }
        nodes.looked(a.getIno(), parent, it.name());
        return true;
      });
    } catch (MetaException | FsException e) {
      throw error(e);
    }
  }

  @Override
  public void releasedir(Request req, long ino, long fh) {
    dirs.release(fh);
  }

  // ---- locks, fallocate ----

  @Override
  public Lock getlk(Request req, long ino, long fh, long lockOwner, Lock lock) throws FuseError {
    try {
      return locks.getlk(nodes.toShoal(ino), lockOwner, lock);
    } catch (MetaException e) {
      throw error(e);
    }
  }

  @Override
  public void setlk(Request req, long ino, long fh, long lockOwner, Lock lock, boolean sleep) throws FuseError {
    long shoal = nodes.toShoal(ino);
    try {
      if (lock.type() == Lock.F_UNLCK) {
        files.commitIfOpen(shoal); // what was written under the lock is visible before the lock is
      }
      locks.setlk(shoal, lockOwner, lock, sleep, req);
      if (lock.type() != Lock.F_UNLCK) {
        revalidate(ino, shoal);
      }
    } catch (FsException | IOException e) {
      throw error(e);
    } catch (MetaException e) {
      throw error(e);
    } catch (InterruptedException e) {
      throw new FuseError(FuseError.EINTR, "lock wait interrupted");
    }
  }

  @Override
  public void flock(Request req, long ino, long fh, long lockOwner, int op) throws FuseError {
    long shoal = nodes.toShoal(ino);
    boolean unlock = (op & LOCK_UN) != 0;
    try {
      if (unlock) {
        files.commitIfOpen(shoal);
      }
      locks.flock(shoal, lockOwner, op, req);
      if (!unlock) {
        revalidate(ino, shoal);
      }
    } catch (FsException | IOException e) {
      throw error(e);
    } catch (MetaException e) {
      throw error(e);
    } catch (InterruptedException e) {
      throw new FuseError(FuseError.EINTR, "lock wait interrupted");
    }
  }

  @Override
  public void fallocate(Request req, long ino, long fh, int mode, long offset, long length) throws FuseError {
    try {
      files.fallocate(nodes.toShoal(ino), mode, offset, length);
    } catch (MetaException | FsException | IOException e) {
      throw error(e);
    }
  }

  // ---- conversions ----

  /** An entry reply for {@code a}, found as {@code name} in {@code parent}: the kernel holds one more reference. */
  private Entry entry(long parent, String name, io.shoalfs.proto.meta.Attr a) {
    nodes.looked(a.getIno(), parent, name);
    return new Entry(nodes.toKernel(a.getIno()), 0, stat(files.withLocalSize(a)), timeouts.attrSec(),
        timeouts.entrySec());
  }

  private Attr attr(io.shoalfs.proto.meta.Attr a) {
    return new Attr(stat(a), timeouts.attrSec());
  }

  static Stat stat(io.shoalfs.proto.meta.Attr a) {
    return new Stat(a.getIno(), Namespace.modeOf(a), a.getNlink(), a.getUid(), a.getGid(), a.getRdev(),
        a.getSize(), a.getBlocks(), IO_BLOCK, a.getAtimeNs(), a.getMtimeNs(), a.getCtimeNs());
  }

  static FuseError error(Exception e) {
    if (e instanceof MetaException me) {
      return new FuseError(me.errno(), me.getMessage());
    }
    if (e instanceof FsException fe) {
      return new FuseError(fe.errno(), fe.getMessage());
    }
    return new FuseError(FuseError.EIO, e.getMessage() == null ? e.toString() : e.getMessage());
  }
}
