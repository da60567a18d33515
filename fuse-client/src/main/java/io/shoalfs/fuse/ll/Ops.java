package io.shoalfs.fuse.ll;

import static io.shoalfs.fuse.ll.jnr.Layout.*;

import com.kenai.jffi.MemoryIO;
import io.shoalfs.fuse.ll.LowLevelFs.Attr;
import io.shoalfs.fuse.ll.LowLevelFs.ConnInfo;
import io.shoalfs.fuse.ll.LowLevelFs.Created;
import io.shoalfs.fuse.ll.LowLevelFs.Entry;
import io.shoalfs.fuse.ll.LowLevelFs.Lock;
import io.shoalfs.fuse.ll.LowLevelFs.Open;
import io.shoalfs.fuse.ll.LowLevelFs.SetAttr;
import io.shoalfs.fuse.ll.LowLevelFs.Stat;
import io.shoalfs.fuse.ll.LowLevelFs.StatFs;
import io.shoalfs.fuse.ll.jnr.Callbacks;
import io.shoalfs.fuse.ll.jnr.Libfuse3;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.provider.ClosureManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.struct.Flock;
import ru.serce.jnrfuse.struct.Statvfs;

/**
 * The fuse_lowlevel_ops table of one session: one jnr-ffi closure per operation of {@link LowLevelFs}, each
 * turning native arguments into Java ones, calling the filesystem, and sending exactly one reply.
 *
 * <p>Callbacks run on libfuse's worker threads (fuse_session_loop_mt). Each worker owns a {@link Scratch}: the
 * native memory for entry/stat/statvfs/flock replies, names, and one growable direct buffer for read, readdir
 * and xattr replies, so the hot paths (lookup, getattr, read, write) allocate no buffers. Write data is the
 * worker's own receive buffer, wrapped (not copied) as a ByteBuffer that is reused while libfuse reuses that
 * buffer.
 */
final class Ops {
  private static final Logger LOG = LoggerFactory.getLogger(Ops.class);
  private static final MemoryIO MEM = MemoryIO.getInstance();
  private static final Libfuse3 LIB = Libfuse3.LIB;
  private static final Runtime RT = Runtime.getRuntime(Libfuse3.LIB);
  /** PATH_MAX plus the NUL: the longest name or symlink target the kernel sends or accepts. */
  private static final int STR_CAP = 4096 + 1;
  private static final long NS = 1_000_000_000L;
  private static final int LOCK_NB = 4;
  private static final int LOCK_UN = 8;

  private final LowLevelFs fs;
  private final FuseSession.Config config;
  private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(Scratch::new);
  /** Requests that may wait (F_SETLKW, blocking flock), by fuse_req_t, for the interrupt callback. */
  private final ConcurrentHashMap<Long, Req> waiting = new ConcurrentHashMap<>();
  /** Closures and their native pointers: strongly reachable for the session's life, or libfuse calls freed code. */
  private final List<Object> keepAlive = new ArrayList<>();
  private final long interruptFn;
  private volatile ConnInfo conn;

  Ops(LowLevelFs fs, FuseSession.Config config) {
    this.fs = fs;
    this.config = config;
    this.interruptFn = pointer(Callbacks.Interrupt.class, this::interrupt);
  }

  ConnInfo conn() {
    return conn;
  }

