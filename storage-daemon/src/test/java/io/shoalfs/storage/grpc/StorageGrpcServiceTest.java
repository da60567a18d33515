package io.shoalfs.storage.grpc;

import static io.shoalfs.storage.core.ChunkGeometry.BLOCK_SIZE;
import static io.shoalfs.storage.core.ChunkGeometry.CHUNK_SIZE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.common.store.RocksStore;
import io.shoalfs.proto.storage.DaemonStatusReply;
import io.shoalfs.proto.storage.DaemonStatusRequest;
import io.shoalfs.proto.storage.DeleteChunkRequest;
import io.shoalfs.proto.storage.FenceChunkRequest;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import io.shoalfs.proto.storage.TruncateChunkRequest;
import io.shoalfs.proto.storage.WriteChunkRequest;
import io.shoalfs.proto.storage.CopyChunkRequest;
import io.shoalfs.storage.core.WriteAuthority;
import io.shoalfs.storage.store.BlockKey;
import io.shoalfs.storage.store.ChunkStore;
import io.shoalfs.storage.store.ChunkTables;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The storage API over real gRPC on loopback, against a real store, through the generated blocking stub. */
@Timeout(60)
class StorageGrpcServiceTest {
  @TempDir
  Path dir;

  /** The cluster's write key as this test's daemon knows it; the test signs its requests as alloc_chunk would. */
  static final byte[] KEY = random(ChunkTokens.KEY_BYTES, 99);

  private ChunkStore store;
  private Server server;
  private ManagedChannel channel;

  private StorageServiceGrpc.StorageServiceBlockingStub start(long capacity) throws Exception {
    return start(capacity, KEY);
  }

  private StorageServiceGrpc.StorageServiceBlockingStub start(long capacity, byte[] key) throws Exception {
    store = ChunkStore.open(dir, capacity);
    HostPort listen = new HostPort("127.0.0.1", Ports.freePort());
    server = GrpcServers.startTcp(listen,
        List.of(new StorageGrpcService("daemon-a", store, new WriteAuthority(key))));
    channel = NettyChannelBuilder.forAddress(listen.host(), listen.port()).usePlaintext()
        .maxInboundMessageSize(GrpcServers.MAX_MESSAGE_BYTES).build();
    return StorageServiceGrpc.newBlockingStub(channel);
  }

