package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.common.net.Ports;
import io.shoalfs.proto.meta.Code;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** MetaClient against dead, wrong and partly dead address lists; follower reads; the close threshold. */
class ClientRobustnessTest {
  static final long ROOT = Layout.ROOT_INO;
  @TempDir Path tmp;

  @Test
  @Timeout(60)
  void nothingAnsweringFailsWithinFiveSecondsNamingEveryAddress() {
    // Privileged ports nothing here listens on (clients use port + 1: 2 and 4). A "free" port from the kernel
    // is not enough: a metadata replica of a test in the other test JVM may take it meanwhile (seen once).
    int a = 1;
    int b = 3;
    // A refused port, and a TEST-NET-1 address that is never routed (black hole or unreachable).
    String addrs = "127.0.0.1:" + a + ",127.0.0.1:" + b + ",192.0.2.1:9860";
    // Not timed: loads gRPC and Netty classes, which on a loaded test machine alone can take seconds.
    try (MetaClient warm = MetaClient.connect("127.0.0.1:" + a)) {
      assertThrows(MetaException.class, () -> warm.getAttr(ROOT));
    }
    try (MetaClient c = MetaClient.connect(addrs)) {
      long t0 = System.nanoTime();
      MetaException e = assertThrows(MetaException.class, () -> c.getAttr(ROOT));
      double secs = (System.nanoTime() - t0) / 1e9;
      System.out.printf("unreachable --meta failed after %.2f s: %s%n", secs, e.getMessage());
      assertTrue(secs <= 5.0, "failed after " + secs + " s");
      assertEquals(Code.UNAVAILABLE, e.code());
      assertEquals(1, e.getMessage().lines().count(), e.getMessage());
      for (HostPort h : MetaAddresses.clientAddresses(addrs)) {
        assertTrue(e.getMessage().contains(h.toString()), h + " in: " + e.getMessage());
      }
    }
  }

  @Test
  @Timeout(180)
  void deadOrWrongAddressesNeverFailACallWhileAMajorityAnswers() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      int dead = Ports.freePortPair();
      // A dead address first, a wrong one (nothing listens on raft port + 1 there) last.
      String addrs = "127.0.0.1:" + dead + "," + cluster.addrs() + ",192.0.2.1:9860";
      try (MetaClient c = MetaClient.connect(addrs)) {
        long dir = c.mkdir(ROOT, "d", 0755, 0, 0).getIno();
        for (int i = 0; i < 20; i++) {
          c.create(dir, "f" + i, 0644, 0, 0, true);
          c.lookup(dir, "f" + i);
        }
        // One replica down (the leader): the others still make a majority.
        String leader = cluster.awaitLeader(Duration.ofSeconds(30)).id();
        cluster.stop(leader);
        for (int i = 20; i < 40; i++) {
          c.create(dir, "f" + i, 0644, 0, 0, true);
        }
        assertEquals(40, c.readDir(dir, "", 1000).getEntriesCount());
        // Back again: its channel's reconnect backoff is reset, so it is used at once once it leads.
        cluster.start(leader);
        for (int i = 40; i < 50; i++) {
          c.create(dir, "f" + i, 0644, 0, 0, true);
        }
      }
      // A client given only a follower and a dead address still reaches the leader through the hint.
      String follower = followerOf(cluster);
      String only = "127.0.0.1:" + dead + "," + cluster.peers().get(follower);
      try (MetaClient c = MetaClient.connect(only)) {
        c.mkdir(ROOT, "via-hint", 0755, 0, 0);
      }
    }
  }

  @Test
  @Timeout(180)
  void readsAtAFollowerAreLinearizable() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient writer = cluster.client();
      String follower = followerOf(cluster);
      HostPort followerClient = MetaAddresses.clientAddress(cluster.peers().get(follower));
      long dir = writer.mkdir(ROOT, "lin", 0755, 0, 0).getIno();
      try (MetaClient reader = new MetaClient(List.of(followerClient), Duration.ofSeconds(30), true)) {
        for (int i = 0; i < 200; i++) {
          long ino = writer.create(dir, "f" + i, 0644, 0, 0, true).getIno();
          // Served by the follower itself (its only address): a read after the write's reply sees it.
          assertEquals(ino, reader.lookup(dir, "f" + i).getIno(), "f" + i);
          writer.unlink(dir, "f" + i);
          String name = "f" + i;
          MetaException gone = assertThrows(MetaException.class, () -> reader.lookup(dir, name));
          assertEquals(Code.ENOENT, gone.code());
        }
      }
      assertEquals(follower, followerOf(cluster), "the reader really talked to a follower throughout");
    }
  }

  @Test
  void closeThresholdIsFarAboveAMinuteLongPause() {
    RaftProperties p = MetaServer.properties(tmp, new HostPort("127.0.0.1", 9000), MetaServer.Tuning.DEFAULTS);
    assertEquals(Duration.ofHours(1).toMillis(), RaftServerConfigKeys.closeThreshold(p).toLong(
        java.util.concurrent.TimeUnit.MILLISECONDS));
    assertEquals(RaftServerConfigKeys.Read.Option.LINEARIZABLE, RaftServerConfigKeys.Read.option(p));
    assertTrue(RaftServerConfigKeys.Read.leaderLeaseEnabled(p));
  }

  private static String followerOf(MetaCluster cluster) throws InterruptedException {
    String leader = cluster.awaitLeader(Duration.ofSeconds(30)).id();
    List<String> others = new ArrayList<>(cluster.running().keySet());
    others.remove(leader);
    return others.get(0);
  }
}
