package io.shoalfs.client;

import io.shoalfs.proto.meta.Code;

/** The metadata service answered with a non-OK code (an errno, or UNAVAILABLE after retries ran out). */
public final class MetaException extends Exception {
  private final Code code;

  public MetaException(Code code, String message) {
    super(code + (message == null || message.isEmpty() ? "" : ": " + message));
    this.code = code;
  }

  public Code code() {
    return code;
  }

  /** The Linux errno to hand to the kernel: the code itself for errno codes, EIO for transport failures. */
  public int errno() {
    int n = code.getNumber();
    return n > 0 && n < 1000 ? n : Code.EIO_VALUE;
  }
}
