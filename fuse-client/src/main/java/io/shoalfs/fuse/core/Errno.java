package io.shoalfs.fuse.core;

import io.shoalfs.proto.meta.Code;

/** The Linux errno values the client decides by itself (the metadata service sends its own as codes). */
public final class Errno {
  public static final int ENOENT = Code.ENOENT_VALUE;
  public static final int EIO = Code.EIO_VALUE;
  public static final int EBADF = 9;
  public static final int EISDIR = Code.EISDIR_VALUE;
  public static final int ENOTDIR = Code.ENOTDIR_VALUE;
  public static final int EINVAL = Code.EINVAL_VALUE;
  public static final int EFBIG = Code.EFBIG_VALUE;
  public static final int ENAMETOOLONG = Code.ENAMETOOLONG_VALUE;
  public static final int EOPNOTSUPP = Code.EOPNOTSUPP_VALUE;
  public static final int ENOSPC = Code.ENOSPC_VALUE;
  public static final int EDQUOT = Code.EDQUOT_VALUE;
  /** A storage daemon refused a write as fenced even after the chunk map was fetched again. */
  public static final int ESTALE = Code.ESTALE_VALUE;

  private Errno() {}
}
