package io.shoalfs.fuse.ll;

/** A failed low-level request: the positive Linux errno the kernel gets. Cheap: no stack trace. */
public final class FuseError extends Exception {
  public static final int EPERM = 1;
  public static final int ENOENT = 2;
  public static final int EINTR = 4;
  public static final int EIO = 5;
  public static final int E2BIG = 7;
  public static final int EBADF = 9;
  public static final int EAGAIN = 11;
  public static final int EACCES = 13;
  public static final int EEXIST = 17;
  public static final int EXDEV = 18;
  public static final int ENOTDIR = 20;
  public static final int EISDIR = 21;
  public static final int EINVAL = 22;
  public static final int EFBIG = 27;
  public static final int ENOSPC = 28;
  public static final int ERANGE = 34;
  public static final int ENAMETOOLONG = 36;
  public static final int ENOSYS = 38;
  public static final int ENOTEMPTY = 39;
  public static final int ELOOP = 40;
  public static final int ENODATA = 61;
  public static final int EOPNOTSUPP = 95;
  public static final int EDQUOT = 122;

  private final int errno;

  public FuseError(int errno, String message) {
    super(message, null, false, false);
    if (errno <= 0) {
      throw new IllegalArgumentException("errno must be positive: " + errno);
    }
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }

  static FuseError enosys() {
    return new FuseError(ENOSYS, "not implemented");
  }
}
