package io.shoalfs.common;

/** Constants of the on-disk and on-wire layout that every component must agree on. */
public final class Layout {
  /** Inode number of the root directory of the root volume. */
  public static final long ROOT_INO = 1;
  /** Bytes per chunk: a file's byte range [i*CHUNK_SIZE, (i+1)*CHUNK_SIZE) is chunk i. */
  public static final int CHUNK_SIZE = 4 << 20;
  /** Bytes per block inside a chunk; each block carries its own CRC32C on the storage daemon. */
  public static final int BLOCK_SIZE = 64 << 10;
  /** Longest file name component, as on Linux. */
  public static final int NAME_MAX = 255;

  private Layout() {}
}
