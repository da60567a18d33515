package io.shoalfs.storage.transit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.meta.MetaServer;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.StorageGroup;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import io.shoalfs.storage.StorageServer;
import io.shoalfs.storage.TestTokens;
import io.shoalfs.storage.transit.Http2CorruptingProxy.Direction;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * End-to-end checksums: a real metadata replica and storage daemon, with a proxy between the client and the
 * daemon that flips a byte inside the data of well-formed HTTP/2 frames. A write whose bytes changed on the way
 * is refused by the daemon before anything is stored and sent again by the client; a read reply whose bytes
 * changed is caught by the client's check and read again; when every try is corrupted the error says so and
 * nothing corrupt was stored.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class TransitChecksumTest {
  private static final int MIB = 1 << 20;

  @TempDir Path tmp;

  @Test
  void bytesChangedOnTheWireAreNeverStoredNorReturned() throws Exception {
    int raftPort = Ports.freePortPair();
    String metaAddrs = "127.0.0.1:" + raftPort;
    HostPort listen = new HostPort("127.0.0.1", Ports.freePort());
    try (MetaServer meta = MetaServer.start(new MetaServer.Config("m1", Map.of("m1",
            new HostPort("127.0.0.1", raftPort)), tmp.resolve("meta")));
        Http2CorruptingProxy proxy = new Http2CorruptingProxy(new InetSocketAddress("127.0.0.1", listen.port()));
        // Clients dial the proxy: it is the address the daemon registers.
        StorageServer daemon = StorageServer.start(new StorageServer.Config("s1", metaAddrs, tmp.resolve("s1"),
            listen, 1L << 30, null, new HostPort("127.0.0.1", proxy.port())));
        MetaClient client = MetaClient.connect(metaAddrs);
        StorageClient storage = new StorageClient(client)) {
      assertTrue(daemon.awaitRegistered(Duration.ofSeconds(60)), "registered");
      StorageGroup group = client.getLayout().getGroupsList().stream()
          .filter(g -> g.getMembersList().stream().anyMatch(m -> m.getId().equals("s1"))).findFirst().orElseThrow();
      assertEquals("127.0.0.1:" + proxy.port(), group.getMembers(0).getAddress(), "the proxy is what clients dial");
      byte[] key = TestTokens.key(tmp.resolve("s1"));
      ChunkRef chunk = TestTokens.atEpoch(ChunkRef.newBuilder().setChunkId(4242).setGroupId(group.getGroupId())
          .build(), 0, key);
      byte[] data = new byte[MIB];
      new Random(11).nextBytes(data);
      ManagedChannel direct = NettyChannelBuilder.forAddress(listen.host(), listen.port()).usePlaintext().build();
      try {
        // A write corrupted once: the daemon refuses it, the client sends it again, the right bytes are stored.
        proxy.corrupt(Direction.TO_SERVER, 1);
        storage.write(chunk, 0, ByteString.copyFrom(data), true);
        assertEquals(1, proxy.corrupted(Direction.TO_SERVER), "one frame of the write was changed");
        assertArrayEquals(data, readDirect(direct, 4242, MIB), "the daemon holds the writer's bytes");

        // A read reply corrupted once: the client's check catches it and reads again.
        proxy.corrupt(Direction.TO_CLIENT, 1);
        assertArrayEquals(data, storage.read(chunk, 0, MIB).toByteArray(), "the reader gets the stored bytes");
        assertEquals(1, proxy.corrupted(Direction.TO_CLIENT), "one frame of the reply was changed");

        // Every try corrupted: the write fails, saying why, and nothing of it is stored.
        ChunkRef other = TestTokens.atEpoch(ChunkRef.newBuilder().setChunkId(4343).setGroupId(group.getGroupId())
            .build(), 0, key);
        proxy.corrupt(Direction.TO_SERVER, -1);
        IOException refused = assertThrows(IOException.class,
            () -> storage.write(other, 0, ByteString.copyFrom(data), true));
        assertTrue(refused.getMessage().contains("changed in transit"), refused.getMessage());
        proxy.corrupt(Direction.TO_SERVER, 0);
        assertArrayEquals(new byte[MIB], readDirect(direct, 4343, MIB), "nothing of the corrupted write landed");

        // Every reply corrupted: the read fails rather than hand back changed bytes.
        proxy.corrupt(Direction.TO_CLIENT, -1);
        IOException unread = assertThrows(IOException.class, () -> storage.read(chunk, 0, MIB));
        assertTrue(unread.getMessage().contains("changed in transit"), unread.getMessage());
      } finally {
        direct.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      }
    }
  }

  /** A read straight from the daemon, past the proxy: what it really stored. */
  private static byte[] readDirect(ManagedChannel ch, long chunkId, int length) {
    return StorageServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS).readChunk(
        ReadChunkRequest.newBuilder().setChunkId(chunkId).setOffset(0).setLength(length).build()).getData()
        .toByteArray();
  }
}
