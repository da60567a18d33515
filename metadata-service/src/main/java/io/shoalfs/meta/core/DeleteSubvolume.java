package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.DeleteSubvolumeRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * delete_subvolume(name): removes the whole tree in one entry: every inode, dentry and xattr; chunk records move to
 * orphan_chunks; reservations on it go. ENOENT when absent (the CSI layer maps that to success). EBUSY while
 * client sessions scoped to it are live (its mounts), unless {@code force}: a forced delete leaves those
 * sessions with a scope that has no inodes (every call then answers ENOENT) until they end.
 */
final class DeleteSubvolume {
  private DeleteSubvolume() {}

  static MetaReply apply(Tx tx, WriteContext ctx, DeleteSubvolumeRequest r) throws FsError {
    SubvolumeRecord sv = Subvolumes.require(tx, r.getName());
    long root = sv.getRootIno();
    int mounts = Subvolumes.sessionsOf(tx, root);
    if (mounts > 0 && !r.getForce()) {
      throw FsError.of(Code.EBUSY, "subvolume '%s' has %d live mount session%s (unmount it, or force)", r.getName(),
          mounts, mounts == 1 ? "" : "s");
    }
    Quotas.releaseVolume(tx, root);
    Deque<Long> dirs = new ArrayDeque<>();
    dirs.push(root);
    while (!dirs.isEmpty()) {
      long dir = dirs.pop();
      List<DentryKey> names = new ArrayList<>();
      List<DentryRecord> entries = new ArrayList<>();
      tx.scan(MetaTables.DENTRIES, DentryKey.prefix(dir), null, (k, v) -> {
        names.add(k);
        entries.add(v);
        return true;
      });
      for (int i = 0; i < names.size(); i++) {
        long ino = entries.get(i).getIno();
        InodeRecord child = tx.get(MetaTables.INODES, ino);
        if (child == null) {
          // A file with hard links appears once per name; its records went with the first.
        } else if (Inodes.isDir(child)) {
          dirs.push(ino);
        } else {
          Inodes.orphanChunksFrom(tx, ino, 0);
          Inodes.deleteXattrs(tx, ino);
          tx.delete(MetaTables.INODES, ino);
        }
        tx.delete(MetaTables.DENTRIES, names.get(i));
      }
      Inodes.deleteXattrs(tx, dir);
      tx.delete(MetaTables.INODES, dir);
    }
    tx.delete(MetaTables.USAGE, root);
    tx.delete(MetaTables.SUBVOLUMES, r.getName());
    Clones.onDeleted(tx, sv);          // a clone lets go of its source's snapshot
    Snapshots.onVolumeDeleted(tx, root); // its own snapshots stay (with what they see) until deleted
    return Inodes.empty();
  }
}
