package io.shoalfs.storage.gc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StaleChunkException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.meta.MetaServer;
import io.shoalfs.meta.core.OrphanChunks;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.storage.StorageServer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The collector across a leader change, with three metadata replicas: orphan rows written under one leader
 * (while the daemon was down, so they stayed) are deleted and released by the next leader once the daemon is
 * back, on every replica alike.
 */
@Timeout(value = 150, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class GcFailoverTest {
  @TempDir
  Path dir;

  @Test
  void theNextLeaderCollectsTheRowsTheLastOneLeft() throws Exception {
    Map<String, HostPort> peers = new LinkedHashMap<>();
    for (int i = 0; i < 3; i++) {
      int port;
      do {
        port = Ports.freePortPair();
      } while (peers.containsValue(new HostPort("127.0.0.1", port)) || peers.containsValue(new HostPort("127.0.0.1", port + 1))
          || peers.containsValue(new HostPort("127.0.0.1", port - 1)));
      peers.put("m" + i, new HostPort("127.0.0.1", port));
    }
    String addrs = peers.values().stream().map(HostPort::toString).collect(Collectors.joining(","));
    Map<String, MetaServer> metas = new LinkedHashMap<>();
    StorageServer storage = null;
    try {
      for (String id : peers.keySet()) {
        metas.put(id, MetaServer.start(new MetaServer.Config(id, peers, dir.resolve(id))));
      }
      StorageServer.Config scfg = new StorageServer.Config("s1", addrs, dir.resolve("storage"),
          new HostPort("127.0.0.1", Ports.freePort()), 1L << 30);
      storage = StorageServer.start(scfg);
      assertTrue(storage.awaitRegistered(Duration.ofSeconds(60)));
      try (MetaClient client = MetaClient.connect(addrs); StorageClient sc = new StorageClient(client)) {
        Attr a = client.create(Layout.ROOT_INO, "f", 0644, 0, 0, false);
        List<ChunkRef> refs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
          ChunkRef r = client.allocChunk(a.getIno(), i);
          sc.write(r, 0, ByteString.copyFrom(GcClusterTest.content(r.getChunkId())), true);
          refs.add(r);
        }
        storage.close();
        client.unlink(Layout.ROOT_INO, "f");
        MetaServer leader = awaitLeader(metas);
        long rows = leader.stateMachine().readState(tx -> OrphanChunks.count(tx, 100));
        assertEquals(2, rows, "the rows stay while the daemon is down");

        String old = leader.id();
        metas.remove(old).close();
        storage = StorageServer.start(scfg);
        assertTrue(storage.awaitRegistered(Duration.ofSeconds(60)));
        MetaServer next = awaitLeader(metas);
        Duration took = GcCluster.await("the new leader releases the rows", Duration.ofSeconds(60),
            () -> metas.values().stream().allMatch(m -> m.stateMachine().readState(tx -> OrphanChunks.count(tx, 100)) == 0L));
        System.out.println("GcFailoverTest: leader " + old + " stopped, " + next.id() + " collected the rows in "
            + took.toMillis() + " ms");
        assertTrue(next.chunkCollector().deletedChunks() >= 2);
        for (ChunkRef r : refs) {
          assertTrue(assertThrows(StaleChunkException.class, () -> sc.read(r, 0, 1)).deleted());
        }
        assertEquals(0, sc.status("g-s1").getUsedBytes());
      }
    } finally {
      if (storage != null) {
        storage.close();
      }
      metas.values().forEach(MetaServer::close);
    }
  }

  private static MetaServer awaitLeader(Map<String, MetaServer> metas) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (System.nanoTime() < deadline) {
      for (MetaServer m : metas.values()) {
        if (m.isLeaderReady()) {
          return m;
        }
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no leader among " + metas.keySet());
  }
}