  /** Fills the 352-byte fuse_lowlevel_ops at {@code ops}; the slots of unimplemented ops stay NULL. */
  void install(long ops) {
    MEM.setMemory(ops, OPS_SIZE, (byte) 0);
    put(ops, OP_INIT, Callbacks.Init.class, this::init);
    put(ops, OP_DESTROY, Callbacks.Destroy.class, this::destroy);
    put(ops, OP_LOOKUP, Callbacks.ReqInoName.class, this::lookup);
    put(ops, OP_FORGET, Callbacks.Forget.class, this::forget);
    put(ops, OP_GETATTR, Callbacks.ReqInoFi.class, this::getattr);
    put(ops, OP_SETATTR, Callbacks.Setattr.class, this::setattr);
    put(ops, OP_READLINK, Callbacks.ReqIno.class, this::readlink);
    put(ops, OP_MKNOD, Callbacks.Mknod.class, this::mknod);
    put(ops, OP_MKDIR, Callbacks.Mkdir.class, this::mkdir);
    put(ops, OP_UNLINK, Callbacks.ReqInoName.class, this::unlink);
    put(ops, OP_RMDIR, Callbacks.ReqInoName.class, this::rmdir);
    put(ops, OP_SYMLINK, Callbacks.Symlink.class, this::symlink);
    put(ops, OP_RENAME, Callbacks.Rename.class, this::rename);
    put(ops, OP_LINK, Callbacks.Link.class, this::link);
    put(ops, OP_OPEN, Callbacks.ReqInoFi.class, this::open);
    put(ops, OP_READ, Callbacks.ReqInoSizeOffFi.class, this::read);
    put(ops, OP_WRITE, Callbacks.Write.class, this::write);
    put(ops, OP_FLUSH, Callbacks.ReqInoFi.class, this::flush);
    put(ops, OP_RELEASE, Callbacks.ReqInoFi.class, this::release);
    put(ops, OP_FSYNC, Callbacks.Fsync.class, this::fsync);
    put(ops, OP_OPENDIR, Callbacks.ReqInoFi.class, this::opendir);
    put(ops, OP_READDIR, Callbacks.ReqInoSizeOffFi.class, this::readdir);
    put(ops, OP_RELEASEDIR, Callbacks.ReqInoFi.class, this::releasedir);
    put(ops, OP_FSYNCDIR, Callbacks.Fsync.class, this::fsyncdir);
    put(ops, OP_STATFS, Callbacks.ReqIno.class, this::statfs);
    put(ops, OP_SETXATTR, Callbacks.Setxattr.class, this::setxattr);
    put(ops, OP_GETXATTR, Callbacks.Getxattr.class, this::getxattr);
    put(ops, OP_LISTXATTR, Callbacks.Listxattr.class, this::listxattr);
    put(ops, OP_REMOVEXATTR, Callbacks.ReqInoName.class, this::removexattr);
    put(ops, OP_CREATE, Callbacks.Create.class, this::create);
    put(ops, OP_GETLK, Callbacks.Getlk.class, this::getlk);
    put(ops, OP_SETLK, Callbacks.Setlk.class, this::setlk);
    put(ops, OP_FORGET_MULTI, Callbacks.ForgetMulti.class, this::forgetMulti);
    put(ops, OP_FLOCK, Callbacks.Flock.class, this::flock);
    put(ops, OP_FALLOCATE, Callbacks.Fallocate.class, this::fallocate);
    put(ops, OP_READDIRPLUS, Callbacks.ReqInoSizeOffFi.class, this::readdirplus);
    // access, bmap, ioctl, poll, write_buf, retrieve_reply, copy_file_range, lseek: NULL (libfuse answers ENOSYS;
    // access is left to default_permissions, and without write_buf libfuse never splices).
  }

  private <T> void put(long ops, int offset, Class<T> type, T fn) {
    MEM.putLong(ops + offset, pointer(type, fn));
  }

  private <T> long pointer(Class<T> type, T fn) {
    ClosureManager cm = RT.getClosureManager();
    Pointer p = cm.getClosurePointer(type, fn);
    keepAlive.add(fn);
    keepAlive.add(p);
    return p.address();
  }

  // ---------------------------------------------------------------- init / destroy

