package io.shoalfs.meta.core;

import io.shoalfs.common.net.HostPort;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.RegisterDaemonRequest;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.records.DaemonRecord;

/**
 * register_daemon: an idempotent upsert of a storage daemon (address and capacity may change on restart; the
 * first registration time stays).
 */
final class RegisterDaemon {
  private RegisterDaemon() {}

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
    DaemonRecord old = tx.get(MetaTables.DAEMONS, d.getId());
    tx.put(MetaTables.DAEMONS, d.getId(), DaemonRecord.newBuilder()
        .setId(d.getId())
        .setAddress(d.getAddress())
        .setCapacityBytes(d.getCapacityBytes())
        .setDiskId(d.getDiskId())
        .setRaftAddress(d.getRaftAddress())
        .setRegisteredNs(old != null ? old.getRegisteredNs() : ctx.nowNs())
        .build());
    return Inodes.empty();
  }
}
