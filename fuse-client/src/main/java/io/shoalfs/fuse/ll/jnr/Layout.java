package io.shoalfs.fuse.ll.jnr;

/**
 * Sizes and offsets of the libfuse 3.14 structs the binding reads and writes, x86_64 Linux. Measured with gcc
 * against /usr/include/fuse3 (FUSE_USE_VERSION 312): a C program printing sizeof/offsetof of each field, and
 * for the bitfields of fuse_file_info the 32-bit word at offset 4 after setting one bit. {@code LayoutTest}
 * compiles and runs that program again and compares it with these numbers.
 */
public final class Layout {
  private Layout() {}

  /** struct fuse_lowlevel_ops: 44 function pointers, 352 bytes; slot i is at 8 * i (header order). */
  public static final int OPS_SIZE = 352;
  public static final int OP_INIT = 0;
  public static final int OP_DESTROY = 8;
  public static final int OP_LOOKUP = 16;
  public static final int OP_FORGET = 24;
  public static final int OP_GETATTR = 32;
  public static final int OP_SETATTR = 40;
  public static final int OP_READLINK = 48;
  public static final int OP_MKNOD = 56;
  public static final int OP_MKDIR = 64;
  public static final int OP_UNLINK = 72;
  public static final int OP_RMDIR = 80;
  public static final int OP_SYMLINK = 88;
  public static final int OP_RENAME = 96;
  public static final int OP_LINK = 104;
  public static final int OP_OPEN = 112;
  public static final int OP_READ = 120;
  public static final int OP_WRITE = 128;
  public static final int OP_FLUSH = 136;
  public static final int OP_RELEASE = 144;
  public static final int OP_FSYNC = 152;
  public static final int OP_OPENDIR = 160;
  public static final int OP_READDIR = 168;
  public static final int OP_RELEASEDIR = 176;
  public static final int OP_FSYNCDIR = 184;
  public static final int OP_STATFS = 192;
  public static final int OP_SETXATTR = 200;
  public static final int OP_GETXATTR = 208;
  public static final int OP_LISTXATTR = 216;
  public static final int OP_REMOVEXATTR = 224;
  public static final int OP_ACCESS = 232;
  public static final int OP_CREATE = 240;
  public static final int OP_GETLK = 248;
  public static final int OP_SETLK = 256;
  public static final int OP_BMAP = 264;
  public static final int OP_IOCTL = 272;
  public static final int OP_POLL = 280;
  public static final int OP_WRITE_BUF = 288;
  public static final int OP_RETRIEVE_REPLY = 296;
  public static final int OP_FORGET_MULTI = 304;
  public static final int OP_FLOCK = 312;
  public static final int OP_FALLOCATE = 320;
  public static final int OP_READDIRPLUS = 328;
  public static final int OP_COPY_FILE_RANGE = 336;
  public static final int OP_LSEEK = 344;

  /** struct fuse_file_info, 40 bytes: int flags @0; bitfields in the unsigned word @4; fh @16; lock_owner @24. */
  public static final int FI_SIZE = 40;
  public static final int FI_FLAGS = 0;
  public static final int FI_BITS = 4;
  public static final int FI_FH = 16;
  public static final int FI_LOCK_OWNER = 24;
  public static final int FI_BIT_WRITEPAGE = 0x1;
  public static final int FI_BIT_DIRECT_IO = 0x2;
  public static final int FI_BIT_KEEP_CACHE = 0x4;
  public static final int FI_BIT_FLUSH = 0x8;
  public static final int FI_BIT_NONSEEKABLE = 0x10;
  public static final int FI_BIT_FLOCK_RELEASE = 0x20;
  public static final int FI_BIT_CACHE_READDIR = 0x40;
  public static final int FI_BIT_NOFLUSH = 0x80;

  /** struct fuse_entry_param, 176 bytes: ino @0, generation @8, struct stat attr @16, timeouts (double) @160/@168. */
  public static final int ENTRY_SIZE = 176;
  public static final int ENTRY_INO = 0;
  public static final int ENTRY_GENERATION = 8;
  public static final int ENTRY_ATTR = 16;
  public static final int ENTRY_ATTR_TIMEOUT = 160;
  public static final int ENTRY_ENTRY_TIMEOUT = 168;

