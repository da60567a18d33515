package io.shoalfs.meta.core;

import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;

/**
 * A request that cannot be carried out in the current state: an errno the caller gets back unchanged. Raised by
 * validation on the leader (before the log) and again by apply (after it), always deterministically.
 */
public final class FsError extends Exception {
  private final Code code;

  public FsError(Code code, String message) {
    // No stack trace: these are answers, not failures, and validation raises them often.
    super(message, null, false, false);
    this.code = code;
  }

  public Code code() {
    return code;
  }

  public MetaReply toReply() {
    return MetaReply.newBuilder().setCode(code).setMessage(getMessage()).build();
  }

  static FsError of(Code code, String format, Object... args) {
    return new FsError(code, String.format(format, args));
  }
}
