package io.shoalfs.csi;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.unix.DomainSocketAddress;
import io.shoalfs.proto.csi.ControllerGrpc;
import io.shoalfs.proto.csi.GroupControllerGrpc;
import io.shoalfs.proto.csi.IdentityGrpc;
import io.shoalfs.proto.csi.NodeGrpc;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** A gRPC client on the driver's unix socket, as kubelet and the CSI sidecars connect. */
final class CsiClient implements AutoCloseable {
  private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
  private final ManagedChannel channel;

  CsiClient(Path socket) {
    channel = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
        .channelType(EpollDomainSocketChannel.class).eventLoopGroup(group).usePlaintext().build();
  }

  /** Every call gets a deadline so a hung driver fails the test instead of stalling it. */
  IdentityGrpc.IdentityBlockingStub identity() {
    return IdentityGrpc.newBlockingStub(channel).withDeadlineAfter(90, TimeUnit.SECONDS);
  }

  ControllerGrpc.ControllerBlockingStub controller() {
    return ControllerGrpc.newBlockingStub(channel).withDeadlineAfter(90, TimeUnit.SECONDS);
  }

  GroupControllerGrpc.GroupControllerBlockingStub group() {
    return GroupControllerGrpc.newBlockingStub(channel).withDeadlineAfter(90, TimeUnit.SECONDS);
  }

  NodeGrpc.NodeBlockingStub node() {
    return NodeGrpc.newBlockingStub(channel).withDeadlineAfter(90, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
  }
}
