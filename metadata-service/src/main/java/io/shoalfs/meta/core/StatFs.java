package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StatFsRequest;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.UsageRecord;

/**
 * stat_fs(ino): capacity and usage of the volume {@code ino} belongs to. The root volume's capacity is the sum
 * of the daemons' capacities; a subvolume's is its recorded capacity (0 = unlimited: the cluster's).
 */
final class StatFs {
  /** No inode quota yet: what df shows as the inode total. */
  static final long INODES_CAPACITY = 1L << 32;

  private StatFs() {}

  static MetaReply read(Tx tx, StatFsRequest r) throws FsError {
    InodeRecord inode = Inodes.require(tx, r.getRootIno());
    long volume = inode.getSubvolumeRoot();
    UsageRecord usage = tx.get(MetaTables.USAGE, volume);
    if (usage == null) {
      throw new IllegalStateException("volume " + volume + " has no usage record");
    }
    long cluster = 0;
    for (DaemonRecord d : Daemons.all(tx)) {
      cluster += d.getCapacityBytes();
    }
    long capacity = cluster;
    if (volume != Layout.ROOT_INO) {
      long[] own = {0};
      tx.scan(MetaTables.SUBVOLUMES, new byte[0], null, (k, v) -> {
        if (v.getRootIno() == volume) {
          own[0] = v.getCapacityBytes();
          return false;
        }
        return true;
      });
      if (own[0] > 0) {
        capacity = own[0];
      }
    }
    return MetaReply.newBuilder().setStatFs(StatFsReply.newBuilder()
        .setCapacityBytes(capacity)
        .setUsedBytes(usage.getUsedBytes())
        .setInodesUsed(usage.getInodes())
        .setInodesCapacity(INODES_CAPACITY)
        .setChunkSize(Layout.CHUNK_SIZE)).build();
  }
}
