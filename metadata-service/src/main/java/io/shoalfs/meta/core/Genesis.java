package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.UsageRecord;

/**
 * The state before the first log entry: the root directory of the root volume, identical on every replica
 * (mode 0755, owner 0:0), so that it needs no log entry of its own.
 *
 * <p>Its times: genesis runs on each replica without a log entry, so it has no leader clock to use and writes
 * 0. The first write entry that is applied (whatever it is) then stamps atime = mtime = ctime = that entry's
 * leader time ({@link #stampRoot}, called by {@link MetaOps#applyWrite}), the same on every replica. So the root
 * reads as created at the moment the cluster took its first write; only before any write did it happen (a
 * cluster that never registered a daemon) do its times read 0.
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

  /** Gives the root its creation times from the first applied write (see the class comment). */
  static void stampRoot(Tx tx, long nowNs) {
    InodeRecord root = tx.get(MetaTables.INODES, Layout.ROOT_INO);
    if (root != null && root.getCtimeNs() == 0 && nowNs != 0) {
      tx.put(MetaTables.INODES, Layout.ROOT_INO, root.toBuilder()
          .setAtimeNs(nowNs).setMtimeNs(nowNs).setCtimeNs(nowNs).setVersion(root.getVersion() + 1).build());
    }
  }
}
