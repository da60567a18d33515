package io.shoalfs.storage;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.common.net.Ports;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import io.shoalfs.proto.storage.SyncRequest;
import io.shoalfs.proto.storage.WriteChunkRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Sync RPC on a real daemon process killed with SIGKILL: what was acknowledged before a Sync is there after
 * a restart on the same directory. (A write acknowledged without Sync is in the WAL file, so it survives a
 * process kill too; only a power loss may take it. The test checks the guarantee, not that stronger fact.)
 */
@Timeout(120)
class SyncAfterKillTest {
  private static Process start(Path dir, int port) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), StorageMain.class.getName(),
        "--id", "s9", "--meta", "127.0.0.1:" + Ports.freePortPair(), "--dir", dir.resolve("data").toString(),
        "--listen", "127.0.0.1:" + port, "--capacity", "1Gi")
        .redirectOutput(dir.resolve("stdout").toFile()).redirectError(dir.resolve("stderr").toFile()).start();
  }

  private static void awaitListening(Process p, Path dir, int port) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    Path err = dir.resolve("stderr");
    while (p.isAlive() && System.nanoTime() < deadline
        && !(Files.exists(err) && Files.readString(err).contains("listening on 127.0.0.1:" + port))) {
      Thread.sleep(50);
    }
    assertTrue(p.isAlive(), "daemon died: " + Files.readString(err));
  }

  private static ByteString token(byte[] key, long chunk) {
    return ByteString.copyFrom(ChunkTokens.sign(key, ChunkTokens.Op.WRITE, chunk, 0));
  }

  @Test
  void syncedWritesSurviveSigkill(@TempDir Path dir) throws Exception {
    long seed = Long.getLong("shoal.seed", System.nanoTime());
    System.out.println("SyncAfterKillTest seed " + seed);
    Random rnd = new Random(seed);
    int port = Ports.freePort();
    // The daemon never reaches a metadata service here: it takes writes with the key it keeps from an earlier
    // registration, as a daemon restarted while the service is away does.
    byte[] key = new byte[ChunkTokens.KEY_BYTES];
    rnd.nextBytes(key);
    StorageServer.storeWriteKey(dir.resolve("data"), key);
    Process p = start(dir, port);
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    Process p2 = null;
    try {
      awaitListening(p, dir, port);
      var stub = StorageServiceGrpc.newBlockingStub(channel);
      int chunks = 20;
      byte[][] data = new byte[chunks][];
      for (int c = 0; c < chunks; c++) {
        data[c] = new byte[1 + rnd.nextInt(300_000)];
        rnd.nextBytes(data[c]);
        stub.withDeadlineAfter(10, TimeUnit.SECONDS).writeChunk(WriteChunkRequest.newBuilder()
            .setChunkId(100 + c).setToken(token(key, 100 + c)).setOffset(c * 7).setData(ByteString.copyFrom(data[c]))
            .build());
      }
      stub.withDeadlineAfter(10, TimeUnit.SECONDS).sync(SyncRequest.newBuilder().addChunkIds(100).build());
      // Written after the Sync and never synced: may be lost, must not harm what was synced.
      stub.withDeadlineAfter(10, TimeUnit.SECONDS).writeChunk(WriteChunkRequest.newBuilder()
          .setChunkId(999).setToken(token(key, 999)).setOffset(0).setData(ByteString.copyFrom(new byte[70_000]))
          .build());

      p.destroyForcibly(); // SIGKILL
      assertTrue(p.waitFor(20, TimeUnit.SECONDS));
      p2 = start(dir, port);
      awaitListening(p2, dir, port);
      for (int c = 0; c < chunks; c++) {
        byte[] back = stub.withDeadlineAfter(10, TimeUnit.SECONDS).readChunk(ReadChunkRequest.newBuilder()
            .setChunkId(100 + c).setOffset(c * 7).setLength(data[c].length).build()).getData().toByteArray();
        assertArrayEquals(data[c], back, "chunk " + (100 + c) + " lost after Sync and SIGKILL (seed " + seed + ")");
      }
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
      if (p2 != null) {
        p2.destroyForcibly();
        p2.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
