package io.shoalfs.fuse.core;

/**
 * A filesystem operation failed with a known errno (decided by the client itself, or remembered from an
 * earlier failure such as a write error reported at close). Only the FUSE adapter turns it into a return code.
 */
public final class FsException extends Exception {
  private final int errno;

  public FsException(int errno, String message) {
    super(message);
    this.errno = errno;
  }

  public int errno() {
    return errno;
  }
}
