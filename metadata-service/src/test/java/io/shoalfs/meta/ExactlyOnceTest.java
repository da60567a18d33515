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
  private final ByteString clientId = ByteString.copyFrom(UUID.randomUUID().toString().substring(0, 16).getBytes());

  @AfterEach
  void closeChannels() {
    channels.forEach(ManagedChannel::shutdownNow);
  }

  private MetaReply send(HostPort clientAddr, long callId, MetaRequest req) {
    ManagedChannel ch = NettyChannelBuilder.forAddress(clientAddr.host(), clientAddr.port()).usePlaintext().build();
    channels.add(ch);
    return MetaServiceGrpc.newBlockingStub(ch).withDeadlineAfter(20, TimeUnit.SECONDS)
        .call(MetaCall.newBuilder().setClientId(clientId).setCallId(callId).setRequest(req).build());
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

      // A leader change between the call and its retry: the new leader answers from its retry cache.
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
}