  @AfterEach
  void stop() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    GrpcServers.stop(server, 1000);
    if (store != null) {
      store.close();
    }
  }

  private static StorageServiceGrpc.StorageServiceBlockingStub deadline(
      StorageServiceGrpc.StorageServiceBlockingStub s) {
    return s.withDeadlineAfter(20, TimeUnit.SECONDS);
  }

  /** The token alloc_chunk would hand out with this chunk (epoch 0 unless told). */
  static ByteString token(ChunkTokens.Op op, long chunk, long epoch) {
    return ByteString.copyFrom(ChunkTokens.sign(KEY, op, chunk, epoch));
  }

  static ByteString writeToken(long chunk) {
    return token(ChunkTokens.Op.WRITE, chunk, 0);
  }

  private static void write(StorageServiceGrpc.StorageServiceBlockingStub s, long chunk, int offset, byte[] data) {
    deadline(s).writeChunk(WriteChunkRequest.newBuilder().setChunkId(chunk).setToken(writeToken(chunk))
        .setOffset(offset).setData(ByteString.copyFrom(data)).build());
  }

  private static void delete(StorageServiceGrpc.StorageServiceBlockingStub s, long chunk) {
    deadline(s).deleteChunk(DeleteChunkRequest.newBuilder().setChunkId(chunk)
        .setToken(token(ChunkTokens.Op.DELETE, chunk, 0)).build());
  }

  private static byte[] read(StorageServiceGrpc.StorageServiceBlockingStub s, long chunk, int offset, int length) {
    return deadline(s).readChunk(ReadChunkRequest.newBuilder()
        .setChunkId(chunk).setOffset(offset).setLength(length).build()).getData().toByteArray();
  }

  private static byte[] random(int length, long seed) {
    byte[] b = new byte[length];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void writeReadTruncateDeleteAndStatusRoundTrip() throws Exception {
    var stub = start(1L << 30);
    byte[] whole = random(CHUNK_SIZE, 1);
    deadline(stub).writeChunk(WriteChunkRequest.newBuilder().setChunkId(-1L).setToken(writeToken(-1L))
        .setOffset(0).setData(ByteString.copyFrom(whole)).setSync(true).build());
    assertArrayEquals(whole, read(stub, -1L, 0, CHUNK_SIZE));
    assertArrayEquals(Arrays.copyOfRange(whole, 100_000, 100_123), read(stub, -1L, 100_000, 123));

    deadline(stub).truncateChunk(TruncateChunkRequest.newBuilder().setChunkId(-1L).setToken(writeToken(-1L))
        .setLength(1000).build());
    byte[] expected = new byte[2000];
    System.arraycopy(whole, 0, expected, 0, 1000);
    assertArrayEquals(expected, read(stub, -1L, 0, 2000));

    write(stub, 5, BLOCK_SIZE - 1, new byte[] {1, 2});
    DaemonStatusReply status = deadline(stub).status(DaemonStatusRequest.getDefaultInstance());
    assertEquals("daemon-a", status.getId());
    assertEquals(1L << 30, status.getCapacityBytes());
    assertEquals(1000 + BLOCK_SIZE + 1, status.getUsedBytes());

    delete(stub, -1L);
    delete(stub, -1L);
    // Write fencing: a deleted chunk refuses reads and writes with FAILED_PRECONDITION + shoal-stale: deleted.
    for (Runnable call : List.<Runnable>of(() -> read(stub, -1L, 0, 2000), () -> write(stub, -1L, 0, new byte[1]))) {
      StatusRuntimeException refused = assertThrows(StatusRuntimeException.class, call::run);
      assertEquals(Status.Code.FAILED_PRECONDITION, refused.getStatus().getCode());
      assertEquals("deleted", refused.getTrailers().get(StorageGrpcService.STALE_KEY));
      assertEquals(Long.toUnsignedString(-1L), refused.getTrailers().get(StorageGrpcService.CHUNK_ID_KEY));
    }
    // A fence: epoch 2 refused below it, accepted at it.
    assertEquals(3, deadline(stub).fenceChunk(FenceChunkRequest.newBuilder().setChunkId(5).setEpoch(3)
        .setToken(token(ChunkTokens.Op.FENCE, 5, 0)).build()).getFence());
    StatusRuntimeException fenced = assertThrows(StatusRuntimeException.class, () -> deadline(stub).writeChunk(
        WriteChunkRequest.newBuilder().setChunkId(5).setEpoch(2).setToken(token(ChunkTokens.Op.WRITE, 5, 2))
            .setData(ByteString.copyFromUtf8("x")).build()));
    assertEquals(Status.Code.FAILED_PRECONDITION, fenced.getStatus().getCode());
    assertEquals("3", fenced.getTrailers().get(StorageGrpcService.STALE_KEY));
    deadline(stub).writeChunk(WriteChunkRequest.newBuilder().setChunkId(5).setEpoch(3)
        .setToken(token(ChunkTokens.Op.WRITE, 5, 3)).setOffset(BLOCK_SIZE - 1)
        .setData(ByteString.copyFrom(new byte[] {1, 2})).build());
    assertEquals(BLOCK_SIZE + 1, deadline(stub).status(DaemonStatusRequest.getDefaultInstance()).getUsedBytes());
  }

  @Test
  void corruptBlockIsDataLossNamingTheChunkWhileOtherBlocksStillRead() throws Exception {
    var stub = start(1L << 30);
    long chunk = 4242;
    byte[] data = random(4 * BLOCK_SIZE, 2);
    write(stub, chunk, 0, data);

    // Damage block 2 in RocksDB itself, as a bad disk would.
    RocksStore rocks = store.rocks();
    BlockKey key = new BlockKey(chunk, 2);
    byte[] value = rocks.get(ChunkTables.BLOCKS, key);
    value[value.length / 2] ^= 1;
    try (RocksStore.Batch b = rocks.batch()) {
      b.put(ChunkTables.BLOCKS, key, value).commit();
    }

    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> read(stub, chunk, 0, data.length));
    assertEquals(Status.Code.DATA_LOSS, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("chunk 4242 block 2"), e.getStatus().getDescription());
    assertEquals("4242", e.getTrailers().get(StorageGrpcService.CHUNK_ID_KEY));
    assertEquals("2", e.getTrailers().get(StorageGrpcService.BLOCK_KEY));

    assertEquals(Status.Code.DATA_LOSS, code(() -> write(stub, chunk, 2 * BLOCK_SIZE + 5, new byte[] {1})));
    assertArrayEquals(Arrays.copyOfRange(data, 0, 2 * BLOCK_SIZE), read(stub, chunk, 0, 2 * BLOCK_SIZE));
    assertArrayEquals(Arrays.copyOfRange(data, 3 * BLOCK_SIZE, 4 * BLOCK_SIZE),
        read(stub, chunk, 3 * BLOCK_SIZE, BLOCK_SIZE));
  }

  static Stream<Arguments> invalidRequests() {
    return Stream.<Arguments>of(
        Arguments.of("write past the chunk end", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> write(s, 1, CHUNK_SIZE - 10, new byte[11])),
        Arguments.of("write starting past the end", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> write(s, 1, CHUNK_SIZE + 1, new byte[0])),
        Arguments.of("write at uint32 max", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> write(s, 1, -1, new byte[1])),
        Arguments.of("read past the chunk end", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> read(s, 1, CHUNK_SIZE - 1, 2)),
        Arguments.of("read longer than a chunk", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> read(s, 1, 0, CHUNK_SIZE + 1)),
        Arguments.of("read of uint32 max bytes", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> read(s, 1, 0, -1)),
        Arguments.of("read at uint32 max", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> read(s, 1, -1, 1)),
        Arguments.of("truncate past the chunk end", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> deadline(s).truncateChunk(
                TruncateChunkRequest.newBuilder().setChunkId(1).setToken(writeToken(1)).setLength(CHUNK_SIZE + 1)
                    .build())),
        Arguments.of("truncate to uint32 max", (Consumer<StorageServiceGrpc.StorageServiceBlockingStub>)
            s -> deadline(s).truncateChunk(TruncateChunkRequest.newBuilder().setChunkId(1).setToken(writeToken(1))
                .setLength(-1).build())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("invalidRequests")
  void invalidRangesAreInvalidArgument(String name, Consumer<StorageServiceGrpc.StorageServiceBlockingStub> call)
      throws Exception {
    var stub = start(1L << 30);
    assertEquals(Status.Code.INVALID_ARGUMENT, code(() -> call.accept(stub)));
  }

  @Test
  void writesPastCapacityAreResourceExhausted() throws Exception {
    var stub = start(2L * BLOCK_SIZE);
    write(stub, 1, 0, new byte[BLOCK_SIZE]);
    write(stub, 2, 0, new byte[BLOCK_SIZE]);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> write(stub, 3, 0, new byte[1]));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("more bytes") && e.getStatus().getDescription().contains("used"),
        "says what is full: " + e.getStatus().getDescription());
    // A full daemon keeps serving reads.
    assertEquals(BLOCK_SIZE, deadline(stub).readChunk(io.shoalfs.proto.storage.ReadChunkRequest.newBuilder()
        .setChunkId(1).setOffset(0).setLength(BLOCK_SIZE).build()).getData().size());
    write(stub, 2, 10, random(100, 3));
    delete(stub, 1);
    write(stub, 3, 0, new byte[1]);
    DaemonStatusReply status = deadline(stub).status(DaemonStatusRequest.getDefaultInstance());
    assertEquals(BLOCK_SIZE + 1, status.getUsedBytes());
  }

  /**
   * Acceptance 5 of the replication issue: a mutation without the metadata service's authority is refused and
   * changes nothing, whatever it forges: no token, another chunk's token, a token of another operation, an epoch
   * above the one signed (a writer lifting itself over a snapshot's fence), a token under another key.
   */
  @Test
  void mutationsWithoutAValidTokenAreRefusedAndChangeNothing() throws Exception {
    var stub = start(1L << 30);
    byte[] data = random(3 * BLOCK_SIZE, 4);
    write(stub, 7, 0, data);
    deadline(stub).fenceChunk(FenceChunkRequest.newBuilder().setChunkId(7).setEpoch(5)
        .setToken(token(ChunkTokens.Op.FENCE, 7, 0)).build());
    ByteString otherKey = ByteString.copyFrom(ChunkTokens.sign(random(ChunkTokens.KEY_BYTES, 5),
        ChunkTokens.Op.WRITE, 7, 5));
    ByteString x = ByteString.copyFromUtf8("forged");
    List<ByteString> badWriteTokens = List.of(ByteString.EMPTY, token(ChunkTokens.Op.WRITE, 8, 5),
        token(ChunkTokens.Op.FENCE, 7, 5), token(ChunkTokens.Op.WRITE, 7, 5), otherKey,
        token(ChunkTokens.Op.WRITE, 7, 5).substring(0, 8));
    for (ByteString bad : badWriteTokens) {
      // Epoch 6 is above the fence, but token(WRITE, 7, 5) was signed for 5: lifting the epoch is a forgery too.
      long epoch = bad.equals(token(ChunkTokens.Op.WRITE, 7, 5)) ? 6 : 5;
      List<Runnable> calls = List.of(
          () -> deadline(stub).writeChunk(WriteChunkRequest.newBuilder().setChunkId(7).setEpoch(epoch)
              .setToken(bad).setData(x).build()),
          () -> deadline(stub).truncateChunk(TruncateChunkRequest.newBuilder().setChunkId(7).setEpoch(epoch)
              .setToken(bad).setLength(0).build()),
          () -> deadline(stub).copyChunk(CopyChunkRequest.newBuilder().setFromChunkId(9).setToChunkId(7)
              .setEpoch(epoch).setToken(bad).setOffset(0).setLength(BLOCK_SIZE).build()),
          () -> deadline(stub).fenceChunk(FenceChunkRequest.newBuilder().setChunkId(7).setEpoch(-2L)
              .setToken(bad).build()),
          () -> deadline(stub).deleteChunk(DeleteChunkRequest.newBuilder().setChunkId(7).setToken(bad).build()));
      for (Runnable call : calls) {
        StatusRuntimeException e = assertThrows(StatusRuntimeException.class, call::run);
        assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode(), e.getStatus().toString());
        assertTrue(e.getStatus().getDescription().contains("chunk 7"), e.getStatus().getDescription());
      }
    }
    assertArrayEquals(data, read(stub, 7, 0, data.length), "a refused mutation changed the chunk");
    // The fence is still 5: a write signed for epoch 5 is taken.
    deadline(stub).writeChunk(WriteChunkRequest.newBuilder().setChunkId(7).setEpoch(5)
        .setToken(token(ChunkTokens.Op.WRITE, 7, 5)).setData(x).build());
    assertArrayEquals(x.toByteArray(), read(stub, 7, 0, x.size()));
  }

  /** A daemon that never learned the cluster's key takes no mutation: UNAVAILABLE, so a client retries. */
  @Test
  void aDaemonWithoutAWriteKeyRefusesMutationsButServesReads() throws Exception {
    var stub = start(1L << 30, null);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> write(stub, 3, 0, new byte[10]));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("no write key"), e.getStatus().getDescription());
    assertArrayEquals(new byte[10], read(stub, 3, 0, 10));
  }

  private static Status.Code code(Runnable call) {
    return assertThrows(StatusRuntimeException.class, call::run).getStatus().getCode();
  }
}
