package io.shoalfs.fuse.ll.jnr;

import jnr.ffi.annotations.Delegate;

/**
 * The function pointer types of struct fuse_lowlevel_ops (libfuse 3.14), one per slot the binding fills, with
 * every pointer, size_t and off_t as a Java long and every int, unsigned, mode_t as an int. Internal to the
 * binding (public for jnr-ffi's generated stubs).
 */
public final class Callbacks {
  private Callbacks() {}

  /** init(void *userdata, struct fuse_conn_info *conn) */
  public interface Init {
    @Delegate
    void call(long userdata, long conn);
  }

  /** destroy(void *userdata) */
  public interface Destroy {
    @Delegate
    void call(long userdata);
  }

  /** lookup, unlink, rmdir, removexattr, getxattr-name: (req, ino, const char *name) */
  public interface ReqInoName {
    @Delegate
    void call(long req, long ino, long name);
  }

  /** forget(req, ino, uint64_t nlookup) */
  public interface Forget {
    @Delegate
    void call(long req, long ino, long nlookup);
  }

  /** getattr, open, flush, release, opendir, releasedir: (req, ino, struct fuse_file_info *fi) */
  public interface ReqInoFi {
    @Delegate
    void call(long req, long ino, long fi);
  }

  /** setattr(req, ino, struct stat *attr, int to_set, fi) */
  public interface Setattr {
    @Delegate
    void call(long req, long ino, long attr, int toSet, long fi);
  }

  /** readlink(req, ino), statfs(req, ino) */
  public interface ReqIno {
    @Delegate
    void call(long req, long ino);
  }

  /** mknod(req, parent, name, mode_t mode, dev_t rdev) */
  public interface Mknod {
    @Delegate
    void call(long req, long parent, long name, int mode, long rdev);
  }

  /** mkdir(req, parent, name, mode_t mode) */
  public interface Mkdir {
    @Delegate
    void call(long req, long parent, long name, int mode);
  }

  /** symlink(req, const char *link, parent, name) */
  public interface Symlink {
    @Delegate
    void call(long req, long link, long parent, long name);
  }

  /** rename(req, parent, name, newparent, newname, unsigned flags) */
  public interface Rename {
    @Delegate
    void call(long req, long parent, long name, long newParent, long newName, int flags);
  }

  /** link(req, ino, newparent, newname) */
  public interface Link {
    @Delegate
    void call(long req, long ino, long newParent, long newName);
  }

  /** read, readdir, readdirplus: (req, ino, size_t size, off_t off, fi) */
  public interface ReqInoSizeOffFi {
    @Delegate
    void call(long req, long ino, long size, long off, long fi);
  }

  /** write(req, ino, const char *buf, size_t size, off_t off, fi) */
  public interface Write {
    @Delegate
    void call(long req, long ino, long buf, long size, long off, long fi);
  }

  /** fsync, fsyncdir: (req, ino, int datasync, fi) */
  public interface Fsync {
    @Delegate
    void call(long req, long ino, int datasync, long fi);
  }

  /** setxattr(req, ino, name, const char *value, size_t size, int flags) */
  public interface Setxattr {
    @Delegate
    void call(long req, long ino, long name, long value, long size, int flags);
  }

  /** getxattr(req, ino, name, size_t size) */
  public interface Getxattr {
    @Delegate
    void call(long req, long ino, long name, long size);
  }

  /** listxattr(req, ino, size_t size) */
  public interface Listxattr {
    @Delegate
    void call(long req, long ino, long size);
  }

  /** create(req, parent, name, mode_t mode, fi) */
  public interface Create {
    @Delegate
    void call(long req, long parent, long name, int mode, long fi);
  }

  /** getlk(req, ino, fi, struct flock *lock) */
  public interface Getlk {
    @Delegate
    void call(long req, long ino, long fi, long lock);
  }

  /** setlk(req, ino, fi, struct flock *lock, int sleep) */
  public interface Setlk {
    @Delegate
    void call(long req, long ino, long fi, long lock, int sleep);
  }

  /** forget_multi(req, size_t count, struct fuse_forget_data *forgets) */
  public interface ForgetMulti {
    @Delegate
    void call(long req, long count, long forgets);
  }

  /** flock(req, ino, fi, int op) */
  public interface Flock {
    @Delegate
    void call(long req, long ino, long fi, int op);
  }

  /** fallocate(req, ino, int mode, off_t offset, off_t length, fi) */
  public interface Fallocate {
    @Delegate
    void call(long req, long ino, int mode, long offset, long length, long fi);
  }

  /** fuse_interrupt_func_t: (req, void *data), called by libfuse when the kernel interrupts a request. */
  public interface Interrupt {
    @Delegate
    void call(long req, long data);
  }
}
