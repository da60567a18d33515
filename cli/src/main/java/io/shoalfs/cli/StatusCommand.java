package io.shoalfs.cli;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.proto.meta.LayoutReply;
import io.shoalfs.proto.meta.ReplicaStatus;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.StorageGroup;
import io.shoalfs.proto.meta.Subvolume;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.shoalfs.proto.storage.DaemonStatusReply;
import io.shoalfs.proto.storage.DaemonStatusRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code shoal status}: what the metadata service knows of the cluster, and what each storage daemon says of
 * itself (asked directly, {@link #DAEMON_TIMEOUT} each: a daemon that does not answer is shown DOWN).
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Cluster health: metadata replicas and leader, storage daemons (liveness, used bytes), capacity"
        + " and subvolumes with their usage.")
public final class StatusCommand implements Callable<Integer> {
  static final Duration DAEMON_TIMEOUT = Duration.ofSeconds(2);

  @Option(names = "--meta", description = SubvolumeCommand.META_HELP)
  String meta;

  /** "up, used X of Y" from the daemon itself, or "DOWN (why)". */
  private static String daemonLine(StorageDaemon d) {
    ManagedChannel ch = null;
    try {
      HostPort hp = HostPort.parse(d.getAddress());
      ch = io.shoalfs.common.net.Tls.channel(hp.host(), hp.port()).build();
      DaemonStatusReply r = StorageServiceGrpc.newBlockingStub(ch)
          .withDeadlineAfter(DAEMON_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .status(DaemonStatusRequest.getDefaultInstance());
      return "up, used " + Sizes.format(r.getUsedBytes()) + " of " + Sizes.format(r.getCapacityBytes());
    } catch (StatusRuntimeException e) {
      return "DOWN (" + e.getStatus().getCode() + ")";
    } catch (IllegalArgumentException e) {
      return "DOWN (bad address)";
    } finally {
      if (ch != null) {
        ch.shutdownNow();
      }
    }
  }

  /** One line per replica, as each reports itself; then the leader they agree on, if any. */
  private static void printReplicas(MetaClient client) {
    System.out.println("metadata replicas:");
    java.util.Set<String> leaders = new java.util.TreeSet<>();
    for (HostPort addr : client.addresses()) {
      try {
        ReplicaStatus r = client.replicaStatus(addr);
        System.out.println("  " + r.getId() + "  " + addr + "  " + r.getRole() + "  term " + r.getTerm()
            + "  applied " + r.getAppliedIndex() + (r.getAlive() ? "" : "  STOPPED"));
        if (!r.getLeaderId().isEmpty()) {
          leaders.add(r.getLeaderId());
        }
      } catch (MetaException e) {
        System.out.println("  ?  " + addr + "  unreachable");
      }
    }
    System.out.println("leader: " + (leaders.isEmpty() ? "none" : String.join(",", leaders)));
  }

  @Override
  public Integer call() {
    String addrs = MetaOption.resolve(meta);
    try (MetaClient client = MetaClient.connect(addrs)) {
      printReplicas(client);
      LayoutReply layout = client.getLayoutWithChunkCounts();
      System.out.println("storage groups: " + layout.getGroupsCount());
      java.util.Map<String, String> lines = new java.util.HashMap<>();
      int underGroups = 0;
      long underChunks = 0;
      for (StorageGroup g : layout.getGroupsList()) {
        int down = 0;
        StringBuilder members = new StringBuilder();
        for (StorageDaemon d : g.getMembersList()) {
          String line = lines.computeIfAbsent(d.getId(), id -> daemonLine(d));
          down += line.startsWith("DOWN") ? 1 : 0;
          members.append("\n    ").append(d.getId()).append("  ").append(d.getAddress()).append("  ")
              .append(Sizes.format(d.getCapacityBytes())).append("  ").append(line);
        }
        String kind = g.getReplicated() ? "replicated, " + g.getMembersCount() + " copies" : "one daemon";
        String health = g.getReplicated() && down > 0 ? "  UNDER-REPLICATED (" + down + " member(s) down)" : "";
        if (g.getReplicated() && down > 0) {
          underGroups++;
          underChunks += g.getChunks();
        }
        System.out.println("  " + g.getGroupId() + "  (" + kind + ", " + g.getChunks() + " chunks)" + health
            + members);
      }
      System.out.println("under-replicated: " + underGroups + " group(s), " + underChunks + " chunk(s)");
      StatFsReply fs = client.statFs(Layout.ROOT_INO);
      System.out.println("capacity: " + Sizes.format(fs.getCapacityBytes()) + " (each disk once), used: "
          + Sizes.format(fs.getUsedBytes()) + " (all volumes), available: " + Sizes.format(fs.getAvailableBytes())
          + ", root volume inodes: " + fs.getInodesUsed());
      System.out.println("subvolumes:");
      System.out.println("  " + SubvolumeCommand.header());
      for (Subvolume s : client.listSubvolumes()) {
        System.out.println("  " + SubvolumeCommand.row(s));
      }
      return 0;
    } catch (MetaException e) {
      throw new UserError("metadata service at " + addrs + ": " + e.getMessage(), 1);
    }
  }
}
