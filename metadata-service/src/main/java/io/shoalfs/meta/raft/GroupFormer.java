package io.shoalfs.meta.raft;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
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
  /** Daemon id -> when it last answered a probe (nanoTime); timer thread only. */
  private final Map<String, Long> lastSeen = new HashMap<>();
  private volatile java.time.Duration deadAfter = DEFAULT_DEAD_AFTER;
  private final java.util.concurrent.atomic.AtomicLong replaced = new java.util.concurrent.atomic.AtomicLong();

  /** A daemon silent this long is dead: its groups are re-formed with another daemon. */
  public static final java.time.Duration DEFAULT_DEAD_AFTER = java.time.Duration.ofMinutes(5);
  static final long PROBE_TIMEOUT_MS = 2000;
  static final long CHANGE_TIMEOUT_MS = 120_000;

  public void setDeadAfter(java.time.Duration d) {
    deadAfter = d;
  }

  /** Members replaced in groups since this replica led (tests, status). */
  public long replacedMembers() {
    return replaced.get();
  }

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

  /** A wanted group: its data members and, for a group of 2 when a third daemon exists, a witness. */
  record Window(List<String> members, String witness) {}

  /**
   * The groups wanted for {@code daemons} (with Raft addresses, id order) and replication {@code r}: windows of
   * r consecutive daemons; a group of 2 takes the next daemon as its witness (a voter without data), so that one
   * data member down still leaves a majority.
   */
  static List<Window> windows(List<String> daemons, int r) {
    List<Window> out = new ArrayList<>();
    int n = daemons.size();
    if (r < 2 || n < r) {
      return out;
    }
    for (int i = 0; i < (n == r ? 1 : n); i++) {
      List<String> g = new ArrayList<>();
      for (int j = 0; j < r; j++) {
        g.add(daemons.get((i + j) % n));
      }
      out.add(new Window(g, r == 2 && n >= 3 ? daemons.get((i + 2) % n) : ""));
    }
    return out;
  }

  static String nameOf(List<String> members) {
    return "r" + members.size() + "-" + String.join("-", members);
  }

  private record Plan(Map<String, DaemonRecord> daemons, List<Window> missing, List<StorageGroupRecord> groups) {}

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
        Set<String> haveIds = new HashSet<>();
        List<StorageGroupRecord> groups = Daemons.groups(tx);
        for (StorageGroupRecord g : groups) {
          have.add(new HashSet<>(g.getMembersList()));
          haveIds.add(g.getGroupId());
        }
        List<Window> missing = new ArrayList<>();
        for (int r : sm.placement().wanted(tx)) {
          for (Window w : windows(ids, r)) {
            if (!have.contains(new HashSet<>(w.members())) && !haveIds.contains(nameOf(w.members()))) {
              missing.add(w);
            }
          }
        }
        return new Plan(byId, missing, groups);
      });
      if (plan == null) {
        return;
      }
      long now = System.nanoTime();
      probe(plan.daemons(), now);
      for (Window w : plan.missing()) {
        if (w.members().stream().noneMatch(id -> dead(id, now)) && (w.witness().isEmpty() || !dead(w.witness(), now))) {
          form(w, plan.daemons());
        }
      }
      for (StorageGroupRecord g : plan.groups()) {
        boolean changed = false;
        for (String m : everyone(g)) {
          if (dead(m, now)) {
            replace(g, m, plan);
            changed = true;
            break; // one change per group and tick
          }
        }
        if (!changed && g.getMembersCount() == 2 && g.getWitness().isEmpty() && plan.daemons().size() >= 3) {
          // Formed before a third daemon registered: it gets one now (a group of 2 without one stops when a
          // member does).
          replace(g, "", plan);
        }
      }
    } catch (IOException | RuntimeException e) {
      LOG.warn("group former: {}", e.toString());
    }
  }

  /** The group's daemons: its data members and its witness, if any. */
  private static List<String> everyone(StorageGroupRecord g) {
    List<String> all = new ArrayList<>(g.getMembersList());
    if (!g.getWitness().isEmpty()) {
      all.add(g.getWitness());
    }
    return all;
  }

  private static GroupMember wire(DaemonRecord d, boolean witness) {
    return GroupMember.newBuilder().setId(d.getId()).setRaftAddress(d.getRaftAddress()).setAddress(d.getAddress())
        .setWitness(witness).build();
  }

  private void form(Window w, Map<String, DaemonRecord> daemons) {
    List<String> members = w.members();
    String name = nameOf(members);
    JoinGroupRequest.Builder join = JoinGroupRequest.newBuilder().setGroupId(name);
    List<String> all = new ArrayList<>(members);
    for (String id : members) {
      join.addMembers(wire(daemons.get(id), false));
    }
    if (!w.witness().isEmpty()) {
      join.addMembers(wire(daemons.get(w.witness()), true));
      all.add(w.witness());
    }
    for (String id : all) {
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
        FormStorageGroupRequest.newBuilder().setGroupId(name).addAllMembers(members).setWitness(w.witness()))
        .build()).join();
    if (reply.getCode() != Code.OK) {
      problem(name, "recording it failed: " + reply.getCode() + " " + reply.getMessage());
      return;
    }
    lastProblem.remove(name);
    LOG.info("storage group {} formed: {}{}", name, members, w.witness().isEmpty() ? "" : " witness " + w.witness());
  }

  /** Asks every daemon with a Raft address for its status; remembers who answered. */
  private void probe(Map<String, DaemonRecord> daemons, long now) {
    lastSeen.keySet().retainAll(daemons.keySet());
    for (DaemonRecord d : daemons.values()) {
      lastSeen.putIfAbsent(d.getId(), now); // first seen now: dead only after deadAfter of silence
      try {
        StorageServiceGrpc.newBlockingStub(channel(d.getAddress()))
            .withDeadlineAfter(PROBE_TIMEOUT_MS, TimeUnit.MILLISECONDS)
            .status(io.shoalfs.proto.storage.DaemonStatusRequest.getDefaultInstance());
        lastSeen.put(d.getId(), now);
      } catch (StatusRuntimeException | IllegalArgumentException e) {
        ManagedChannel ch = channels.get(d.getAddress());
        if (ch != null) {
          ch.resetConnectBackoff();
        }
      }
    }
  }

  private boolean dead(String id, long now) {
    Long seen = lastSeen.get(id);
    return seen != null && now - seen > deadAfter.toNanos();
  }

  /**
   * Re-replication: {@code dead} leaves group {@code g} and a live daemon outside the group (the one in fewest
   * groups) takes its place. It joins with the new member list, the group's leader commits the configuration change
   * (the new member catches up from the group's log, which keeps every entry), then the log records it.
   */
  private void replace(StorageGroupRecord g, String dead, Plan plan) {
    long now = System.nanoTime();
    Map<String, Integer> load = new HashMap<>();
    for (StorageGroupRecord other : plan.groups()) {
      other.getMembersList().forEach(m -> load.merge(m, 1, Integer::sum));
    }
    List<String> everyone = everyone(g);
    String spare = plan.daemons().keySet().stream()
        .filter(id -> !everyone.contains(id) && !dead(id, now))
        .min(java.util.Comparator.comparing((String id) -> load.getOrDefault(id, 0)).thenComparing(id -> id))
        .orElse(null);
    if (spare == null) {
      problem(g.getGroupId(), "member " + dead + " is dead and no other daemon is free to take its place");
      return;
    }
    List<String> members = new ArrayList<>(g.getMembersList());
    String witness = g.getWitness();
    if (dead.isEmpty() || dead.equals(witness)) {
      witness = spare; // a witness added to a group of 2, or a dead witness replaced
    } else {
      members.set(members.indexOf(dead), spare);
    }
    List<GroupMember> wire = new ArrayList<>();
    List<String> all = new ArrayList<>(members);
    if (!witness.isEmpty()) {
      all.add(witness);
    }
    for (String id : all) {
      DaemonRecord d = plan.daemons().get(id);
      if (d == null) {
        problem(g.getGroupId(), "member " + id + " has no raft address");
        return;
      }
      wire.add(wire(d, id.equals(witness)));
    }
    try {
      StorageServiceGrpc.newBlockingStub(channel(plan.daemons().get(spare).getAddress()))
          .withDeadlineAfter(JOIN_TIMEOUT_MS, TimeUnit.MILLISECONDS)
          .joinGroup(JoinGroupRequest.newBuilder().setGroupId(g.getGroupId()).addAllMembers(wire).build());
    } catch (StatusRuntimeException e) {
      problem(g.getGroupId(), "replacement " + spare + " did not join: " + e.getMessage());
      return;
    }
    io.shoalfs.proto.storage.ChangeGroupRequest change = io.shoalfs.proto.storage.ChangeGroupRequest.newBuilder()
        .setGroupId(g.getGroupId()).addAllMembers(wire).build();
    String why = "no live member took the change";
    boolean changed = false;
    for (String id : everyone) {
      if (id.equals(dead)) {
        continue;
      }
      try {
        StorageServiceGrpc.newBlockingStub(channel(plan.daemons().get(id).getAddress()))
            .withDeadlineAfter(CHANGE_TIMEOUT_MS, TimeUnit.MILLISECONDS).changeGroup(change);
        changed = true;
        break;
      } catch (StatusRuntimeException e) {
        why = id + ": " + e.getMessage();
      }
    }
    if (!changed) {
      problem(g.getGroupId(), "replacing " + dead + " by " + spare + ": " + why);
      return;
    }
    MetaReply reply = submitter.submitInternal(MetaRequest.newBuilder().setFormStorageGroup(
        FormStorageGroupRequest.newBuilder().setGroupId(g.getGroupId()).addAllMembers(members).setWitness(witness)
            .setReplace(true))
        .build()).join();
    if (reply.getCode() != Code.OK) {
      problem(g.getGroupId(), "recording the new members failed: " + reply.getCode() + " " + reply.getMessage());
      return;
    }
    lastProblem.remove(g.getGroupId());
    if (dead.isEmpty()) {
      LOG.info("storage group {}: {} added as its witness; members {}", g.getGroupId(), spare, members);
    } else {
      replaced.incrementAndGet();
      LOG.info("storage group {} re-replicated: {} (dead) replaced by {}; members {}", g.getGroupId(), dead, spare,
          members);
    }
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
      return io.shoalfs.common.net.Tls.channel(hp.host(), hp.port()).build();
    });
  }

  @Override
  public void close() {
    timer.shutdownNow();
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
