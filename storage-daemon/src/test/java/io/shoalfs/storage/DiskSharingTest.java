package io.shoalfs.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.meta.MetaServer;
import io.shoalfs.proto.meta.StatFsReply;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pool counts each disk once (issue 6): two daemons whose capacity is the free space of the same filesystem
 * (as `shoal local` runs them) add one disk to the pool, not two; a daemon with a configured capacity is an
 * allotment and adds its capacity.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class DiskSharingTest {
  @Test
  void daemonsOnOneDiskCountItOnce(@TempDir Path dir) throws Exception {
    int raftPort = Ports.freePortPair();
    String addrs = "127.0.0.1:" + raftPort;
    try (MetaServer meta = MetaServer.start(new MetaServer.Config("m1",
        Map.of("m1", new HostPort("127.0.0.1", raftPort)), dir.resolve("meta")));
        StorageServer a = StorageServer.start(new StorageServer.Config("a", addrs, dir.resolve("a"),
            new HostPort("127.0.0.1", Ports.freePort()), 0));
        StorageServer b = StorageServer.start(new StorageServer.Config("b", addrs, dir.resolve("b"),
            new HostPort("127.0.0.1", Ports.freePort()), 0));
        StorageServer c = StorageServer.start(new StorageServer.Config("c", addrs, dir.resolve("c"),
            new HostPort("127.0.0.1", Ports.freePort()), 1L << 30));
        MetaClient client = MetaClient.connect(addrs)) {
      for (StorageServer s : new StorageServer[] {a, b, c}) {
        assertTrue(s.awaitRegistered(Duration.ofSeconds(60)), "registered");
      }
      assertEquals(3, client.getLayout().getGroupsCount());
      long capA = a.config().capacityBytes();
      long capB = b.config().capacityBytes();
      StatFsReply df = client.statFs(Layout.ROOT_INO);
      long shared = df.getCapacityBytes() - (1L << 30);
      assertTrue(shared == capA || shared == capB,
          "the shared disk counts once (a " + capA + ", b " + capB + ", pool " + df.getCapacityBytes() + ")");
    }
  }
}
