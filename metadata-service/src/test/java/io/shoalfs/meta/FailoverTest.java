package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.GetAttrRequest;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MetaServiceGrpc;
import io.shoalfs.proto.meta.MkdirRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Three replicas: followers redirect, a lost leader is replaced, and a lagging replica catches up. */
class FailoverTest {
  static final long ROOT = Layout.ROOT_INO;

  @TempDir Path tmp;

  static MetaReply callDirect(HostPort clientAddr, MetaRequest req) {
    return callDirect(clientAddr, req, 0);
  }

  /** One raw call as session {@code session} (namespace calls need one: core Scope). */
  static MetaReply callDirect(HostPort clientAddr, MetaRequest req, long session) {
    ManagedChannel ch = NettyChannelBuilder.forAddress(clientAddr.host(), clientAddr.port()).usePlaintext().build();
    try {
      return MetaServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS).call(MetaCall.newBuilder()
          .setClientId(ByteString.copyFrom(new byte[16])).setCallId(1).setSessionId(session).setRequest(req)
          .build());
    } finally {
      ch.shutdownNow();
    }
  }

  @Test
  @Timeout(60)
  void withoutAQuorumThereIsNoLeaderAndCallsAreUnavailable() throws Exception {
    try (MetaCluster cluster = MetaCluster.prepare(tmp, 3, MetaServer.Tuning.DEFAULTS)) {
      MetaServer alone = cluster.start("m0"); // it campaigns, but nobody answers
      MetaReply reply = callDirect(alone.clientAddress(),
          MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(ROOT)).build());
      assertEquals(Code.UNAVAILABLE, reply.getCode(), reply.toString());
      assertEquals("", reply.getLeaderHint());
    }
  }

  @Test
  @Timeout(120)
  void leaderLossKeepsTheServiceGoingAndStateIntact() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = cluster.client();
      RestartTest.writeTree(c, "x");

      // Followers take no writes (they name the leader's client address) but serve reads (read index).
      MetaRequest read = MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(ROOT)).build();
      MetaRequest write = MetaRequest.newBuilder().setMkdir(MkdirRequest.newBuilder().setParent(ROOT).setName("z"))
          .build();
      long session = SessionOps.open(c, "failover");
      for (MetaServer s : cluster.running().values()) {
        if (s != leader) {
          MetaReply reply = callDirect(s.clientAddress(), write, session);
          assertEquals(Code.NOT_LEADER, reply.getCode());
          assertEquals(leader.clientAddress().toString(), reply.getLeaderHint());
          assertEquals(callDirect(leader.clientAddress(), read, session).getAttr(),
              callDirect(s.clientAddress(), read, session).getAttr());
        }
      }
      assertEquals(Code.OK, callDirect(leader.clientAddress(), read, session).getCode());

      Map<String, Trees.Node> before = Trees.dump(c, ROOT);
      String oldLeader = leader.id();
      cluster.stop(oldLeader);
      MetaServer next = cluster.awaitLeader(Duration.ofSeconds(30));
      assertNotEquals(oldLeader, next.id());
      assertEquals(before, Trees.dump(c, ROOT), "nothing lost with the leader");

      // The same client carries on: it follows the new leader by itself.
      Attr d = c.mkdir(ROOT, "after-failover", 0755, 0, 0);
      c.create(d.getIno(), "f", 0644, 0, 0, true);
      c.rename(d.getIno(), "f", d.getIno(), "g", 0);
      c.unlink(d.getIno(), "g");
      Map<String, Trees.Node> after = Trees.dump(c, ROOT);
      assertTrue(after.containsKey("/after-failover"));

      // The old leader comes back as a follower and converges to the same state.
      cluster.start(oldLeader);
      long target = next.lastAppliedIndex();
      cluster.awaitApplied(oldLeader, target, Duration.ofSeconds(30));
      MetaServer back = cluster.server(oldLeader);
      assertEquals(after, Trees.dump(back.stateMachine()::readLocal, ROOT));
    }
  }

  /**
   * A follower serves reads through a read index, which it asks of the leader it knows. Right after the leader
   * dies that ask fails in Ratis's transport; the follower must answer retryably (the client then tries another
   * replica), never EIO, which the mount would hand to the application (LocalFaultIT's write after SIGKILL).
   */
  @Test
  @Timeout(120)
  void followerReadsRightAfterTheLeaderDiesAreRetryableNotErrors() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = cluster.client();
      long session = SessionOps.open(c, "follower-reads");
      MetaRequest read = MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(ROOT)).build();
      java.util.List<MetaServer> followers = cluster.running().values().stream().filter(s -> s != leader).toList();
      for (MetaServer f : followers) {
        assertEquals(Code.OK, callDirect(f.clientAddress(), read, session).getCode());
      }
      cluster.stop(leader.id());
      java.util.EnumMap<Code, Integer> seen = new java.util.EnumMap<>(Code.class);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      boolean servedAgain = false;
      while (!servedAgain && System.nanoTime() < deadline) {
        for (MetaServer f : followers) {
          MetaReply reply = callDirect(f.clientAddress(), read, session);
          seen.merge(reply.getCode(), 1, Integer::sum);
          assertTrue(reply.getCode() == Code.OK || reply.getCode() == Code.UNAVAILABLE
              || reply.getCode() == Code.NOT_LEADER, "a follower read after the leader died: " + reply);
          servedAgain |= reply.getCode() == Code.OK;
        }
      }
      assertTrue(servedAgain, "reads are served again once a leader is elected: " + seen);
    }
  }

  @Test
  @Timeout(120)
  void aFollowerBehindThePurgedLogGetsASnapshot() throws Exception {
    MetaServer.Tuning tuning = MetaServer.Tuning.DEFAULTS.withSnapshots(20, 4, 4096, true);
    try (MetaCluster cluster = MetaCluster.start(tmp, 3, tuning)) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = cluster.client();
      String lagging = cluster.running().keySet().stream().filter(id -> !id.equals(leader.id())).findFirst()
          .orElseThrow();
      c.mkdir(ROOT, "early", 0755, 0, 0);
      cluster.stop(lagging);
      RestartTest.writeTree(c, "y");
      for (int i = 0; i < 30; i++) {
        c.mkdir(ROOT, "more" + i, 0755, 0, 0);
      }
      Map<String, Trees.Node> expected = Trees.dump(c, ROOT);

      cluster.start(lagging);
      cluster.awaitApplied(lagging, leader.lastAppliedIndex(), Duration.ofSeconds(60));
      MetaServer follower = cluster.server(lagging);
      assertTrue(follower.stateMachine().installedSnapshots() > 0, "caught up through a snapshot, not the log");
      assertEquals(expected, Trees.dump(follower.stateMachine()::readLocal, ROOT));

      // And it applies new entries on top of the installed snapshot.
      c.mkdir(ROOT, "after-install", 0755, 0, 0);
      cluster.awaitApplied(lagging, leader.lastAppliedIndex(), Duration.ofSeconds(30));
      assertEquals(Trees.dump(c, ROOT), Trees.dump(follower.stateMachine()::readLocal, ROOT));
    }
  }
}
