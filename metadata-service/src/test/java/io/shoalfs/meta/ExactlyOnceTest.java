package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MetaServiceGrpc;
import io.shoalfs.proto.meta.RenameRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A MetaCall sent again with the same client id and call id (what MetaClient does on a retry) takes effect
 * once and gets the first answer again: on the same leader and on a new leader after a leader change.
 */
class ExactlyOnceTest {
  static final long ROOT = Layout.ROOT_INO;

  @TempDir Path tmp;
  private final List<ManagedChannel> channels = new ArrayList<>();
  /** The admin session the raw calls carry (namespace calls need one); opened by {@link #openSession}. */
  private long session;
  private final ByteString clientId = ByteString.copyFrom(UUID.randomUUID().toString().substring(0, 16).getBytes());

  @AfterEach
  void closeChannels() {
    channels.forEach(ManagedChannel::shutdownNow);
  }

  private MetaReply send(HostPort clientAddr, long callId, MetaRequest req) {
    ManagedChannel ch = NettyChannelBuilder.forAddress(clientAddr.host(), clientAddr.port()).usePlaintext().build();
    channels.add(ch);
    return MetaServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
        .call(MetaCall.newBuilder().setClientId(clientId).setCallId(callId).setSessionId(session).setRequest(req)
            .build());
  }

