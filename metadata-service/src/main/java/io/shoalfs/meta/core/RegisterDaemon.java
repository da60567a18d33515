package io.shoalfs.meta.core;

import io.shoalfs.common.net.HostPort;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DaemonRegistration;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.RegisterDaemonRequest;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.records.DaemonRecord;

/**
 * register_daemon: an idempotent upsert of a storage daemon (address and capacity may change on restart; the
 * first registration time stays). The reply gives the daemon the cluster's id and its write key; the first
 * registration of a cluster creates both.
 */
final class RegisterDaemon {
  private RegisterDaemon() {}

  /** system["cluster_id"]: the cluster's id (UTF-8), set by the first registration. */
  static final String CLUSTER_ID = "cluster_id";

  /** system["write_key"]: the key of chunk tokens ({@link io.shoalfs.common.ChunkTokens}), set once. */
  static final String WRITE_KEY = "write_key";

  /** The cluster's write key, or null before the first registration that carried one. */
  static byte[] writeKey(Tx tx) {
    return tx.get(MetaTables.SYSTEM, WRITE_KEY);
  }

  /** This cluster's id, or null before any daemon registered. */
  static String clusterId(Tx tx) {
    byte[] v = tx.get(MetaTables.SYSTEM, CLUSTER_ID);
    return v == null ? null : new String(v, java.nio.charset.StandardCharsets.UTF_8);
  }

  static MetaReply apply(Tx tx, WriteContext ctx, RegisterDaemonRequest r) throws FsError {
    StorageDaemon d = r.getDaemon();
    Names.checkSafe("daemon", d.getId());
    try {
      HostPort.parse(d.getAddress());
      if (!d.getRaftAddress().isEmpty()) {
        HostPort.parse(d.getRaftAddress());
      }
    } catch (IllegalArgumentException e) {
      throw FsError.of(Code.EINVAL, "daemon %s: %s", d.getId(), e.getMessage());
    }
    String cluster = clusterId(tx);
    if (cluster == null) {
      // The first daemon names the cluster: from the leader's clock in the entry, the same on every replica.
      cluster = java.util.UUID.nameUUIDFromBytes(("shoal-cluster:" + ctx.nowNs()).getBytes(
          java.nio.charset.StandardCharsets.UTF_8)).toString();
      tx.put(MetaTables.SYSTEM, CLUSTER_ID, cluster.getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }
    if (!d.getClusterId().isEmpty() && !d.getClusterId().equals(cluster)) {
      throw FsError.of(Code.EPERM, "daemon %s holds the data of cluster %s, but this is cluster %s: it must not "
          + "join (start it on an empty directory, or against its own cluster)", d.getId(), d.getClusterId(), cluster);
    }
    byte[] key = writeKey(tx);
    if (key == null && ctx.secret().size() == io.shoalfs.common.ChunkTokens.KEY_BYTES) {
      // The leader's random bytes in the entry: the same key on every replica, never derived from anything known.
      key = ctx.secret().toByteArray();
      tx.put(MetaTables.SYSTEM, WRITE_KEY, key);
    }
    DaemonRecord old = tx.get(MetaTables.DAEMONS, d.getId());
    tx.put(MetaTables.DAEMONS, d.getId(), DaemonRecord.newBuilder()
        .setId(d.getId())
        .setAddress(d.getAddress())
        .setCapacityBytes(d.getCapacityBytes())
        .setDiskId(d.getDiskId())
        .setRaftAddress(d.getRaftAddress())
        .setRegisteredNs(old != null ? old.getRegisteredNs() : ctx.nowNs())
        .build());
    DaemonRegistration.Builder reply = DaemonRegistration.newBuilder().setClusterId(cluster);
    if (key != null) {
      reply.setWriteKey(com.google.protobuf.ByteString.copyFrom(key));
    }
    return MetaReply.newBuilder().setRegistration(reply).build();
  }
}
