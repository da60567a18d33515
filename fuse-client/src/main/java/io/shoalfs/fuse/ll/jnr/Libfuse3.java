package io.shoalfs.fuse.ll.jnr;

import jnr.ffi.LibraryLoader;
import jnr.ffi.annotations.IgnoreError;

/**
 * The functions of libfuse 3.14's low-level API ({@code fuse_lowlevel.h}, {@code fuse_common.h}) that
 * {@link io.shoalfs.fuse.ll.FuseSession} calls. Internal to the binding: public only because jnr-ffi generates
 * its stubs in another class loader.
 *
 * <p>Every pointer is a Java {@code long} (LP64), so no call allocates a jnr {@code Pointer}; memory is read and
 * written with jffi's {@code MemoryIO} at the offsets in {@link Layout}. {@code @IgnoreError}: libfuse reports
 * failures by return value, so saving errno after each call would be wasted work.
 */
public interface Libfuse3 {
  /** Loaded once per JVM; libfuse3 has no per-process state that two sessions would share. */
  Libfuse3 LIB = LibraryLoader.create(Libfuse3.class).failImmediately().load("fuse3");

  // --- session (fuse_lowlevel.h) ---
  long fuse_session_new(long args, long ops, long opSize, long userdata);

  int fuse_session_mount(long se, String mountpoint);

  void fuse_session_unmount(long se);

  void fuse_session_exit(long se);

  int fuse_session_exited(long se);

  void fuse_session_destroy(long se);

  /** The default-version symbol of fuse_session_loop_mt in 3.12+ (header macro to fuse_session_loop_mt_312). */
  int fuse_session_loop_mt_312(long se, long loopConfig);

  long fuse_loop_cfg_create();

  void fuse_loop_cfg_destroy(long config);

  void fuse_loop_cfg_set_max_threads(long config, int value);

  void fuse_loop_cfg_set_idle_threads(long config, int value);

  void fuse_opt_free_args(long args);

  // --- replies ---
  @IgnoreError
  int fuse_reply_err(long req, int err);

  @IgnoreError
  void fuse_reply_none(long req);

  @IgnoreError
  int fuse_reply_entry(long req, long entryParam);

  @IgnoreError
  int fuse_reply_create(long req, long entryParam, long fileInfo);

  @IgnoreError
  int fuse_reply_attr(long req, long stat, double attrTimeout);

  @IgnoreError
  int fuse_reply_readlink(long req, long link);

  @IgnoreError
  int fuse_reply_open(long req, long fileInfo);

  @IgnoreError
  int fuse_reply_write(long req, long count);

  @IgnoreError
  int fuse_reply_buf(long req, long buf, long size);

  @IgnoreError
  int fuse_reply_statfs(long req, long statvfs);

  @IgnoreError
  int fuse_reply_xattr(long req, long count);

  @IgnoreError
  int fuse_reply_lock(long req, long flock);

  /** {@code off} arrives corrupted (jnr-ffi bug with a 6th integer argument): the binding rewrites it (Layout). */
  @IgnoreError
  long fuse_add_direntry(long req, long buf, long bufsize, long name, long stat, long off);

  @IgnoreError
  long fuse_add_direntry_plus(long req, long buf, long bufsize, long name, long entryParam, long off);

  // --- request context ---
  @IgnoreError
  long fuse_req_ctx(long req);

  @IgnoreError
  int fuse_req_interrupted(long req);

  /** func: a closure pointer of {@link Callbacks.Interrupt} or 0 to unregister (waits for a running one). */
  @IgnoreError
  void fuse_req_interrupt_func(long req, long func, long data);

  // --- notifications (never from a request thread) ---
  @IgnoreError
  int fuse_lowlevel_notify_inval_inode(long se, long ino, long off, long len);

  @IgnoreError
  int fuse_lowlevel_notify_inval_entry(long se, long parent, long name, long namelen);

  @IgnoreError
  int fuse_lowlevel_notify_delete(long se, long parent, long child, long name, long namelen);

  /** flags FUSE_LL_EXPIRE_ONLY (1): the dentry stays but is looked up again on its next use (libfuse 3.12+). */
  @IgnoreError
  int fuse_lowlevel_notify_expire_entry(long se, long parent, long name, long namelen, int flags);

  /** libc: the binding's own unmount, which aborts the connection so every worker's read returns ENODEV. */
  interface LibC {
    LibC LIB = LibraryLoader.create(LibC.class).failImmediately().load("c");

    int MNT_DETACH = 2;

    int umount2(String target, int flags);
  }
}
