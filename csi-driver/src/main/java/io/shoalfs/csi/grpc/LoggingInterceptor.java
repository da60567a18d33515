package io.shoalfs.csi.grpc;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One log line per CSI call: method, status, duration and the request with secrets stripped (see
 * {@link SecretRedactor}). The request is redacted before it is turned into text, so a secret never exists in
 * any string this class builds.
 */
public final class LoggingInterceptor implements ServerInterceptor {
  private static final Logger LOG = LoggerFactory.getLogger(LoggingInterceptor.class);
  /**
   * Called every few seconds by the CO's sidecars (stats every minute per volume, capacity by the provisioner's
   * capacity tracking); logged only at debug when they succeed, so they do not drown the rest.
   */
  private static final Set<String> ROUTINE = Set.of("Probe", "GetPluginInfo", "GetPluginCapabilities",
      "ControllerGetCapabilities", "NodeGetCapabilities", "NodeGetInfo", "GroupControllerGetCapabilities",
      "NodeGetVolumeStats", "GetCapacity");
  private static final TextFormat.Printer PRINTER = TextFormat.printer().emittingSingleLine(true);

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String method = call.getMethodDescriptor().getFullMethodName();
    boolean routine = ROUTINE.contains(call.getMethodDescriptor().getBareMethodName());
    long start = System.nanoTime();
    String[] request = {""};
    ServerCall<Q, R> logged = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
      @Override
      public void close(Status status, Metadata trailers) {
        long ms = (System.nanoTime() - start) / 1_000_000;
        String desc = status.getDescription() == null ? "" : " (" + status.getDescription() + ")";
        if (status.isOk() && routine) {
          LOG.debug("csi {} -> OK in {} ms: {}", method, ms, request[0]);
        } else if (status.isOk()) {
          LOG.info("csi {} -> OK in {} ms: {}", method, ms, request[0]);
        } else {
          LOG.warn("csi {} -> {}{} in {} ms: {}", method, status.getCode(), desc, ms, request[0]);
        }
        super.close(status, trailers);
      }
    };
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(logged, headers)) {
      @Override
      public void onMessage(Q message) {
        if (message instanceof Message m) {
          request[0] = PRINTER.printToString(SecretRedactor.redact(m));
        }
        super.onMessage(message);
      }
    };
  }
}
