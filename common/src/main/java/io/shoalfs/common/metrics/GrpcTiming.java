package io.shoalfs.common.metrics;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.concurrent.TimeUnit;

/**
 * Times every call of a gRPC server per method ({@code NAME_seconds{op="WriteChunk"}}, from arrival to close)
 * and counts the failed ones per method and status code ({@code NAME_failures_total{op, code}}).
 */
public final class GrpcTiming implements ServerInterceptor {
  private final MeterGroup group;
  private final String name;
  private final String description;

  public GrpcTiming(MeterGroup group, String name, String description) {
    this.group = group;
    this.name = name;
    this.description = description;
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    long start = System.nanoTime();
    String op = call.getMethodDescriptor().getBareMethodName();
    return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        group.requests(name, description, op).record(System.nanoTime() - start, TimeUnit.NANOSECONDS);
        if (!status.isOk()) {
          group.counter(name + ".failures", "failed calls by method and status", "op", op, "code",
              status.getCode().name()).increment();
        }
        super.close(status, trailers);
      }
    }, headers);
  }
}
