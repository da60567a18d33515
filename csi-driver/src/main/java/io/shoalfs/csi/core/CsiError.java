package io.shoalfs.csi.core;

/**
 * Every failure the CSI services can report, as domain types. Only {@code io.shoalfs.csi.grpc} turns them into
 * gRPC status codes, so the core never imports gRPC and every failure has a deliberate code (never UNKNOWN).
 */
public sealed abstract class CsiError extends Exception {
  private CsiError(String message, Throwable cause) {
    super(message, cause);
  }

  /** The request is malformed or asks for something this driver never supports (e.g. block access). */
  public static final class InvalidArgument extends CsiError {
    public InvalidArgument(String message) {
      super(message, null);
    }
  }

  /** The volume (or its subvolume) does not exist. */
  public static final class NotFound extends CsiError {
    public NotFound(String message) {
      super(message, null);
    }
  }

  /** The name or path is taken by something incompatible with the request. */
  public static final class AlreadyExists extends CsiError {
    public AlreadyExists(String message) {
      super(message, null);
    }
  }

  /** The capacity range cannot be satisfied. */
  public static final class OutOfRange extends CsiError {
    public OutOfRange(String message) {
      super(message, null);
    }
  }

  /** Another operation on the same volume is in flight; the CO retries with back-off. */
  public static final class Busy extends CsiError {
    public Busy(String message) {
      super(message, null);
    }
  }

  /** The volume is in a state that does not allow the call (e.g. publish before stage). */
  public static final class FailedPrecondition extends CsiError {
    public FailedPrecondition(String message) {
      super(message, null);
    }
  }

  /** The metadata service cannot be reached now; retrying later may succeed. */
  public static final class Unavailable extends CsiError {
    public Unavailable(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The cluster has no room for the request (quota or space). */
  public static final class ResourceExhausted extends CsiError {
    public ResourceExhausted(String message) {
      super(message, null);
    }
  }

  /** Something on this node failed (a mount, a process, a file); the message says what. */
  public static final class Internal extends CsiError {
    public Internal(String message, Throwable cause) {
      super(message, cause);
    }

    public Internal(String message) {
      super(message, null);
    }
  }
}
