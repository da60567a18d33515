package io.shoalfs.csi.core;

import io.shoalfs.client.MetaException;

/** Turns a metadata-service failure into the CSI error a caller can act on. */
final class MetaErrors {
  private MetaErrors() {}

  static CsiError toCsi(String what, MetaException e) {
    String msg = what + ": " + e.getMessage();
    return switch (e.code()) {
      case ENOENT -> new CsiError.NotFound(msg);
      case EEXIST -> new CsiError.AlreadyExists(msg);
      case EINVAL, ENAMETOOLONG -> new CsiError.InvalidArgument(msg);
      case ENOSPC, EDQUOT -> new CsiError.ResourceExhausted(msg);
      case ENOTEMPTY, EAGAIN, EBUSY -> new CsiError.FailedPrecondition(msg);
      case UNAVAILABLE, NOT_LEADER, EIO -> new CsiError.Unavailable(msg, e);
      default -> new CsiError.Internal(msg, e);
    };
  }
}
