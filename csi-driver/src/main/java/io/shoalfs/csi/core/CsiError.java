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

  /**
   * A starting_token this driver did not hand out (or cannot read any more): the CO starts its listing again
   * with an empty token, as the spec's ListVolumes and ListSnapshots tables say.
   */
  public static final class InvalidToken extends CsiError {
    public InvalidToken(String message) {
      super(message, null);
    }
  }

  /**
   * The RPC needs a metadata-service operation this build does not have (see {@link Feature}); its capability is
   * not advertised, so a CO that follows the capabilities never calls it.
   */
  public static final class Unimplemented extends CsiError {
    public Unimplemented(String message) {
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
