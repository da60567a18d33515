package io.shoalfs.csi.grpc;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.netty.NettyServerBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.netty.channel.unix.DomainSocketAddress;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CSI gRPC server on a unix domain socket (the only transport kubelet and the sidecars use), served by netty
 * epoll. The socket file is mode 0660: only root and the socket's group may drive the driver.
 */
public final class CsiServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CsiServer.class);
  public static final Set<PosixFilePermission> SOCKET_MODE = PosixFilePermissions.fromString("rw-rw----");
  /** Node RPCs block on mount(8) and on FUSE start-up; this many run at once, the rest wait in the queue. */
  private static final int WORKERS = 16;
  /** Far above what the CO's sidecars send at once; past it calls fail fast rather than pile up. */
  private static final int QUEUE = 1024;

  private final Path socket;
  private final Server server;
  private final EventLoopGroup group;
  private final ThreadPoolExecutor executor;

  private CsiServer(Path socket, Server server, EventLoopGroup group, ThreadPoolExecutor executor) {
    this.socket = socket;
    this.server = server;
    this.group = group;
    this.executor = executor;
  }

  public static CsiServer start(Path socket, List<BindableService> services) throws IOException {
    return start(socket, services, null);
  }

  /** Serves {@code services}, each call also timed by {@code timing} when it is not null. */
  public static CsiServer start(Path socket, List<BindableService> services, io.grpc.ServerInterceptor timing)
      throws IOException {
    removeStaleSocket(socket);
    Files.createDirectories(socket.toAbsolutePath().getParent());
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, EpollIoHandler.newFactory());
    ThreadPoolExecutor executor = new ThreadPoolExecutor(WORKERS, WORKERS, 60, TimeUnit.SECONDS,
        new ArrayBlockingQueue<>(QUEUE), Thread.ofPlatform().name("csi-rpc-", 0).daemon(true).factory());
    LoggingInterceptor logging = new LoggingInterceptor();
    NettyServerBuilder b = NettyServerBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollServerDomainSocketChannel.class)
        .bossEventLoopGroup(group)
        .workerEventLoopGroup(group)
        .executor(executor);
    for (BindableService s : services) {
      b.addService(timing == null ? ServerInterceptors.intercept(s, logging)
          : ServerInterceptors.intercept(s, logging, timing));
    }
    Server server;
    try {
      server = b.build().start();
      Files.setPosixFilePermissions(socket, SOCKET_MODE);
    } catch (IOException | RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      executor.shutdownNow();
      throw e;
    }
    LOG.info("listening on unix://{} (mode 0660)", socket);
    return new CsiServer(socket, server, group, executor);
  }

  /** A socket left by a crashed run would make bind fail; anything that is not a socket is not ours to delete. */
  private static void removeStaleSocket(Path socket) throws IOException {
    if (!Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
      return;
    }
    if (Files.isRegularFile(socket, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(socket, LinkOption.NOFOLLOW_LINKS)
        || Files.isSymbolicLink(socket)) {
      throw new IOException(socket + " exists and is not a socket; refusing to replace it");
    }
    Files.delete(socket);
    LOG.info("removed stale socket {}", socket);
  }

  public Path socket() {
    return socket;
  }

  /** Stops accepting calls, lets running ones finish briefly, and removes the socket file. */
  @Override
  public void close() {
    server.shutdown();
    try {
      if (!server.awaitTermination(5, TimeUnit.SECONDS)) {
        server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      server.shutdownNow();
      Thread.currentThread().interrupt();
    }
    // Handlers may still be finishing a reply (adding listeners on the event loop) after the transports are
    // gone: let them end before the event loops do.
    executor.shutdown();
    try {
      if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
        executor.shutdownNow();
      }
    } catch (InterruptedException e) {
      executor.shutdownNow();
      Thread.currentThread().interrupt();
    }
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    try {
      Files.deleteIfExists(socket);
    } catch (IOException e) {
      LOG.warn("cannot remove socket {}: {}", socket, e.getMessage());
    }
    LOG.info("stopped serving unix://{}", socket);
  }
}
