package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateSubvolumeRequest;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import io.shoalfs.proto.records.UsageRecord;

/**
 * create_subvolume(name, capacity, inodes): a new directory tree whose root is NOT linked into the root volume
 * (a mount of it cannot reach other volumes, and no path of the root volume reaches it), with a byte quota
 * (capacity; 0 = none, the pool limits it: the CLI refuses 0) and an inode quota (0 = none). Idempotent for the same name and
 * quotas; the same name with other quotas is EEXIST.
 */
final class CreateSubvolume {
  static final int ROOT_MODE = 0755;

  private CreateSubvolume() {}

  static MetaReply apply(Tx tx, WriteContext ctx, CreateSubvolumeRequest r) throws FsError {
    Names.checkSafe("subvolume", r.getName());
    if (r.getReplication() > 3) {
      throw FsError.of(Code.EINVAL, "replication must be 1, 2 or 3 (0 = the cluster's default), got %d",
          r.getReplication());
    }
    SubvolumeRecord existing = tx.get(MetaTables.SUBVOLUMES, r.getName());
    if (existing != null) {
      if (existing.getCapacityBytes() != r.getCapacityBytes() || existing.getInodesLimit() != r.getInodesLimit()
          || existing.getReplication() != r.getReplication()) {
        throw FsError.of(Code.EEXIST, "subvolume '%s' exists with size %d bytes, inode limit %d and replication %d",
            r.getName(), existing.getCapacityBytes(), existing.getInodesLimit(), existing.getReplication());
      }
      return MetaReply.newBuilder().setSubvolume(Subvolumes.toWire(tx, existing)).build();
    }
    long root = ctx.id(0);
    InodeRecord dir = Inodes.newInode(FileType.DIRECTORY, ROOT_MODE, 0, 0, root, root, ctx.nowNs());
    SubvolumeRecord rec = SubvolumeRecord.newBuilder().setName(r.getName()).setRootIno(root)
        .setCapacityBytes(r.getCapacityBytes()).setInodesLimit(r.getInodesLimit()).setCreatedNs(ctx.nowNs())
        .setReplication(r.getReplication()).build();
    tx.put(MetaTables.INODES, root, dir);
    tx.put(MetaTables.USAGE, root, UsageRecord.newBuilder().setInodes(1).setBytesLimit(r.getCapacityBytes())
        .setInodesLimit(r.getInodesLimit()).build());
    tx.put(MetaTables.SUBVOLUMES, r.getName(), rec);
    return MetaReply.newBuilder().setSubvolume(Subvolumes.toWire(tx, rec)).build();
  }
}
