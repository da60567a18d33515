package io.shoalfs.csi.grpc;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.StreamObserver;
import io.shoalfs.csi.core.CsiError;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one unary RPC body and answers it. The only place domain errors become gRPC status codes: every
 * {@link CsiError} has a deliberate code, and anything unexpected is INTERNAL with its message, never UNKNOWN.
 */
final class Rpc {
  private static final Logger LOG = LoggerFactory.getLogger(Rpc.class);

  @FunctionalInterface
  interface Body<T> {
    T run() throws CsiError;
  }

  private Rpc() {}

  static <T> void unary(StreamObserver<T> out, Body<T> body) {
    T reply;
    try {
      reply = body.run();
    } catch (CsiError e) {
      out.onError(toStatus(e));
      return;
    } catch (RuntimeException e) {
      LOG.error("unexpected failure", e);
      out.onError(Status.INTERNAL.withDescription("internal error: " + e).asRuntimeException());
      return;
    }
    out.onNext(reply);
    out.onCompleted();
  }

  static StatusRuntimeException toStatus(CsiError e) {
    Status s = switch (e) {
      case CsiError.InvalidArgument x -> Status.INVALID_ARGUMENT;
      case CsiError.NotFound x -> Status.NOT_FOUND;
      case CsiError.AlreadyExists x -> Status.ALREADY_EXISTS;
      case CsiError.OutOfRange x -> Status.OUT_OF_RANGE;
      case CsiError.Busy x -> Status.ABORTED;
      case CsiError.FailedPrecondition x -> Status.FAILED_PRECONDITION;
      case CsiError.Unavailable x -> Status.UNAVAILABLE;
      case CsiError.ResourceExhausted x -> Status.RESOURCE_EXHAUSTED;
      case CsiError.InvalidToken x -> Status.ABORTED;
      case CsiError.Unimplemented x -> Status.UNIMPLEMENTED;
      case CsiError.Internal x -> Status.INTERNAL;
    };
    return s.withDescription(e.getMessage()).asRuntimeException();
  }
}