  private void init(long userdata, long connPtr) {
    try {
      int capable = MEM.getInt(connPtr + CONN_CAPABLE);
      int want = MEM.getInt(connPtr + CONN_WANT);
      int wanted = CAP_ASYNC_READ | CAP_POSIX_LOCKS | CAP_FLOCK_LOCKS | CAP_ATOMIC_O_TRUNC | CAP_READDIRPLUS
          | CAP_READDIRPLUS_AUTO | CAP_AUTO_INVAL_DATA | CAP_PARALLEL_DIROPS
          | (config.writebackCache() ? CAP_WRITEBACK_CACHE : 0);
      // HANDLE_KILLPRIV would make the filesystem clear setuid/setgid on write; leaving it to the kernel keeps
      // that right without work in every filesystem. No splicing (no write_buf), no ACLs, no explicit-only
      // invalidation (auto_inval_data instead), no writeback cache unless asked.
      int unwanted = CAP_HANDLE_KILLPRIV | CAP_SPLICE_READ | CAP_SPLICE_WRITE | CAP_SPLICE_MOVE | CAP_POSIX_ACL
          | CAP_EXPLICIT_INVAL_DATA | (config.writebackCache() ? 0 : CAP_WRITEBACK_CACHE);
      want = (want & ~unwanted) | (wanted & capable);
      MEM.putInt(connPtr + CONN_WANT, want);
      int maxWrite = (int) Math.min(Integer.toUnsignedLong(MEM.getInt(connPtr + CONN_MAX_WRITE)), config.maxWrite());
      MEM.putInt(connPtr + CONN_MAX_WRITE, maxWrite);
      int maxRa = (int) Math.min(Integer.toUnsignedLong(MEM.getInt(connPtr + CONN_MAX_READAHEAD)),
          config.maxReadahead());
      MEM.putInt(connPtr + CONN_MAX_READAHEAD, maxRa);
      ConnInfo info = new ConnInfo(MEM.getInt(connPtr + CONN_PROTO_MAJOR), MEM.getInt(connPtr + CONN_PROTO_MINOR),
          Integer.toUnsignedLong(capable), Integer.toUnsignedLong(want), maxWrite, maxRa);
      conn = info;
      LOG.debug("FUSE init: protocol {}.{}, capable {}, want {}, max_write {}, max_readahead {}",
          info.protoMajor(), info.protoMinor(), Long.toHexString(info.capable()), Long.toHexString(info.want()),
          maxWrite, maxRa);
      fs.init(info);
    } catch (Throwable t) {
      LOG.warn("init failed: {}", t.toString());
    }
  }

  private void destroy(long userdata) {
    try {
      fs.destroy();
    } catch (Throwable t) {
      LOG.warn("destroy failed: {}", t.toString());
    }
  }

  // ---------------------------------------------------------------- names and entries

