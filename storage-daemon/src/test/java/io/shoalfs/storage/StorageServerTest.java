package io.shoalfs.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.proto.storage.DaemonStatusRequest;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import io.shoalfs.proto.storage.WriteChunkRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon without a metadata service: it must serve anyway, keep retrying registration, and stop promptly.
 * Registration against a real metadata service is covered by the end-to-end tests.
 */
@Timeout(60)
class StorageServerTest {
  @Test
  void servesAndKeepsRetryingRegistrationUntilClosed(@TempDir Path dir) throws Exception {
    String nobody = "127.0.0.1:" + Ports.freePortPair();
    HostPort listen = new HostPort("127.0.0.1", Ports.freePort());
    StorageServer.Config cfg = new StorageServer.Config("s1", nobody, dir, listen, 1L << 30);
    byte[] data = "hello, shoal".getBytes();
    // The write key an earlier registration left in the data directory: without the metadata service the daemon
    // verifies tokens with it (and refuses writes without one).
    byte[] key = new byte[ChunkTokens.KEY_BYTES];
    new java.util.Random(7).nextBytes(key);
    StorageServer.storeWriteKey(dir, key);
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(dir.resolve(StorageServer.WRITE_KEY_FILE))), "the key is its owner's alone");

    ManagedChannel channel = channel(listen);
    try {
      StorageServer server = StorageServer.start(cfg);
      try {
        assertTrue(Files.isDirectory(dir.resolve("db")), "the store lives under dir/db");
        var stub = StorageServiceGrpc.newBlockingStub(channel);
        WriteChunkRequest write = WriteChunkRequest.newBuilder().setChunkId(9).setOffset(100)
            .setData(ByteString.copyFrom(data)).setSync(true).build();
        assertEquals(Status.Code.PERMISSION_DENIED, assertThrows(StatusRuntimeException.class,
            () -> stub.withDeadlineAfter(10, TimeUnit.SECONDS).writeChunk(write)).getStatus().getCode());
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).writeChunk(write.toBuilder()
            .setToken(ByteString.copyFrom(ChunkTokens.sign(key, ChunkTokens.Op.WRITE, 9, 0))).build());
        assertEquals("s1", stub.withDeadlineAfter(10, TimeUnit.SECONDS)
            .status(DaemonStatusRequest.getDefaultInstance()).getId());

        assertFalse(server.awaitRegistered(Duration.ofMillis(500)));
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (server.registrationAttempts() < 2 && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertTrue(server.registrationAttempts() >= 2, "registration is retried, not given up");
        assertFalse(server.isRegistered());
      } finally {
        long start = System.nanoTime();
        server.close();
        long closeMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertTrue(closeMillis < 5_000, "close took " + closeMillis + " ms");
        server.close();
      }
      assertRegistrarEnds("storage-register-s1");
      var stub = StorageServiceGrpc.newBlockingStub(channel);
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> stub.withDeadlineAfter(5, TimeUnit.SECONDS).status(DaemonStatusRequest.getDefaultInstance()));
      assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }

    // Same directory, a new daemon: the data is still there. (A fresh channel: the old one backs off after
    // its failed connection.)
    ManagedChannel again = channel(listen);
    try (StorageServer restarted = StorageServer.start(cfg)) {
      byte[] back = StorageServiceGrpc.newBlockingStub(again).withDeadlineAfter(10, TimeUnit.SECONDS)
          .readChunk(ReadChunkRequest.newBuilder().setChunkId(9).setOffset(100).setLength(data.length).build())
          .getData().toByteArray();
      assertArrayEquals(data, back);
    } finally {
      again.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static ManagedChannel channel(HostPort to) {
    return NettyChannelBuilder.forAddress(to.host(), to.port()).usePlaintext()
        .maxInboundMessageSize(GrpcServers.MAX_MESSAGE_BYTES).build();
  }

  @Test
  void portInUseFailsStartAndReleasesTheStore(@TempDir Path dir) throws Exception {
    HostPort listen = new HostPort("127.0.0.1", Ports.freePort());
    String meta = "127.0.0.1:" + Ports.freePortPair();
    StorageServer.Config cfg = new StorageServer.Config("s2", meta, dir, listen, 1L << 30);
    try (StorageServer first = StorageServer.start(cfg)) {
      StorageServer.Config clash = new StorageServer.Config("s3", meta, dir.resolve("other"), listen, 1L << 30);
      assertThrows(java.io.IOException.class, () -> StorageServer.start(clash));
      // The failed start closed its store: the directory opens again at once.
      try (var reopened = io.shoalfs.storage.store.ChunkStore.open(dir.resolve("other").resolve("db"), 1)) {
        assertEquals(0, reopened.usedBytes());
      }
    }
  }

  @Test
  void configRejectsNonsense(@TempDir Path dir) {
    HostPort listen = new HostPort("127.0.0.1", 7000);
    assertThrows(IllegalArgumentException.class, () -> new StorageServer.Config(" ", "127.0.0.1:1", dir, listen, 1));
    assertThrows(IllegalArgumentException.class, () -> new StorageServer.Config("a", "", dir, listen, 1));
    assertThrows(IllegalArgumentException.class, () -> new StorageServer.Config("a", "127.0.0.1:1", dir, listen, -1));
  }

  @Test
  void zeroCapacityMeansTheFreeSpaceOfTheDirectory(@TempDir Path dir) throws Exception {
    HostPort listen = new HostPort("127.0.0.1", Ports.freePort());
    var cfg = new StorageServer.Config("s4", "127.0.0.1:" + Ports.freePortPair(), dir, listen, 0);
    ManagedChannel channel = channel(listen);
    try (StorageServer server = StorageServer.start(cfg)) {
      long capacity = StorageServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .status(DaemonStatusRequest.getDefaultInstance()).getCapacityBytes();
      long free = Files.getFileStore(dir).getUsableSpace();
      // Free space moves while other builds run; it must be the filesystem's, not a made-up number.
      assertTrue(capacity > 0 && Math.abs(capacity - free) < free / 10 + (64L << 20), capacity + " vs " + free);
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  /** The registration thread stops by itself within one bounded attempt after close. */
  private static void assertRegistrarEnds(String name) throws InterruptedException {
    long deadline = System.nanoTime() + StorageServer.REGISTER_ATTEMPT.plusSeconds(5).toNanos();
    while (System.nanoTime() < deadline) {
      if (Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals(name) && t.isAlive())) {
        return;
      }
      Thread.sleep(50);
    }
    throw new AssertionError(name + " still runs after close");
  }
}
