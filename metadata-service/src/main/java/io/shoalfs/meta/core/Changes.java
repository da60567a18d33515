package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.EntryChanged;
import io.shoalfs.proto.meta.InodeChanged;
import io.shoalfs.proto.meta.LockGranted;
import io.shoalfs.proto.meta.WatchEvent;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.LockRecord;
import io.shoalfs.proto.records.LockTableRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * What one applied entry changed, for the watch stream (DESIGN decision 7): read from the entry's staged
 * writes before they are committed (so the state before is still there to compare with). Generic: every
 * operation that writes an inode or a name is covered without code of its own.
 *
 * <ul>
 *   <li>an inode written or deleted: {@code InodeChanged{ino, version, data}}, data when its size or its
 *       chunk map changed; routed to the volume of the inode;</li>
 *   <li>a name added, removed or re-pointed: {@code EntryChanged{parent, name}}, routed to the parent's
 *       volume;</li>
 *   <li>a queued lock request granted (it was waiting before and is held now): {@code LockGranted}, routed to
 *       the waiting session alone.</li>
 * </ul>
 */
public final class Changes {
  /**
   * One event and where it goes.
   *
   * @param volume the volume root the event belongs to (sessions of scope 0 or this root get it); 0 if
   *     {@code session} is set
   * @param session the one session it is for (lock grants), else 0
   */
  public record Routed(long volume, long session, WatchEvent event) {}

  private Changes() {}

  /** The events of the entry staged in {@code tx}; call it before the Tx is committed. */
  public static List<Routed> collect(Tx tx) {
    List<Routed> out = new ArrayList<>();
    Set<Long> dataChanged = new HashSet<>();
    tx.forEachStaged(MetaTables.CHUNKS, (k, v) -> dataChanged.add(k.ino()));
    tx.forEachStaged(MetaTables.INODES, (ino, after) -> {
      InodeRecord before = tx.getCommitted(MetaTables.INODES, ino);
      InodeRecord any = after != null ? after : before;
      if (any == null) {
        return;
      }
      boolean data = dataChanged.contains(ino) || before == null || after == null
          || before.getSize() != after.getSize();
      long version = after == null ? before.getVersion() + 1 : after.getVersion();
      out.add(new Routed(any.getSubvolumeRoot(), 0, WatchEvent.newBuilder().setInode(InodeChanged.newBuilder()
          .setIno(ino).setVersion(version).setData(data)).build()));
    });
    tx.forEachStaged(MetaTables.DENTRIES, (key, after) -> {
      InodeRecord parent = tx.get(MetaTables.INODES, key.parent());
      if (parent == null) {
        parent = tx.getCommitted(MetaTables.INODES, key.parent());
      }
      long volume = parent == null ? 0 : parent.getSubvolumeRoot();
      out.add(new Routed(volume, 0, WatchEvent.newBuilder().setEntry(EntryChanged.newBuilder()
          .setParent(key.parent()).setName(key.name())).build()));
    });
    tx.forEachStaged(MetaTables.LOCKS, (ino, after) -> grants(tx, ino, after, out));
    return out;
  }

  private static void grants(Tx tx, long ino, LockTableRecord after, List<Routed> out) {
    LockTableRecord before = tx.getCommitted(MetaTables.LOCKS, ino);
    if (before == null || before.getWaitingCount() == 0 || after == null) {
      return;
    }
    LockTable now = new LockTable(after);
    for (LockRecord w : before.getWaitingList()) {
      boolean stillWaiting = now.waiting.stream().anyMatch(x -> LockTable.sameRequester(x, w));
      if (!stillWaiting && now.holds(w)) {
        out.add(new Routed(0, w.getSessionId(), WatchEvent.newBuilder().setLockGranted(LockGranted.newBuilder()
            .setIno(ino).setLock(Locks.toLock(w))).build()));
      }
    }
  }
}
