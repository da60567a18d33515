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
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code shoal status}: what the metadata service knows of the cluster. */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Cluster health: metadata replicas and leader, storage daemons, capacity and subvolumes.")
public final class StatusCommand implements Callable<Integer> {
  @Option(names = "--meta", required = true, description = "Metadata replicas: HOST:PORT,...")
  String meta;

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
    try (MetaClient client = MetaClient.connect(meta)) {
      printReplicas(client);
      LayoutReply layout = client.getLayout();
      System.out.println("storage groups: " + layout.getGroupsCount());
      for (StorageGroup g : layout.getGroupsList()) {
        for (StorageDaemon d : g.getMembersList()) {
          System.out.println("  " + g.getGroupId() + "  " + d.getId() + "  " + d.getAddress() + "  "
              + Sizes.format(d.getCapacityBytes()));
        }
      }
      StatFsReply fs = client.statFs(Layout.ROOT_INO);
      System.out.println("capacity: " + Sizes.format(fs.getCapacityBytes()) + ", used: "
          + Sizes.format(fs.getUsedBytes()) + ", inodes: " + fs.getInodesUsed());
      System.out.println("subvolumes:");
      for (Subvolume s : client.listSubvolumes()) {
        System.out.println("  " + s.getName() + "  " + Sizes.format(s.getCapacityBytes()));
      }
      return 0;
    } catch (MetaException e) {
      throw new UserError("metadata service at " + meta + ": " + e.getMessage(), 1);
    }
  }
}
