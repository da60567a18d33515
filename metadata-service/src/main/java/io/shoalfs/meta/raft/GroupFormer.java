package io.shoalfs.meta.raft;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.meta.core.Daemons;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FormStorageGroupRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.StorageGroupRecord;
import io.shoalfs.proto.storage.GroupMember;
import io.shoalfs.proto.storage.JoinGroupRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.DivisionInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Forms replicated storage groups, on the leader only (like the chunk collector). Every second it looks at the
 * registered daemons that have a Raft address and at the replications volumes ask for (2 or 3), and forms the
 * groups a placement needs: for N such daemons and replication R, the N windows of R consecutive daemons in id
 * order (one group when N == R). A group is named by its members ({@code r2-s1-s2}), so a new leader forms the
 * same ones and forming is idempotent. Each member is asked to join (JoinGroup) first; only when all have does
 * a {@code form_storage_group} entry record it, so placement never picks a group whose members do not know it.
 */
public final class GroupFormer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(GroupFormer.class);
  static final long PERIOD_MS = 1000;
  static final long JOIN_TIMEOUT_MS = 10_000;

  private final RaftServer server;
  private final RaftGroupId groupId;
  private final MetaStateMachine sm;
  private final MetaSubmitter submitter;
  private final ScheduledExecutorService timer;
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private final Map<String, String> lastProblem = new HashMap<>();

  private GroupFormer(RaftServer server, RaftGroupId groupId, MetaStateMachine sm, MetaSubmitter submitter) {
    this.server = server;
    this.groupId = groupId;
    this.sm = sm;
    this.submitter = submitter;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "group-former");
      t.setDaemon(true);
      return t;
    });
  }

  public static GroupFormer start(RaftServer server, RaftGroupId groupId, MetaStateMachine sm,
      MetaSubmitter submitter) {
    GroupFormer f = new GroupFormer(server, groupId, sm, submitter);
    f.timer.scheduleWithFixedDelay(f::tick, PERIOD_MS, PERIOD_MS, TimeUnit.MILLISECONDS);
    return f;
  }

  /** The groups wanted for {@code daemons} (with Raft addresses, id order) and replication {@code r}. */
  static List<List<String>> windows(List<String> daemons, int r) {
    List<List<String>> out = new ArrayList<>();
    int n = daemons.size();
    if (r < 2 || n < r) {
      return out;
    }
    for (int i = 0; i < (n == r ? 1 : n); i++) {
      List<String> g = new ArrayList<>();
      for (int j = 0; j < r; j++) {
        g.add(daemons.get((i + j) % n));
      }
      out.add(g);
    }
    return out;
  }

  static String nameOf(List<String> members) {
    return "r" + members.size() + "-" + String.join("-", members);
  }

  private record Plan(Map<String, DaemonRecord> daemons, List<List<String>> missing) {}

  private void tick() {
    try {
      DivisionInfo info = server.getDivision(groupId).getInfo();
      if (!info.isLeader() || !info.isLeaderReady()) {
        return;
      }
      Plan plan = sm.readState(tx -> {
        Map<String, DaemonRecord> byId = new HashMap<>();
        List<String> ids = new ArrayList<>();
        for (DaemonRecord d : Daemons.all(tx)) {
          if (!d.getRaftAddress().isEmpty()) {
            byId.put(d.getId(), d);
            ids.add(d.getId());
          }
        }
        Set<Set<String>> have = new HashSet<>();
        for (StorageGroupRecord g : Daemons.groups(tx)) {
          have.add(new HashSet<>(g.getMembersList()));
        }
        List<List<String>> missing = new ArrayList<>();
        for (int r : sm.placement().wanted(tx)) {
          for (List<String> w : windows(ids, r)) {
            if (!have.contains(new HashSet<>(w))) {
              missing.add(w);
            }
          }
        }
        return new Plan(byId, missing);
      });
      if (plan == null) {
        return;
      }
      for (List<String> members : plan.missing()) {
        form(members, plan.daemons());
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("group former: {}", e.toString());
    }
  }

  private void form(List<String> members, Map<String, DaemonRecord> daemons) {
    String name = nameOf(members);
    JoinGroupRequest.Builder join = JoinGroupRequest.newBuilder().setGroupId(name);
    for (String id : members) {
      DaemonRecord d = daemons.get(id);
      join.addMembers(GroupMember.newBuilder().setId(id).setRaftAddress(d.getRaftAddress())
          .setAddress(d.getAddress()));
    }
    for (String id : members) {
      String address = daemons.get(id).getAddress();
      try {
        StorageServiceGrpc.newBlockingStub(channel(address)).withDeadlineAfter(JOIN_TIMEOUT_MS, TimeUnit.MILLISECONDS)
            .joinGroup(join.build());
      } catch (StatusRuntimeException | IllegalArgumentException e) {
        problem(name, "daemon " + id + " at " + address + " did not join: " + e.getMessage());
        ManagedChannel ch = channels.get(address);
        if (ch != null) {
          ch.resetConnectBackoff();
        }
        return;
      }
    }
    MetaReply reply = submitter.submitInternal(MetaRequest.newBuilder().setFormStorageGroup(
        FormStorageGroupRequest.newBuilder().setGroupId(name).addAllMembers(members)).build()).join();
    if (reply.getCode() != Code.OK) {
      problem(name, "recording it failed: " + reply.getCode() + " " + reply.getMessage());
      return;
    }
    lastProblem.remove(name);
    LOG.info("storage group {} formed: {}", name, members);
  }

  /** One log line per group when its problem changes, not one per second. */
  private void problem(String group, String what) {
    if (!Objects.equals(lastProblem.put(group, what), what)) {
      LOG.info("storage group {} not formed yet: {}", group, what);
    }
  }

  private ManagedChannel channel(String address) {
    return channels.computeIfAbsent(address, a -> {
      HostPort hp = HostPort.parse(a);
      return NettyChannelBuilder.forAddress(hp.host(), hp.port()).usePlaintext().build();
    });
  }

  @Override
  public void close() {
    timer.shutdownNow();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