  /** struct fuse_conn_info, 128 bytes (all unsigned). */
  public static final int CONN_PROTO_MAJOR = 0;
  public static final int CONN_PROTO_MINOR = 4;
  public static final int CONN_MAX_WRITE = 8;
  public static final int CONN_MAX_READ = 12;
  public static final int CONN_MAX_READAHEAD = 16;
  public static final int CONN_CAPABLE = 20;
  public static final int CONN_WANT = 24;
  public static final int CONN_MAX_BACKGROUND = 28;

  /** struct fuse_ctx, 16 bytes. */
  public static final int CTX_UID = 0;
  public static final int CTX_GID = 4;
  public static final int CTX_PID = 8;
  public static final int CTX_UMASK = 12;

  /** struct fuse_forget_data, 16 bytes: ino @0, nlookup @8. */
  public static final int FORGET_SIZE = 16;

  /** struct fuse_args, 24 bytes: int argc @0, char **argv @8, int allocated @16. */
  public static final int ARGS_SIZE = 24;
  public static final int ARGS_ARGC = 0;
  public static final int ARGS_ARGV = 8;
  public static final int ARGS_ALLOCATED = 16;

  /**
   * struct stat, 144 bytes: st_dev @0, st_ino @8, st_nlink @16, st_mode @24 (u32), st_uid @28, st_gid @32,
   * st_rdev @40, st_size @48, st_blksize @56, st_blocks @64, st_atim @72, st_mtim @88, st_ctim @104 (timespec:
   * tv_sec, tv_nsec). Written through jnr-fuse's FileStat, which matches (LayoutTest).
   */
  public static final int STAT_SIZE = 144;
  public static final int STAT_INO = 8;
  public static final int STAT_NLINK = 16;
  public static final int STAT_MODE = 24;
  public static final int STAT_UID = 28;
  public static final int STAT_GID = 32;
  public static final int STAT_RDEV = 40;
  public static final int STAT_SIZE_FIELD = 48;
  public static final int STAT_BLKSIZE = 56;
  public static final int STAT_BLOCKS = 64;
  public static final int STAT_ATIM = 72;
  public static final int STAT_MTIM = 88;
  public static final int STAT_CTIM = 104;

  /** struct statvfs, 112 bytes (jnr-fuse Statvfs): f_bsize @0 ... f_namemax @80. */
  public static final int STATVFS_SIZE = 112;

  /** struct flock, 32 bytes (jnr-fuse Flock): l_type @0 (short), l_whence @2, l_start @8, l_len @16, l_pid @24. */
  public static final int FLOCK_SIZE = 32;

  /**
   * Kernel ABI (linux/fuse.h): where fuse_add_direntry(_plus) put the entry's next-offset field. The binding
   * writes that field itself after the call: jnr-ffi 2.2.16 corrupts the 6th integer argument of a native call
   * (jnr/jnr-ffi#181, seen here as a pointer-like value), and {@code off} is the 6th.
   */
  public static final int DIRENT_OFF = 8;
  public static final int DIRENTPLUS_OFF = 128 + 8;

  /** FUSE_CAP_* of fuse_common.h (3.14). */
  public static final int CAP_ASYNC_READ = 1;
  public static final int CAP_POSIX_LOCKS = 1 << 1;
  public static final int CAP_ATOMIC_O_TRUNC = 1 << 3;
  public static final int CAP_SPLICE_WRITE = 1 << 7;
  public static final int CAP_SPLICE_MOVE = 1 << 8;
  public static final int CAP_SPLICE_READ = 1 << 9;
  public static final int CAP_FLOCK_LOCKS = 1 << 10;
  public static final int CAP_AUTO_INVAL_DATA = 1 << 12;
  public static final int CAP_READDIRPLUS = 1 << 13;
  public static final int CAP_READDIRPLUS_AUTO = 1 << 14;
  public static final int CAP_WRITEBACK_CACHE = 1 << 16;
  public static final int CAP_PARALLEL_DIROPS = 1 << 18;
  public static final int CAP_POSIX_ACL = 1 << 19;
  public static final int CAP_HANDLE_KILLPRIV = 1 << 20;
  public static final int CAP_EXPLICIT_INVAL_DATA = 1 << 25;

  public static final long UTIME_NOW = (1L << 30) - 1;
  public static final long UTIME_OMIT = (1L << 30) - 2;
}
