package io.shoalfs.common.net;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Starts and stops the TCP gRPC servers of the metadata and storage services the same way. */
public final class GrpcServers {
  /** Largest message any Shoal service accepts: one chunk (4 MiB) plus framing. */
  public static final int MAX_MESSAGE_BYTES = 8 << 20;

  private GrpcServers() {}

  public static Server startTcp(HostPort listen, List<BindableService> services, ServerInterceptor... interceptors)
      throws IOException {
    NettyServerBuilder b = NettyServerBuilder.forAddress(new InetSocketAddress(listen.host(), listen.port()))
        .maxInboundMessageSize(MAX_MESSAGE_BYTES);
    for (BindableService s : services) {
      b.addService(ServerInterceptors.intercept(s, interceptors));
    }
    return b.build().start();
  }

  /** Stops accepting calls, lets running ones finish for up to {@code graceMillis}, then cancels them. */
  public static void stop(Server server, long graceMillis) {
    if (server == null) {
      return;
    }
    server.shutdown();
    try {
      if (!server.awaitTermination(graceMillis, TimeUnit.MILLISECONDS)) {
        server.shutdownNow().awaitTermination(graceMillis, TimeUnit.MILLISECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
  }
}