  private void lookup(long req, long parent, long name) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      s.entry(fs.lookup(r, parent, string(name)));
    } catch (Throwable t) {
      err = errno(t, "lookup");
    }
    replyEntry(req, s, err);
  }

  private void forget(long req, long ino, long nlookup) {
    try {
      fs.forget(ino, nlookup);
    } catch (Throwable t) {
      errno(t, "forget");
    }
    LIB.fuse_reply_none(req);
  }

  private void forgetMulti(long req, long count, long forgets) {
    for (long i = 0; i < count; i++) {
      long at = forgets + i * FORGET_SIZE;
      try {
        fs.forget(MEM.getLong(at), MEM.getLong(at + 8));
      } catch (Throwable t) {
        errno(t, "forget");
      }
    }
    LIB.fuse_reply_none(req);
  }

  private void getattr(long req, long ino, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    double timeout = 0;
    try {
      Attr a = fs.getattr(r, ino, fi == 0 ? -1 : MEM.getLong(fi + FI_FH));
      s.stat(s.entry + ENTRY_ATTR, a.stat());
      timeout = a.timeoutSec();
    } catch (Throwable t) {
      err = errno(t, "getattr");
    }
    replyAttr(req, s, timeout, err);
  }

  private void setattr(long req, long ino, long attr, int toSet, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    double timeout = 0;
    try {
      SetAttr changes = new SetAttr(toSet, MEM.getInt(attr + STAT_MODE), MEM.getInt(attr + STAT_UID),
          MEM.getInt(attr + STAT_GID), MEM.getLong(attr + STAT_SIZE_FIELD), timeNs(attr + STAT_ATIM),
          timeNs(attr + STAT_MTIM), timeNs(attr + STAT_CTIM));
      Attr a = fs.setattr(r, ino, changes, fi == 0 ? -1 : MEM.getLong(fi + FI_FH));
      s.stat(s.entry + ENTRY_ATTR, a.stat());
      timeout = a.timeoutSec();
    } catch (Throwable t) {
      err = errno(t, "setattr");
    }
    replyAttr(req, s, timeout, err);
  }

  private void readlink(long req, long ino) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      byte[] target = fs.readlink(r, ino);
      if (target.length >= STR_CAP) {
        throw new FuseError(FuseError.ENAMETOOLONG, "symlink target too long");
      }
      s.cstr(target);
    } catch (Throwable t) {
      err = errno(t, "readlink");
    }
    if (err == 0) {
      LIB.fuse_reply_readlink(req, s.str);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void mknod(long req, long parent, long name, int mode, long rdev) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      s.entry(fs.mknod(r, parent, string(name), mode, rdev));
    } catch (Throwable t) {
      err = errno(t, "mknod");
    }
    replyEntry(req, s, err);
  }

  private void mkdir(long req, long parent, long name, int mode) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      s.entry(fs.mkdir(r, parent, string(name), mode));
    } catch (Throwable t) {
      err = errno(t, "mkdir");
    }
    replyEntry(req, s, err);
  }

  private void unlink(long req, long parent, long name) {
    int err = 0;
    try {
      fs.unlink(new Req(req), parent, string(name));
    } catch (Throwable t) {
      err = errno(t, "unlink");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void rmdir(long req, long parent, long name) {
    int err = 0;
    try {
      fs.rmdir(new Req(req), parent, string(name));
    } catch (Throwable t) {
      err = errno(t, "rmdir");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void symlink(long req, long link, long parent, long name) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      s.entry(fs.symlink(r, MEM.getZeroTerminatedByteArray(link), parent, string(name)));
    } catch (Throwable t) {
      err = errno(t, "symlink");
    }
    replyEntry(req, s, err);
  }

  private void rename(long req, long parent, long name, long newParent, long newName, int flags) {
    int err = 0;
    try {
      fs.rename(new Req(req), parent, string(name), newParent, string(newName), flags);
    } catch (Throwable t) {
      err = errno(t, "rename");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void link(long req, long ino, long newParent, long newName) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      s.entry(fs.link(r, ino, newParent, string(newName)));
    } catch (Throwable t) {
      err = errno(t, "link");
    }
    replyEntry(req, s, err);
  }

  // ---------------------------------------------------------------- files

  private void open(long req, long ino, long fi) {
    int err = 0;
    try {
      setOpen(fi, fs.open(new Req(req), ino, MEM.getInt(fi + FI_FLAGS)));
    } catch (Throwable t) {
      err = errno(t, "open");
    }
    if (err == 0) {
      LIB.fuse_reply_open(req, fi);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void create(long req, long parent, long name, int mode, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      Created c = fs.create(r, parent, string(name), mode, MEM.getInt(fi + FI_FLAGS));
      s.entry(c.entry());
      setOpen(fi, c.open());
    } catch (Throwable t) {
      err = errno(t, "create");
    }
    if (err == 0) {
      LIB.fuse_reply_create(req, s.entry, fi);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void read(long req, long ino, long size, long off, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    int n = 0;
    try {
      ByteBuffer dst = s.big((int) size);
      n = fs.read(r, ino, MEM.getLong(fi + FI_FH), off, (int) size, dst);
      if (n < 0 || n > size) {
        throw new IllegalStateException("read returned " + n + " for a request of " + size);
      }
    } catch (Throwable t) {
      err = errno(t, "read");
    }
    if (err == 0) {
      LIB.fuse_reply_buf(req, s.bigAddr, n);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void write(long req, long ino, long buf, long size, long off, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    int n = 0;
    try {
      n = fs.write(r, ino, MEM.getLong(fi + FI_FH), off, s.wrap(buf, (int) size), MEM.getInt(fi + FI_FLAGS));
      if (n < 0 || n > size) {
        throw new IllegalStateException("write returned " + n + " for a request of " + size);
      }
    } catch (Throwable t) {
      err = errno(t, "write");
    }
    if (err == 0) {
      LIB.fuse_reply_write(req, n);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void flush(long req, long ino, long fi) {
    int err = 0;
    try {
      fs.flush(new Req(req), ino, MEM.getLong(fi + FI_FH), MEM.getLong(fi + FI_LOCK_OWNER));
    } catch (Throwable t) {
      err = errno(t, "flush");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void release(long req, long ino, long fi) {
    int err = 0;
    try {
      boolean flockRelease = (MEM.getInt(fi + FI_BITS) & FI_BIT_FLOCK_RELEASE) != 0;
      fs.release(new Req(req), ino, MEM.getLong(fi + FI_FH), MEM.getInt(fi + FI_FLAGS),
          MEM.getLong(fi + FI_LOCK_OWNER), flockRelease);
    } catch (Throwable t) {
      err = errno(t, "release");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void fsync(long req, long ino, int datasync, long fi) {
    int err = 0;
    try {
      fs.fsync(new Req(req), ino, MEM.getLong(fi + FI_FH), datasync != 0);
    } catch (Throwable t) {
      err = errno(t, "fsync");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void fallocate(long req, long ino, int mode, long offset, long length, long fi) {
    int err = 0;
    try {
      fs.fallocate(new Req(req), ino, MEM.getLong(fi + FI_FH), mode, offset, length);
    } catch (Throwable t) {
      err = errno(t, "fallocate");
    }
    LIB.fuse_reply_err(req, err);
  }

  // ---------------------------------------------------------------- directories

  private void opendir(long req, long ino, long fi) {
    int err = 0;
    try {
      setOpen(fi, fs.opendir(new Req(req), ino, MEM.getInt(fi + FI_FLAGS)));
    } catch (Throwable t) {
      err = errno(t, "opendir");
    }
    if (err == 0) {
      LIB.fuse_reply_open(req, fi);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void readdir(long req, long ino, long size, long off, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    DirBuf d = new DirBuf(req, s, (int) size);
    try {
      fs.readdir(r, ino, MEM.getLong(fi + FI_FH), off, d::add);
    } catch (Throwable t) {
      err = errno(t, "readdir");
    }
    replyDir(req, s, d, err);
  }

  private void readdirplus(long req, long ino, long size, long off, long fi) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    DirBuf d = new DirBuf(req, s, (int) size);
    try {
      fs.readdirplus(r, ino, MEM.getLong(fi + FI_FH), off, d::addPlus);
    } catch (Throwable t) {
      err = errno(t, "readdirplus");
    }
    replyDir(req, s, d, err);
  }

  private void replyDir(long req, Scratch s, DirBuf d, int err) {
    if (err == 0) {
      LIB.fuse_reply_buf(req, s.bigAddr, d.used);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void releasedir(long req, long ino, long fi) {
    int err = 0;
    try {
      fs.releasedir(new Req(req), ino, MEM.getLong(fi + FI_FH));
    } catch (Throwable t) {
      err = errno(t, "releasedir");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void fsyncdir(long req, long ino, int datasync, long fi) {
    int err = 0;
    try {
      fs.fsyncdir(new Req(req), ino, MEM.getLong(fi + FI_FH), datasync != 0);
    } catch (Throwable t) {
      err = errno(t, "fsyncdir");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void statfs(long req, long ino) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      StatFs f = fs.statfs(r, ino);
      Statvfs v = s.statvfs;
      v.f_bsize.set(f.blockSize());
      v.f_frsize.set(f.blockSize());
      v.f_blocks.set(f.blocks());
      v.f_bfree.set(f.blocksFree());
      v.f_bavail.set(f.blocksAvail());
      v.f_files.set(f.files());
      v.f_ffree.set(f.filesFree());
      v.f_favail.set(f.filesFree());
      v.f_namemax.set(f.nameMax());
    } catch (Throwable t) {
      err = errno(t, "statfs");
    }
    if (err == 0) {
      LIB.fuse_reply_statfs(req, s.statvfsAddr);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  // ---------------------------------------------------------------- xattrs

  private void setxattr(long req, long ino, long name, long value, long size, int flags) {
    int err = 0;
    try {
      byte[] v = new byte[(int) size];
      MEM.getByteArray(value, v, 0, v.length);
      fs.setxattr(new Req(req), ino, string(name), v, flags);
    } catch (Throwable t) {
      err = errno(t, "setxattr");
    }
    LIB.fuse_reply_err(req, err);
  }

  private void getxattr(long req, long ino, long name, long size) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err;
    try {
      err = replyBytes(req, s, fs.getxattr(r, ino, string(name)), size);
    } catch (Throwable t) {
      err = errno(t, "getxattr");
    }
    if (err != 0) {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void listxattr(long req, long ino, long size) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err;
    try {
      List<String> names = fs.listxattr(r, ino);
      int total = 0;
      List<byte[]> encoded = new ArrayList<>(names.size());
      for (String n : names) {
        byte[] b = n.getBytes(StandardCharsets.UTF_8);
        encoded.add(b);
        total += b.length + 1;
      }
      byte[] all = new byte[total];
      int at = 0;
      for (byte[] b : encoded) {
        System.arraycopy(b, 0, all, at, b.length);
        at += b.length + 1; // the NUL after each name
      }
      err = replyBytes(req, s, all, size);
    } catch (Throwable t) {
      err = errno(t, "listxattr");
    }
    if (err != 0) {
      LIB.fuse_reply_err(req, err);
    }
  }

  /** The xattr reply rule: size 0 is a probe for the length; a buffer too small is ERANGE. Returns 0 if replied. */
  private static int replyBytes(long req, Scratch s, byte[] value, long size) {
    if (size == 0) {
      LIB.fuse_reply_xattr(req, value.length);
      return 0;
    }
    if (value.length > size) {
      return FuseError.ERANGE;
    }
    s.big(value.length);
    MEM.putByteArray(s.bigAddr, value, 0, value.length);
    LIB.fuse_reply_buf(req, s.bigAddr, value.length);
    return 0;
  }

  private void removexattr(long req, long ino, long name) {
    int err = 0;
    try {
      fs.removexattr(new Req(req), ino, string(name));
    } catch (Throwable t) {
      err = errno(t, "removexattr");
    }
    LIB.fuse_reply_err(req, err);
  }

  // ---------------------------------------------------------------- locks

  private void getlk(long req, long ino, long fi, long lock) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    try {
      Lock l = fs.getlk(r, ino, MEM.getLong(fi + FI_FH), MEM.getLong(fi + FI_LOCK_OWNER), s.readLock(lock));
      s.writeLock(l);
    } catch (Throwable t) {
      err = errno(t, "getlk");
    }
    if (err == 0) {
      LIB.fuse_reply_lock(req, s.flockAddr);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private void setlk(long req, long ino, long fi, long lock, int sleep) {
    Scratch s = scratch.get();
    Req r = new Req(req);
    int err = 0;
    boolean wait = sleep != 0;
    if (wait) {
      watchInterrupt(r);
    }
    try {
      fs.setlk(r, ino, MEM.getLong(fi + FI_FH), MEM.getLong(fi + FI_LOCK_OWNER), s.readLock(lock), wait);
    } catch (Throwable t) {
      err = errno(t, "setlk");
    } finally {
      if (wait) {
        unwatchInterrupt(r);
      }
    }
    LIB.fuse_reply_err(req, err);
  }

  private void flock(long req, long ino, long fi, int op) {
    Req r = new Req(req);
    int err = 0;
    boolean wait = (op & LOCK_NB) == 0 && op != LOCK_UN;
    if (wait) {
      watchInterrupt(r);
    }
    try {
      fs.flock(r, ino, MEM.getLong(fi + FI_FH), MEM.getLong(fi + FI_LOCK_OWNER), op);
    } catch (Throwable t) {
      err = errno(t, "flock");
    } finally {
      if (wait) {
        unwatchInterrupt(r);
      }
    }
    LIB.fuse_reply_err(req, err);
  }

  /**
   * A waiting lock request: when the kernel interrupts it (the caller got a signal), libfuse calls
   * {@link #interrupt}, which marks the request and interrupts the worker thread, so a wait in the
   * filesystem ends at once (it answers EINTR).
   */
  private void watchInterrupt(Req r) {
    waiting.put(r.req, r);
    LIB.fuse_req_interrupt_func(r.req, interruptFn, 0);
  }

  private void unwatchInterrupt(Req r) {
    // Unregistering takes the request's lock, under which libfuse runs the interrupt function: once this returns
    // no interrupt of this request can reach the thread any more, so clearing the flag here is final.
    LIB.fuse_req_interrupt_func(r.req, 0, 0);
    waiting.remove(r.req);
    Thread.interrupted();
  }

  private void interrupt(long req, long data) {
    Req r = waiting.get(req);
    if (r != null) {
      r.interruptedFlag = true;
      r.thread.interrupt();
    }
  }

  // ---------------------------------------------------------------- helpers

  private static void setOpen(long fi, Open o) {
    MEM.putLong(fi + FI_FH, o.fh());
    int bits = MEM.getInt(fi + FI_BITS) & ~(FI_BIT_KEEP_CACHE | FI_BIT_DIRECT_IO);
    if (o.keepCache()) {
      bits |= FI_BIT_KEEP_CACHE;
    }
    if (o.directIo()) {
      bits |= FI_BIT_DIRECT_IO;
    }
    MEM.putInt(fi + FI_BITS, bits);
  }

  private static void replyEntry(long req, Scratch s, int err) {
    if (err == 0) {
      LIB.fuse_reply_entry(req, s.entry);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private static void replyAttr(long req, Scratch s, double timeout, int err) {
    if (err == 0) {
      LIB.fuse_reply_attr(req, s.entry + ENTRY_ATTR, timeout);
    } else {
      LIB.fuse_reply_err(req, err);
    }
  }

  private static int errno(Throwable t, String op) {
    if (t instanceof FuseError e) {
      return e.errno();
    }
    LOG.warn("FUSE {} failed, answering EIO: {}", op, t.toString());
    return FuseError.EIO;
  }

  private static String string(long cstr) {
    return new String(MEM.getZeroTerminatedByteArray(cstr), StandardCharsets.UTF_8);
  }

  private static long timeNs(long timespec) {
    return MEM.getLong(timespec) * NS + MEM.getLong(timespec + 8);
  }

  /** The caller of one request: read once from fuse_req_ctx; interrupted() asks libfuse while the request lives. */
  private static final class Req implements LowLevelFs.Request {
    final long req;
    final Thread thread = Thread.currentThread();
    final int uid;
    final int gid;
    final int pid;
    final int umask;
    volatile boolean interruptedFlag;

    Req(long req) {
      this.req = req;
      long ctx = LIB.fuse_req_ctx(req);
      uid = MEM.getInt(ctx + CTX_UID);
      gid = MEM.getInt(ctx + CTX_GID);
      pid = MEM.getInt(ctx + CTX_PID);
      umask = MEM.getInt(ctx + CTX_UMASK);
    }

    @Override
    public int uid() {
      return uid;
    }

    @Override
    public int gid() {
      return gid;
    }

    @Override
    public int pid() {
      return pid;
    }

    @Override
    public int umask() {
      return umask;
    }

    @Override
    public boolean interrupted() {
      // Only meaningful during the call, from the calling thread (the request is freed once answered).
      return interruptedFlag || (thread == Thread.currentThread() && LIB.fuse_req_interrupted(req) != 0);
    }
  }

  /** fuse_add_direntry, then the entry's offset written by us (see {@link io.shoalfs.fuse.ll.jnr.Layout#DIRENT_OFF}). */
  static long addDirentry(long req, long buf, long bufsize, long name, long stat, long off) {
    long n = LIB.fuse_add_direntry(req, buf, bufsize, name, stat, off);
    if (n <= bufsize) {
      MEM.putLong(buf + DIRENT_OFF, off);
    }
    return n;
  }

  /** fuse_add_direntry_plus, then the entry's offset written by us (as {@link #addDirentry}). */
  static long addDirentryPlus(long req, long buf, long bufsize, long name, long entryParam, long off) {
    long n = LIB.fuse_add_direntry_plus(req, buf, bufsize, name, entryParam, off);
    if (n <= bufsize) {
      MEM.putLong(buf + DIRENTPLUS_OFF, off);
    }
    return n;
  }

  /** Packs readdir(plus) entries into the worker's reply buffer; an entry that does not fit is not taken. */
  private static final class DirBuf {
    final long req;
    final Scratch s;
    final int size;
    int used;

    DirBuf(long req, Scratch s, int size) {
      this.req = req;
      this.s = s;
      this.size = size;
      s.big(size);
    }

    boolean add(String name, long ino, int mode, long nextOffset) {
      s.cstr(name.getBytes(StandardCharsets.UTF_8));
      long st = s.entry + ENTRY_ATTR;
      MEM.putLong(st + STAT_INO, ino);
      MEM.putInt(st + STAT_MODE, mode);
      long n = addDirentry(req, s.bigAddr + used, size - used, s.str, st, nextOffset);
      if (n > size - used) {
        return false;
      }
      used += (int) n;
      return true;
    }

    boolean addPlus(String name, Entry entry, long nextOffset) {
      s.cstr(name.getBytes(StandardCharsets.UTF_8));
      s.entry(entry);
      long n = addDirentryPlus(req, s.bigAddr + used, size - used, s.str, s.entry, nextOffset);
      if (n > size - used) {
        return false;
      }
      used += (int) n;
      return true;
    }
  }

  /**
   * One worker thread's native scratch memory. Backed by direct ByteBuffers, so it is freed by the GC with the
   * session (worker threads live as long as the loop; libfuse keeps them idle instead of ending them).
   */
  private static final class Scratch {
    private final ByteBuffer small = ByteBuffer.allocateDirect(ENTRY_SIZE + STR_CAP + STATVFS_SIZE + FLOCK_SIZE + 64);
    final long entry = MEM.getDirectBufferAddress(small);
    final long str = entry + ENTRY_SIZE;
    final long statvfsAddr = align(str + STR_CAP);
    final long flockAddr = statvfsAddr + STATVFS_SIZE;
    final Statvfs statvfs = Statvfs.of(Pointer.wrap(RT, statvfsAddr));
    final Flock flock = Flock.of(Pointer.wrap(RT, flockAddr));
    private ByteBuffer bigBuf;
    long bigAddr;
    private long wrapAddr;
    private ByteBuffer wrapBuf;

    private static long align(long a) {
      return (a + 15) & ~15L;
    }

    /** The reply buffer, at least {@code size} bytes, position 0, limit size. */
    ByteBuffer big(int size) {
      if (bigBuf == null || bigBuf.capacity() < size) {
        // Grow in 128 KiB steps so the usual sizes (4 KiB readdir, 128 KiB-1 MiB reads) settle at once.
        int cap = Math.max(size, 128 * 1024);
        cap = (cap + 128 * 1024 - 1) / (128 * 1024) * (128 * 1024);
        bigBuf = ByteBuffer.allocateDirect(cap);
        bigAddr = MEM.getDirectBufferAddress(bigBuf);
      }
      bigBuf.clear().limit(size);
      return bigBuf;
    }

    /** Write data in libfuse's receive buffer as a ByteBuffer, reused while libfuse reuses the buffer. */
    ByteBuffer wrap(long addr, int size) {
      if (wrapBuf == null || addr != wrapAddr || wrapBuf.capacity() < size) {
        wrapBuf = MEM.newDirectByteBuffer(addr, size);
        wrapAddr = addr;
      }
      wrapBuf.clear().limit(size);
      return wrapBuf;
    }

    void cstr(byte[] b) {
      if (b.length >= STR_CAP) {
        throw new IllegalArgumentException("name of " + b.length + " bytes");
      }
      MEM.putByteArray(str, b, 0, b.length);
      MEM.putByte(str + b.length, (byte) 0);
    }

    void entry(Entry e) {
      MEM.putLong(entry + ENTRY_INO, e.ino());
      MEM.putLong(entry + ENTRY_GENERATION, e.generation());
      if (e.stat() == null) {
        MEM.setMemory(entry + ENTRY_ATTR, STAT_SIZE, (byte) 0);
      } else {
        stat(entry + ENTRY_ATTR, e.stat());
      }
      MEM.putDouble(entry + ENTRY_ATTR_TIMEOUT, e.attrTimeoutSec());
      MEM.putDouble(entry + ENTRY_ENTRY_TIMEOUT, e.entryTimeoutSec());
    }

    /**
     * struct stat, written at the offsets gcc gives (Layout; the same as jnr-fuse's FileStat, LayoutTest checks
     * both): FileStat's fields take a boxed Number, which would allocate on every lookup and getattr.
     */
    void stat(long at, Stat s) {
      MEM.putLong(at + STAT_INO, s.ino());
      MEM.putLong(at + STAT_NLINK, s.nlink());
      MEM.putInt(at + STAT_MODE, s.mode());
      MEM.putInt(at + STAT_UID, s.uid());
      MEM.putInt(at + STAT_GID, s.gid());
      MEM.putLong(at + STAT_RDEV, s.rdev());
      MEM.putLong(at + STAT_SIZE_FIELD, s.size());
      MEM.putLong(at + STAT_BLKSIZE, s.blksize());
      MEM.putLong(at + STAT_BLOCKS, s.blocks());
      putTime(at + STAT_ATIM, s.atimeNs());
      putTime(at + STAT_MTIM, s.mtimeNs());
      putTime(at + STAT_CTIM, s.ctimeNs());
    }

    private static void putTime(long at, long ns) {
      MEM.putLong(at, Math.floorDiv(ns, NS));
      MEM.putLong(at + 8, Math.floorMod(ns, NS));
    }

    /** The struct flock libfuse hands in (l_whence is SEEK_SET; l_len 0 means to EOF) as a Lock. */
    Lock readLock(long lock) {
      MEM.copyMemory(lock, flockAddr, FLOCK_SIZE);
      long start = flock.l_start.get();
      long len = flock.l_len.get();
      long end = len == 0 ? Long.MAX_VALUE : start + len - 1;
      return new Lock(flock.l_type.get(), start, end, (int) flock.l_pid.get());
    }

    void writeLock(Lock l) {
      MEM.setMemory(flockAddr, FLOCK_SIZE, (byte) 0);
      flock.l_type.set((short) l.type());
      flock.l_whence.set((short) 0);
      flock.l_start.set(l.start());
      flock.l_len.set(l.end() == Long.MAX_VALUE ? 0 : l.end() - l.start() + 1);
      flock.l_pid.set(l.pid());
    }
  }
}
