package io.shoalfs.raft;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.ratis.RaftConfigKeys;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;
import org.apache.ratis.rpc.SupportedRpcType;
import org.apache.ratis.server.RaftServerConfigKeys;
import org.apache.ratis.util.SizeInBytes;
import org.apache.ratis.util.TimeDuration;

/**
 * The Ratis properties every Shoal Raft group shares (the metadata group now, storage pipelines next); each
 * service adds its own snapshot and log retention on top.
 */
public final class RaftDefaults {
  /**
   * @param electionTimeoutMin / electionTimeoutMax Raft election timeout range (also the first election)
   * @param closeThreshold a JVM or host pause longer than this makes Ratis close the server
   * @param readTimeout longest a linearizable read waits for its read index
   */
  public record Timing(Duration electionTimeoutMin, Duration electionTimeoutMax, Duration closeThreshold,
      Duration readTimeout) {
    /** 1-2 s elections (notes trap 6), 1 h close threshold (trap 15), 10 s reads. */
    public static final Timing DEFAULTS =
        new Timing(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofHours(1), Duration.ofSeconds(10));
  }

  private RaftDefaults() {}

  /**
   * Ratis's parameters for a server of this process: with TLS on ({@code common/net/Tls}), its server, its
   * client and its admin endpoints all use the process's certificate and ask peers for theirs (mutual TLS), so
   * a replica or daemon without a certificate from the cluster's CA cannot join, vote or append.
   */
  public static Parameters parameters() {
    Parameters params = new Parameters();
    io.shoalfs.common.net.Tls.identity().ifPresent(id -> {
      GrpcTlsConfig tls = new GrpcTlsConfig(id.key(), id.chain().get(0), id.trusted(), true);
      GrpcConfigKeys.Server.setTlsConf(params, tls);
      GrpcConfigKeys.Client.setTlsConf(params, tls);
      GrpcConfigKeys.Admin.setTlsConf(params, tls);
    });
    return params;
  }

  public static RaftProperties base(Path storageDir, String host, int port, Timing t) {
    RaftProperties p = new RaftProperties();
    RaftConfigKeys.Rpc.setType(p, SupportedRpcType.GRPC);
    GrpcConfigKeys.Server.setHost(p, host);
    GrpcConfigKeys.Server.setPort(p, port);
    RaftServerConfigKeys.setStorageDir(p, List.of(storageDir.toFile()));
    // Trap 6: the 150-300 ms defaults lose leadership on a busy two-core machine.
    RaftServerConfigKeys.Rpc.setTimeoutMin(p, millis(t.electionTimeoutMin()));
    RaftServerConfigKeys.Rpc.setTimeoutMax(p, millis(t.electionTimeoutMax()));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMin(p, millis(t.electionTimeoutMin()));
    RaftServerConfigKeys.Rpc.setFirstElectionTimeoutMax(p, millis(t.electionTimeoutMax()));
    TimeDuration requestTimeout = millis(t.electionTimeoutMax().multipliedBy(2));
    RaftServerConfigKeys.Rpc.setRequestTimeout(p, requestTimeout);
    // Snapshot shipping to a lagging follower: 4 MB chunks, one unacknowledged at a time, each acknowledged
    // within the request timeout, so an attempt against a follower that went away is given up after one
    // request timeout (Ratis's defaults wait 8 x 3 s before retrying).
    RaftServerConfigKeys.Log.Appender.setSnapshotChunkSizeMax(p, SizeInBytes.valueOf(4L << 20));
    GrpcConfigKeys.Server.setInstallSnapshotRequestElementLimit(p, 1);
    GrpcConfigKeys.Server.setInstallSnapshotRequestTimeout(p, requestTimeout);
    // Followers get new entries at once instead of after the appender's default wait.
    RaftServerConfigKeys.Log.Appender.setWaitTimeMin(p, TimeDuration.ZERO);
    // No extra log entry recording the commit index after every commit (Ratis's default): it doubled the entries
    // and the log fsyncs of every metadata write (a mkdir took 2 entries, a create 4; measured by the applied
    // index). Raft does not need the commit index persisted: after a restart the leader's first entry of its
    // term commits everything before it again.
    RaftServerConfigKeys.Log.setLogMetadataEnabled(p, false);
    // Reads without a log write: read index, answered by the leader within its lease without a round trip.
    RaftServerConfigKeys.Read.setOption(p, RaftServerConfigKeys.Read.Option.LINEARIZABLE);
    RaftServerConfigKeys.Read.setLeaderLeaseEnabled(p, true);
    RaftServerConfigKeys.Read.setTimeout(p, millis(t.readTimeout()));
    // Trap 15: Ratis closes a server whose JVM paused longer than this (60 s by default).
    RaftServerConfigKeys.setCloseThreshold(p, millis(t.closeThreshold()));
    return p;
  }

  public static TimeDuration millis(Duration d) {
    return TimeDuration.valueOf(d.toMillis(), TimeUnit.MILLISECONDS);
  }
}
