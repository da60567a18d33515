package io.shoalfs.meta.grpc;

import io.grpc.stub.StreamObserver;
import io.shoalfs.common.metrics.MeterGroup;
import io.shoalfs.meta.raft.MetaSubmitter;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaServiceGrpc;
import io.shoalfs.proto.meta.ReplicaStatus;
import io.shoalfs.proto.meta.ReplicaStatusRequest;
import io.shoalfs.proto.meta.WatchEvent;
import io.shoalfs.proto.meta.WatchRequest;

/**
 * The client-facing MetaService: hands each {@link MetaCall} to {@link MetaSubmitter} (group commit for
 * writes, read index for reads, leader redirect) and sends back its {@link MetaReply}. Every failure is a code
 * in the reply: the gRPC status is always OK (only the server's admission limit answers RESOURCE_EXHAUSTED).
 */
public final class MetaGrpcService extends MetaServiceGrpc.MetaServiceImplBase {
  private final MetaSubmitter submitter;

  /** Serves the Watch RPC; null = UNIMPLEMENTED. */
  private volatile WatchService watch;

  /** Times every call per operation; null = not timed. */
  private volatile MeterGroup metrics;

  public MetaGrpcService(MetaSubmitter submitter) {
    this.submitter = submitter;
  }

  /** Times each call in {@code shoal_meta_requests_seconds{op}} (from arrival to reply). */
  public MetaGrpcService timedBy(MeterGroup m) {
    this.metrics = m;
    return this;
  }

  /** The Watch RPC goes to {@code w}. */
  public MetaGrpcService serveWatch(WatchService w) {
    this.watch = w;
    return this;
  }

  /** The cache-coherence stream of one session (see {@link WatchService}). */
  @Override
  public void watch(WatchRequest request, StreamObserver<WatchEvent> out) {
    WatchService w = watch;
    if (w == null) {
      super.watch(request, out);
    } else {
      w.watch(request, out);
    }
  }

  @Override
  public void call(MetaCall call, StreamObserver<MetaReply> out) {
    long start = System.nanoTime();
    MeterGroup m = metrics;
    submitter.submit(call).thenAccept(r -> {
      if (m != null) {
        m.requests("shoal.meta.requests", "metadata calls by operation, arrival to reply",
            call.getRequest().getOpCase().name().toLowerCase(java.util.Locale.ROOT))
            .record(System.nanoTime() - start, java.util.concurrent.TimeUnit.NANOSECONDS);
      }
      out.onNext(r);
      out.onCompleted();
    });
  }

  /** This replica's own view, from its Raft division: no log entry, no leader needed. */
  @Override
  public void getReplicaStatus(ReplicaStatusRequest request, StreamObserver<ReplicaStatus> out) {
    out.onNext(submitter.status());
    out.onCompleted();
  }
}
