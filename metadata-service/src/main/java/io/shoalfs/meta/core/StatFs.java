package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StatFsRequest;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.UsageRecord;

/**
 * stat_fs(ino): capacity and usage of the volume {@code ino} belongs to, what df shows.
 *
 * <ul>
 *   <li>A subvolume: capacity = its byte quota (none: the pool's), used = its allocated bytes (core
 *       {@link Quotas}), available = what writes may still reserve (quota and pool, less the reservations of
 *       open writers), inodes = its inode quota (none: 2^32) and its inode count.</li>
 *   <li>The root volume: the storage pool. Capacity = the daemons' capacities, each disk once; used = what
 *       all volumes use, so that available is what ENOSPC is decided by; inodes: the root volume's own.</li>
 * </ul>
 */
final class StatFs {
  /** No inode quota: what df shows as the inode total. */
  static final long INODES_CAPACITY = 1L << 32;

  private StatFs() {}

  static MetaReply read(Tx tx, StatFsRequest r) throws FsError {
    InodeRecord inode = Inodes.require(tx, r.getRootIno());
    long volume = inode.getSubvolumeRoot();
    UsageRecord usage = Quotas.usage(tx, volume);
    long pool = Quotas.poolCapacity(tx);
    long capacity;
    long used;
    if (volume == Layout.ROOT_INO) {
      capacity = pool;
      long[] all = {0};
      tx.scan(MetaTables.USAGE, new byte[0], null, (k, v) -> {
        all[0] += v.getUsedBytes();
        return true;
      });
      used = all[0];
    } else {
      capacity = usage.getBytesLimit() > 0 ? usage.getBytesLimit() : pool;
      used = usage.getUsedBytes();
    }
    long available = Quotas.available(tx, volume);
    if (available == Long.MAX_VALUE) {
      available = Math.max(0, capacity - used - usage.getReservedBytes());
    }
    return MetaReply.newBuilder().setStatFs(StatFsReply.newBuilder()
        .setCapacityBytes(capacity)
        .setUsedBytes(used)
        .setAvailableBytes(available)
        .setInodesUsed(usage.getInodes())
        .setInodesCapacity(usage.getInodesLimit() > 0 ? usage.getInodesLimit() : INODES_CAPACITY)
        .setChunkSize(Layout.CHUNK_SIZE)).build();
  }
}
