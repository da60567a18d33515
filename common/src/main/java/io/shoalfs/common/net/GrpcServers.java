package io.shoalfs.common.net;

import io.grpc.BindableService;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.Server;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.ServerInterceptors;
import io.grpc.Status;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Starts and stops the TCP gRPC servers of the metadata and storage services the same way: on a bounded
 * executor, behind an admission limit.
 *
 * <p>grpc-java's default executor is an unbounded cached thread pool: under overload every call gets a thread
 * and memory grows until the process falls over. Here a fixed pool with a bounded task queue runs the handlers,
 * and at most {@link Limits#maxCalls} calls may be open at once; a call beyond that is closed at once with
 * RESOURCE_EXHAUSTED, which clients treat as "retry after a pause". (A full task queue runs the task on the
 * transport thread instead: slower, never lost; the call limit keeps that rare.)
 */
public final class GrpcServers {
  /** Largest message any Shoal service accepts: one chunk (4 MiB) plus framing. */
  public static final int MAX_MESSAGE_BYTES = 8 << 20;
  /**
   * HTTP/2 flow-control window of every Shoal channel and server. gRPC's 1 MiB default makes a sender of 1 MiB
   * messages wait a round trip for a window update on nearly every message; several write-backs in flight need
   * room for all of them.
   */
  public static final int FLOW_CONTROL_WINDOW = 16 << 20;

  /**
   * @param threads handler threads
   * @param queue tasks waiting for a handler thread
   * @param maxCalls calls open at once (in a handler or waiting for an asynchronous reply)
   */
  public record Limits(int threads, int queue, int maxCalls) {
    /** 2 threads per core (at least 8), 4096 queued tasks, 4096 open calls. */
    public static final Limits DEFAULTS =
        new Limits(Math.max(8, 2 * Runtime.getRuntime().availableProcessors()), 4096, 4096);

    public Limits {
      if (threads < 1 || queue < 1 || maxCalls < 1) {
        throw new IllegalArgumentException("gRPC limits must be positive: " + threads + "/" + queue + "/" + maxCalls);
      }
    }
  }

  private static final Map<Server, ExecutorService> EXECUTORS = new ConcurrentHashMap<>();

  private GrpcServers() {}

  public static Server startTcp(HostPort listen, List<BindableService> services, ServerInterceptor... interceptors)
      throws IOException {
    return startTcp(listen, services, Limits.DEFAULTS, interceptors);
  }

  public static Server startTcp(HostPort listen, List<BindableService> services, Limits limits,
      ServerInterceptor... interceptors) throws IOException {
    AtomicInteger n = new AtomicInteger();
    String name = "grpc-" + listen.port() + "-";
    ThreadPoolExecutor executor = new ThreadPoolExecutor(limits.threads(), limits.threads(), 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(limits.queue()),
        r -> Thread.ofPlatform().daemon().name(name + n.incrementAndGet()).unstarted(r),
        new ThreadPoolExecutor.CallerRunsPolicy());
    List<ServerInterceptor> all = new ArrayList<>(List.of(interceptors));
    all.add(new CallLimit(limits.maxCalls()));
    // With TLS on (Tls), every client must show a certificate from the cluster's CA.
    NettyServerBuilder b = Tls.secure(NettyServerBuilder.forAddress(new InetSocketAddress(listen.host(),
        listen.port()))).maxInboundMessageSize(MAX_MESSAGE_BYTES).flowControlWindow(FLOW_CONTROL_WINDOW)
        .executor(executor);
    for (BindableService s : services) {
      b.addService(ServerInterceptors.intercept(s, all));
    }
    try {
      Server server = b.build().start();
      EXECUTORS.put(server, executor);
      return server;
    } catch (IOException | RuntimeException e) {
      executor.shutdownNow();
      throw e;
    }
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
    } finally {
      ExecutorService ex = EXECUTORS.remove(server);
      if (ex != null) {
        ex.shutdownNow();
      }
    }
  }

  /** Admission: at most {@code max} calls open; the rest get RESOURCE_EXHAUSTED at once. */
  static final class CallLimit implements ServerInterceptor {
    private final Semaphore open;
    private final int max;

    CallLimit(int max) {
      this.max = max;
      this.open = new Semaphore(max);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
        ServerCallHandler<Q, R> next) {
      if (!open.tryAcquire()) {
        call.close(Status.RESOURCE_EXHAUSTED.withDescription("server busy: " + max + " calls open; retry"),
            new Metadata());
        return new ServerCall.Listener<>() {};
      }
      AtomicBoolean released = new AtomicBoolean();
      Runnable release = () -> {
        if (released.compareAndSet(false, true)) {
          open.release();
        }
      };
      ServerCall.Listener<Q> delegate;
      try {
        delegate = next.startCall(call, headers);
      } catch (RuntimeException e) {
        release.run();
        throw e;
      }
      return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(delegate) {
        @Override
        public void onComplete() {
          release.run();
          super.onComplete();
        }

        @Override
        public void onCancel() {
          release.run();
          super.onCancel();
        }
      };
    }
  }
}
