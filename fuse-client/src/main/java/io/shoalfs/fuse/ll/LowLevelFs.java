package io.shoalfs.fuse.ll;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * What the FUSE low-level binding ({@link FuseSession}) asks of a filesystem: the operations of libfuse's
 * {@code fuse_lowlevel_ops}, by the kernel's node ids, in Java types and without any native type.
 *
 * <p>Inode numbers are the kernel's handles. 1 ({@link #ROOT_ID}) is the mount's root, whatever the
 * filesystem's own number for it is. Every {@link Entry} returned by lookup, mknod, mkdir, symlink, link,
 * create and readdirplus adds one to the kernel's lookup count of that inode; {@link #forget} takes counts
 * away. A number must not be reused while the kernel may still hold it.
 *
 * <p>Every method either returns its answer or throws {@link FuseError} with a positive Linux errno; the
 * binding turns that into exactly one reply. Any other exception becomes EIO with one log line; nothing is
 * thrown into native code. Methods are called from several threads at once and may block (a remote call, a
 * waiting F_SETLKW); the binding serves other requests meanwhile. A method not overridden answers ENOSYS,
 * which the kernel remembers for some operations (it then stops asking).
 *
 * <p>Buffers handed in ({@code data} of write, {@code dst} of read) are valid only during the call.
 */
public interface LowLevelFs {
  long ROOT_ID = 1;

  /**
   * The caller of a request (fuse_req_ctx) and its interruption state. Valid during the call only. For a waiting
   * setlk (sleep) or a blocking flock, the binding also interrupts the calling thread when the kernel interrupts
   * the request, so a wait in {@code Object.wait}/{@code Condition.await} ends with InterruptedException.
   */
  interface Request {
    int uid();

    int gid();

    int pid();

    int umask();

    /** True once the kernel asked to interrupt this request (a signal reached the caller). */
    boolean interrupted();
  }

  /**
   * stat(2) of one inode. {@code mode} holds the file type bits (S_IFREG, S_IFDIR, ...) and the permission bits;
   * times are nanoseconds since the epoch; {@code blocks} is in 512-byte units.
   */
  record Stat(long ino, int mode, long nlink, int uid, int gid, long rdev, long size, long blocks, int blksize,
      long atimeNs, long mtimeNs, long ctimeNs) {}

  /** A name resolved to an inode. ino 0 is a negative entry: the kernel caches "no such name" for entryTimeout. */
  record Entry(long ino, long generation, Stat stat, double attrTimeoutSec, double entryTimeoutSec) {}

  record Attr(Stat stat, double timeoutSec) {}

  /**
   * An open file or directory. keepCache: the kernel may keep the inode's cached pages from before this open
   * (the data did not change since). directIo: bypass the page cache for this handle.
   */
  record Open(long fh, boolean keepCache, boolean directIo) {}

  record Created(Entry entry, Open open) {}

  /** statvfs(2). */
  record StatFs(long blockSize, long blocks, long blocksFree, long blocksAvail, long files, long filesFree,
      long nameMax) {}

  /**
   * The fields of a setattr that are set, by the FUSE_SET_ATTR_* bits in {@code valid} (see the constants);
   * times with the _NOW bits mean "the current time".
   */
  record SetAttr(int valid, int mode, int uid, int gid, long size, long atimeNs, long mtimeNs, long ctimeNs) {
    public static final int MODE = 1;
    public static final int UID = 1 << 1;
    public static final int GID = 1 << 2;
    public static final int SIZE = 1 << 3;
    public static final int ATIME = 1 << 4;
    public static final int MTIME = 1 << 5;
    public static final int ATIME_NOW = 1 << 7;
    public static final int MTIME_NOW = 1 << 8;
    public static final int CTIME = 1 << 10;

    public boolean has(int bit) {
      return (valid & bit) != 0;
    }
  }

  /** A POSIX record lock (struct flock): type F_RDLCK 0, F_WRLCK 1, F_UNLCK 2; end inclusive, Long.MAX_VALUE = EOF. */
  record Lock(int type, long start, long end, int pid) {
    public static final int F_RDLCK = 0;
    public static final int F_WRLCK = 1;
    public static final int F_UNLCK = 2;
  }

  /** Takes readdir entries; returns false when the kernel's buffer is full (the entry was not taken). */
  @FunctionalInterface
  interface DirFiller {
    /** @param mode only the file type bits count; @param nextOffset the offset the next readdir starts at */
    boolean add(String name, long ino, int mode, long nextOffset);
  }

  /**
   * Takes readdirplus entries; an entry taken adds one to the kernel's lookup count of its inode, except "." and
   * "..", for which the kernel takes no reference (count them as not taken; libfuse's passthrough_ll answers them
   * with ino 0 and the directory's attributes).
   */
  @FunctionalInterface
  interface DirPlusFiller {
    boolean add(String name, Entry entry, long nextOffset);
  }

  /** What the kernel offers at init; the filesystem may read it (the binding decides what to want). */
  record ConnInfo(int protoMajor, int protoMinor, long capable, long want, int maxWrite, int maxReadahead) {}

  default void init(ConnInfo conn) {}

  default void destroy() {}

  default Entry lookup(Request req, long parent, String name) throws FuseError {
    throw FuseError.enosys();
  }

  /** The kernel dropped {@code nlookup} references to {@code ino}. No reply; must not block long. */
  default void forget(long ino, long nlookup) {}

