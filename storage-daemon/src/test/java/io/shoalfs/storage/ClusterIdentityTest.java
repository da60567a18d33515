package io.shoalfs.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.meta.MetaServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A daemon remembers the cluster its data belongs to (the file {@code cluster-id} in its directory, written at its
 * first registration): started again against its own cluster it joins, against another cluster it is refused for
 * good, with one line that says why, and the other cluster never lists it.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ClusterIdentityTest {
  @TempDir Path dir;

  static MetaServer meta(Path dir, int port) throws Exception {
    return MetaServer.start(new MetaServer.Config("m1", Map.of("m1", new HostPort("127.0.0.1", port)), dir),
        MetaServer.Tuning.DEFAULTS);
  }

  @Test
  void aDaemonWithAnotherClustersDataIsRefused() throws Exception {
    int portA = Ports.freePortPair();
    int portB = Ports.freePortPair();
    HostPort listen = new HostPort("127.0.0.1", Ports.freePort());
    Path data = dir.resolve("s1");
    MetaServer a = meta(dir.resolve("a"), portA);
    MetaServer b = null;
    StorageServer s = null;
    try {
      s = StorageServer.start(new StorageServer.Config("s1", "127.0.0.1:" + portA, data, listen, 1L << 30));
      assertTrue(s.awaitRegistered(Duration.ofSeconds(60)));
      String idA = Files.readString(data.resolve(StorageServer.CLUSTER_FILE)).trim();
      assertFalse(idA.isEmpty());
      s.close();

      // Its own cluster takes it back.
      s = StorageServer.start(new StorageServer.Config("s1", "127.0.0.1:" + portA, data, listen, 1L << 30));
      assertTrue(s.awaitRegistered(Duration.ofSeconds(60)), "its own cluster takes it back");
      s.close();

      // Another cluster (with a daemon of its own, so it has an id) refuses it.
      b = meta(dir.resolve("b"), portB);
      StorageServer other = StorageServer.start(new StorageServer.Config("t1", "127.0.0.1:" + portB, dir.resolve("t1"),
          new HostPort("127.0.0.1", Ports.freePort()), 1L << 30));
      try {
        assertTrue(other.awaitRegistered(Duration.ofSeconds(60)));
        String idB = Files.readString(dir.resolve("t1").resolve(StorageServer.CLUSTER_FILE)).trim();
        assertNotEquals(idA, idB, "two clusters, two ids");
      } finally {
        other.close();
      }
      s = StorageServer.start(new StorageServer.Config("s1", "127.0.0.1:" + portB, data, listen, 1L << 30));
      long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (s.refusal() == null && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      assertTrue(s.refusal() != null && s.refusal().contains(idA) && s.refusal().contains("must not join"),
          "refused with the reason: " + s.refusal());
      assertFalse(s.isRegistered());
      MetaServer cb = b;
      assertEquals(Integer.valueOf(1), cb.stateMachine().readState(tx -> io.shoalfs.meta.core.Daemons.all(tx).size()),
          "cluster B lists only its own daemon");
    } finally {
      if (s != null) {
        s.close();
      }
      if (b != null) {
        b.close();
      }
      a.close();
    }
  }
}