  /** Sends until a replica that is the leader answers (a new leader may still be getting ready). */
  private MetaReply sendToLeader(MetaCluster cluster, long callId, MetaRequest req) throws InterruptedException {
    for (int attempt = 0; attempt < 100; attempt++) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaReply r = send(leader.clientAddress(), callId, req);
      if (r.getCode() != Code.NOT_LEADER && r.getCode() != Code.UNAVAILABLE) {
        return r;
      }
      Thread.sleep(50);
    }
    throw new AssertionError("no leader answered call " + callId);
  }

  /** Opens the raw calls' admin session with call id {@code callId} (below the ids a test acknowledges). */
  private void openSession(MetaCluster cluster, long callId) throws InterruptedException {
    MetaReply r = sendToLeader(cluster, callId, MetaRequest.newBuilder().setOpenSession(
        io.shoalfs.proto.meta.OpenSessionRequest.newBuilder().setClientName("exactly-once")).build());
    assertEquals(Code.OK, r.getCode(), r.getMessage());
    session = r.getSession().getSessionId();
  }

  private static MetaRequest createExclusive(long parent, String name) {
    return MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(parent).setName(name)
        .setMode(0644).setExclusive(true)).build();
  }

  private static MetaRequest rename(long parent, String from, String to) {
    return MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(parent).setSrcName(from)
        .setDstParent(parent).setDstName(to)).build();
  }

  private static List<String> names(MetaClient c, long dir) throws Exception {
    return c.readDir(dir, "", 0).getEntriesList().stream().map(DirEntry::getName).toList();
  }

  @Test
  @Timeout(120)
  void aRetriedCallTakesEffectOnceAlsoAfterALeaderChange() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaClient c = cluster.client();
      cluster.awaitLeader(Duration.ofSeconds(30));
      long dir = c.mkdir(ROOT, "once", 0755, 0, 0).getIno();
      openSession(cluster, 9);

      // Same leader: create(exclusive) and rename, each sent twice with one call id.
      MetaReply created = sendToLeader(cluster, 1, createExclusive(dir, "x"));
      assertEquals(Code.OK, created.getCode());
      assertEquals(created, sendToLeader(cluster, 1, createExclusive(dir, "x")), "the retry gets the first reply");
      assertEquals(Code.EEXIST, sendToLeader(cluster, 2, createExclusive(dir, "x")).getCode(),
          "a new call id is a new operation");
      MetaReply renamed = sendToLeader(cluster, 3, rename(dir, "x", "y"));
      assertEquals(Code.OK, renamed.getCode());
      assertEquals(renamed, sendToLeader(cluster, 3, rename(dir, "x", "y")));
      assertEquals(Code.ENOENT, sendToLeader(cluster, 4, rename(dir, "x", "y")).getCode());
      assertEquals(List.of("y"), names(c, dir));

      // A leader change between the call and its retry: the new leader answers from its client_calls table.
      MetaReply created2 = sendToLeader(cluster, 5, createExclusive(dir, "z"));
      MetaReply renamed2 = sendToLeader(cluster, 6, rename(dir, "y", "w"));
      assertEquals(Code.OK, created2.getCode());
      assertEquals(Code.OK, renamed2.getCode());
      String first = cluster.awaitLeader(Duration.ofSeconds(30)).id();
      cluster.stop(first);
      assertNotEquals(first, cluster.awaitLeader(Duration.ofSeconds(30)).id());
      assertEquals(created2, sendToLeader(cluster, 5, createExclusive(dir, "z")));
      assertEquals(renamed2, sendToLeader(cluster, 6, rename(dir, "y", "w")));
      assertEquals(List.of("w", "z"), names(c, dir));
      assertEquals(created2.getAttr().getIno(), c.lookup(dir, "z").getIno(), "the file of the first create");
    }
  }

  @Test
  @Timeout(180)
  void aRetriedCallTakesEffectOnceAcrossARestartOfEveryReplica() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaClient c = cluster.client();
      cluster.awaitLeader(Duration.ofSeconds(30));
      long dir = c.mkdir(ROOT, "restart", 0755, 0, 0).getIno();
      openSession(cluster, 10);
      MetaReply created = sendToLeader(cluster, 11, createExclusive(dir, "a"));
      MetaReply renamed = sendToLeader(cluster, 12, rename(dir, "a", "b"));
      MetaReply failed = sendToLeader(cluster, 13, rename(dir, "nope", "c"));
      assertEquals(Code.OK, created.getCode());
      assertEquals(Code.OK, renamed.getCode());
      assertEquals(Code.ENOENT, failed.getCode());

      cluster.stopAll();
      cluster.startAll();
      cluster.awaitLeader(Duration.ofSeconds(60));
      // The replies live in the client_calls table (the Ratis retry cache is gone with the processes).
      assertEquals(created, sendToLeader(cluster, 11, createExclusive(dir, "a")));
      assertEquals(renamed, sendToLeader(cluster, 12, rename(dir, "a", "b")));
      assertEquals(failed, sendToLeader(cluster, 13, rename(dir, "nope", "c")), "an errno is recorded too");
      assertEquals(List.of("b"), names(cluster.client(), dir), "each applied once");
      assertEquals(created.getAttr().getIno(), cluster.client().lookup(dir, "b").getIno());
    }
  }

  @Test
  @Timeout(120)
  void acknowledgedCallsAreForgottenAndALateCopyIsRefused() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaClient c = cluster.client();
      cluster.awaitLeader(Duration.ofSeconds(30));
      long dir = c.mkdir(ROOT, "ack", 0755, 0, 0).getIno();
      openSession(cluster, 20);
      assertEquals(Code.OK, sendToLeader(cluster, 21, createExclusive(dir, "a")).getCode());
      assertEquals(Code.OK, sendToLeader(cluster, 22, rename(dir, "a", "b")).getCode());
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      int before = leader.stateMachine().dump(io.shoalfs.meta.store.MetaTables.CLIENT_CALLS, 1000).size();
      // Call 23 acknowledges 21 and 22: their records go, a watermark row stays.
      MetaCall ack = MetaCall.newBuilder().setClientId(clientId).setCallId(23).setAckedCallId(22)
          .setSessionId(session).setRequest(createExclusive(dir, "c")).build();
      MetaReply r = MetaServiceGrpc.newBlockingStub(channel(leader.clientAddress()))
          .withDeadlineAfter(20, TimeUnit.SECONDS).call(ack);
      assertEquals(Code.OK, r.getCode());
      long mine = leader.stateMachine().dump(io.shoalfs.meta.store.MetaTables.CLIENT_CALLS, 1000).keySet().stream()
          .filter(k -> ByteString.copyFrom(k, 0, 16).equals(clientId)).count();
      assertEquals(2, mine, "the watermark row and call 23's record (of " + before + " rows before)");
      // A stale copy of call 21 must not create "a" again.
      assertEquals(Code.EINVAL, sendToLeader(cluster, 21, createExclusive(dir, "a")).getCode());
      assertEquals(List.of("b", "c"), names(c, dir));
    }
  }

  /**
   * Many threads sharing one MetaClient: every call is answered on its merits, none is refused as "acknowledged
   * already". A call id allocated but not yet counted in flight must not be covered by the acknowledged id that a
   * concurrent call carries (that call, applied first, made the service refuse the slower one with EINVAL: a
   * mount's fsync and close got EINVAL under four writers). End to end and probabilistic (the window is a few
   * instructions wide); client CallIdsTest catches that race within a second.
   */
  @Test
  @Timeout(180)
  void concurrentCallsOfOneClientAreNeverRefusedAsAcknowledged() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle())) {
      MetaClient c = cluster.client();
      cluster.awaitLeader(Duration.ofSeconds(30));
      long dir = c.mkdir(ROOT, "many", 0755, 0, 0).getIno();
      int threads = Integer.getInteger("shoal.threads", 8);
      int calls = Integer.getInteger("shoal.calls", 250);
      ConcurrentLinkedQueue<String> refused = new ConcurrentLinkedQueue<>();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      try {
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
          int me = t;
          done.add(pool.submit(() -> {
            for (int i = 0; i < calls && refused.isEmpty(); i++) {
              // Writes (the exactly-once table checks them) with reads between, as a mount's threads do.
              MetaReply r = c.callRaw(createExclusive(dir, "t" + me + "-" + i));
              if (r.getCode() != Code.OK) {
                refused.add("create t" + me + "-" + i + ": " + r.getCode() + " " + r.getMessage());
              }
              c.getAttr(dir);
            }
            return null;
          }));
        }
        for (Future<?> f : done) {
          f.get(150, TimeUnit.SECONDS);
        }
      } finally {
        pool.shutdownNow();
        pool.awaitTermination(30, TimeUnit.SECONDS);
      }
      assertEquals(List.of(), List.copyOf(refused), "calls refused");
      assertEquals(threads * calls, c.readDir(dir, "", 10_000).getEntriesCount(), "every create applied once");
    }
  }

  private ManagedChannel channel(HostPort addr) {
    ManagedChannel ch = NettyChannelBuilder.forAddress(addr.host(), addr.port()).usePlaintext().build();
    channels.add(ch);
    return ch;
  }
}
