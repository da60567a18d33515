package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.ReplicaStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each replica reports its own role, leader, term and applied index, with or without a leader. */
class ReplicaStatusTest {
  @TempDir Path tmp;

  private static boolean sleep(long millis) throws InterruptedException {
    Thread.sleep(millis);
    return true;
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void everyReplicaReportsItselfAndTheyAgreeOnOneLeader() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(60));
      MetaClient client = cluster.client();
      client.mkdir(Layout.ROOT_INO, "d", 0755, 0, 0);
      long target = leader.lastAppliedIndex();

      // Followers learn the commit index with the next heartbeat: their views converge, so wait (bounded) for
      // every replica to report the mkdir applied before comparing.
      Map<String, ReplicaStatus> byId = new HashMap<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      do {
        byId.clear();
        for (HostPort raft : cluster.peers().values()) {
          ReplicaStatus r = client.replicaStatus(MetaAddresses.clientAddress(raft));
          byId.put(r.getId(), r);
        }
      } while (byId.values().stream().anyMatch(r -> r.getAppliedIndex() < target) && System.nanoTime() < deadline
          && sleep(100));
      assertEquals(cluster.peers().keySet(), byId.keySet(), "each address answers with its own id");
      assertEquals(1, byId.values().stream().filter(r -> r.getRole().equals("LEADER")).count(), byId.toString());
      assertEquals("LEADER", byId.get(leader.id()).getRole());
      for (ReplicaStatus r : byId.values()) {
        assertEquals(leader.id(), r.getLeaderId(), "every replica names the same leader: " + r);
        assertTrue(r.getAlive());
        assertTrue(r.getTerm() >= 1);
        assertTrue(r.getAppliedIndex() >= target, "caught up: " + r);
      }

      // Without a majority there is no leader, and a replica still answers for itself.
      String survivor = cluster.peers().keySet().stream().filter(id -> !id.equals(leader.id())).findFirst()
          .orElseThrow();
      for (String id : cluster.peers().keySet()) {
        if (!id.equals(survivor)) {
          cluster.stop(id);
        }
      }
      HostPort survivorAddr = MetaAddresses.clientAddress(cluster.peers().get(survivor));
      ReplicaStatus alone = client.replicaStatus(survivorAddr);
      assertEquals(survivor, alone.getId());
      assertTrue(!alone.getRole().equals("LEADER"), "one of three cannot lead: " + alone);

      HostPort stopped = MetaAddresses.clientAddress(cluster.peers().get(leader.id()));
      MetaException e = assertThrows(MetaException.class, () -> client.replicaStatus(stopped));
      assertEquals(Code.UNAVAILABLE, e.code());
    }
  }
}
