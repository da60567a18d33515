package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.UsageRecord;

/**
 * The state before the first log entry: the root directory of the root volume, identical on every replica
 * (times 0, mode 0755, owner 0:0), so that it needs no log entry of its own.
 */
public final class Genesis {
  private Genesis() {}

  public static boolean needed(Tx tx) {
    return tx.get(MetaTables.INODES, Layout.ROOT_INO) == null;
  }

  public static void write(Tx tx) {
    InodeRecord root = Inodes.newInode(FileType.DIRECTORY, CreateSubvolume.ROOT_MODE, 0, 0, Layout.ROOT_INO,
        Layout.ROOT_INO, 0);
    tx.put(MetaTables.INODES, Layout.ROOT_INO, root);
    tx.put(MetaTables.USAGE, Layout.ROOT_INO, UsageRecord.newBuilder().setInodes(1).build());
  }
}