  /** @param fh the open handle when the caller has one (fstat), else -1 */
  default Attr getattr(Request req, long ino, long fh) throws FuseError {
    throw FuseError.enosys();
  }

  default Attr setattr(Request req, long ino, SetAttr changes, long fh) throws FuseError {
    throw FuseError.enosys();
  }

  default byte[] readlink(Request req, long ino) throws FuseError {
    throw FuseError.enosys();
  }

  /** @param mode type and permission bits (umask not applied yet: see {@link Request#umask}) */
  default Entry mknod(Request req, long parent, String name, int mode, long rdev) throws FuseError {
    throw FuseError.enosys();
  }

  default Entry mkdir(Request req, long parent, String name, int mode) throws FuseError {
    throw FuseError.enosys();
  }

  default void unlink(Request req, long parent, String name) throws FuseError {
    throw FuseError.enosys();
  }

  default void rmdir(Request req, long parent, String name) throws FuseError {
    throw FuseError.enosys();
  }

  default Entry symlink(Request req, byte[] target, long parent, String name) throws FuseError {
    throw FuseError.enosys();
  }

  /** @param flags RENAME_NOREPLACE 1, RENAME_EXCHANGE 2 */
  default void rename(Request req, long parent, String name, long newParent, String newName, int flags)
      throws FuseError {
    throw FuseError.enosys();
  }

  default Entry link(Request req, long ino, long newParent, String newName) throws FuseError {
    throw FuseError.enosys();
  }

  default Open open(Request req, long ino, int flags) throws FuseError {
    throw FuseError.enosys();
  }

  /** @param mode type and permission bits of the new file; @param flags open(2) flags */
  default Created create(Request req, long parent, String name, int mode, int flags) throws FuseError {
    throw FuseError.enosys();
  }

  /**
   * Reads up to {@code size} bytes at {@code offset} into {@code dst} (positions 0..size-1, a direct buffer);
   * returns the count, short only at the end of the file.
   */
  default int read(Request req, long ino, long fh, long offset, int size, ByteBuffer dst) throws FuseError {
    throw FuseError.enosys();
  }

  /** Writes {@code data} (position to limit) at {@code offset}; returns the count written. */
  default int write(Request req, long ino, long fh, long offset, ByteBuffer data, int flags) throws FuseError {
    throw FuseError.enosys();
  }

  /** close(2) of one descriptor; POSIX locks of {@code lockOwner} on the inode go with it. */
  default void flush(Request req, long ino, long fh, long lockOwner) throws FuseError {
    throw FuseError.enosys();
  }

  /**
   * The last close of the open file description. {@code flockRelease}: the flock lock of {@code lockOwner}
   * goes too. The error is not returned to anybody (the kernel does not wait); report write errors in flush.
   */
  default void release(Request req, long ino, long fh, int flags, long lockOwner, boolean flockRelease)
      throws FuseError {}

  default void fsync(Request req, long ino, long fh, boolean dataOnly) throws FuseError {
    throw FuseError.enosys();
  }

  default Open opendir(Request req, long ino, int flags) throws FuseError {
    return new Open(0, false, false);
  }

  default void readdir(Request req, long ino, long fh, long offset, DirFiller filler) throws FuseError {
    throw FuseError.enosys();
  }

  default void readdirplus(Request req, long ino, long fh, long offset, DirPlusFiller filler) throws FuseError {
    throw FuseError.enosys();
  }

  default void releasedir(Request req, long ino, long fh) throws FuseError {}

  default void fsyncdir(Request req, long ino, long fh, boolean dataOnly) throws FuseError {}

  default StatFs statfs(Request req, long ino) throws FuseError {
    throw FuseError.enosys();
  }

  /** @param flags XATTR_CREATE 1, XATTR_REPLACE 2 */
  default void setxattr(Request req, long ino, String name, byte[] value, int flags) throws FuseError {
    throw FuseError.enosys();
  }

  /** The value (ENODATA if absent); the binding answers the size probe and ERANGE itself. */
  default byte[] getxattr(Request req, long ino, String name) throws FuseError {
    throw FuseError.enosys();
  }

  default List<String> listxattr(Request req, long ino) throws FuseError {
    throw FuseError.enosys();
  }

  default void removexattr(Request req, long ino, String name) throws FuseError {
    throw FuseError.enosys();
  }

  /** F_GETLK: the first conflicting lock, or one with type F_UNLCK. */
  default Lock getlk(Request req, long ino, long fh, long lockOwner, Lock lock) throws FuseError {
    throw FuseError.enosys();
  }

  /** F_SETLK (sleep false: EAGAIN on conflict) or F_SETLKW (sleep true: wait; EINTR when interrupted). */
  default void setlk(Request req, long ino, long fh, long lockOwner, Lock lock, boolean sleep) throws FuseError {
    throw FuseError.enosys();
  }

  /** flock(2): op LOCK_SH 1, LOCK_EX 2, LOCK_UN 8, with LOCK_NB 4 for "do not wait". */
  default void flock(Request req, long ino, long fh, long lockOwner, int op) throws FuseError {
    throw FuseError.enosys();
  }

  /** @param mode FALLOC_FL_KEEP_SIZE 1, FALLOC_FL_PUNCH_HOLE 2 (others: EOPNOTSUPP) */
  default void fallocate(Request req, long ino, long fh, int mode, long offset, long length) throws FuseError {
    throw FuseError.enosys();
  }
}
