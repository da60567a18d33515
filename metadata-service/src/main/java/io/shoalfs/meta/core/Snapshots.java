package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.meta.store.Versions;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateGroupSnapshotRequest;
import io.shoalfs.proto.meta.CreateSnapshotRequest;
import io.shoalfs.proto.meta.DeleteSnapshotRequest;
import io.shoalfs.proto.meta.GetSnapshotRequest;
import io.shoalfs.proto.meta.ListSnapshotsRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.PurgeHistoryRequest;
import io.shoalfs.proto.meta.Snapshot;
import io.shoalfs.proto.meta.SnapshotList;
import io.shoalfs.proto.records.SnapshotRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import io.shoalfs.proto.records.UsageRecord;
import io.shoalfs.proto.records.VolumeVersionsRecord;

/**
 * Snapshots of a subvolume (DESIGN decision 6): create, delete, list, get, and the as-of view reads use. A
 * snapshot is a sequence number: create writes ONE small record (the volume's snapshot list), whatever the size
 * of the volume; the store's version layer ({@link Versions}) keeps what each snapshot sees as records change.
 * It is one point in time because it is one log entry: every write applied before it is in, none after. Data a
 * client holds in its write-back buffer and has not committed is not in (a crash-consistent snapshot).
 */
public final class Snapshots {
  /** Most snapshots per volume (including those clones hold): the list is one record rewritten per create. */
  static final int MAX_SNAPSHOTS = 1024;
  /** History entries examined by one snapshot delete (or purge_history) entry: bounds the entry's apply time. */
  static final int PURGE_BATCH = 50_000;
  /** Most subvolumes in one group snapshot (one call, one entry). */
  static final int MAX_GROUP = 256;

  private Snapshots() {}

  /** The volume root a request names: by subvolume name, else by root inode (after the subvolume was deleted). */
  private static long volumeRoot(Tx tx, String subvolume, long root) throws FsError {
    if (!subvolume.isEmpty()) {
      SubvolumeRecord sv = tx.get(MetaTables.SUBVOLUMES, subvolume);
      if (sv != null) {
        return sv.getRootIno();
      }
      long deleted = deletedVolumeRoot(tx, subvolume);
      if (root == 0 && deleted != 0) {
        return deleted;
      }
      if (root == 0) {
        throw FsError.of(Code.ENOENT, "no subvolume '%s'", subvolume);
      }
    }
    if (root == 0) {
      throw FsError.of(Code.EINVAL, "name a subvolume or its root inode");
    }
    return root;
  }

  /**
   * The root of a deleted subvolume {@code name} whose snapshots remain (its versions record keeps the name), 0
   * if there is none; the newest such volume if the name was deleted more than once. A scan of the volumes that
   * have snapshots (few: one record each).
   */
  static long deletedVolumeRoot(Tx tx, String name) {
    long[] found = {0};
    tx.scan(MetaTables.SNAP_VOLUMES, new byte[0], null, (root, vv) -> {
      if (vv.getVolumeDeleted() && vv.getName().equals(name)) {
        found[0] = root;
      }
      return true;
    });
    return found[0];
  }

  static VolumeVersionsRecord versions(Tx tx, long root) {
    return tx.get(MetaTables.SNAP_VOLUMES, root);
  }

  static SnapshotRecord find(VolumeVersionsRecord vv, String name) {
    if (vv == null || name.isEmpty()) {
      return null;
    }
    for (SnapshotRecord s : vv.getSnapshotsList()) {
      if (!s.getDeleted() && s.getName().equals(name)) {
        return s;
      }
    }
    return null;
  }

  static Snapshot toWire(VolumeVersionsRecord vv, long root, SnapshotRecord s) {
    return Snapshot.newBuilder().setSubvolume(vv.getName()).setName(s.getName()).setSeq(s.getSeq())
        .setCreatedNs(s.getCreatedNs()).setVolumeRoot(root).setClones(s.getClones()).setGroup(s.getGroup()).setCapacityBytes(s.getCapacityBytes()).build();
  }

  /**
   * Takes a snapshot named {@code name} ("" = an implicit one, for a clone of the live volume): the next seq,
   * with the volume's usage now. Returns the updated record; the caller stores it.
   */
  static VolumeVersionsRecord.Builder take(Tx tx, SubvolumeRecord sv, String name, long nowNs) throws FsError {
    long root = sv.getRootIno();
    VolumeVersionsRecord vv = versions(tx, root);
    VolumeVersionsRecord.Builder b = vv == null ? VolumeVersionsRecord.newBuilder() : vv.toBuilder();
    if (b.getSnapshotsCount() >= MAX_SNAPSHOTS) {
      throw FsError.of(Code.ENOSPC, "subvolume '%s' has %d snapshots, the most it may have", sv.getName(),
          MAX_SNAPSHOTS);
    }
    UsageRecord u = tx.get(MetaTables.USAGE, root);
    long seq = b.getLatestSeq() + 1;
    b.setLatestSeq(seq).setName(sv.getName()).addSnapshots(SnapshotRecord.newBuilder().setName(name).setSeq(seq)
        .setCreatedNs(nowNs).setCapacityBytes(sv.getCapacityBytes()).setUsedBytes(u == null ? 0 : u.getUsedBytes()).setInodes(u == null ? 0 : u.getInodes()));
    Versions.activate(tx);
    return b;
  }

  static MetaReply create(Tx tx, WriteContext ctx, CreateSnapshotRequest r) throws FsError {
    SubvolumeRecord sv = Subvolumes.require(tx, r.getSubvolume());
    Names.checkSafe("snapshot", r.getName());
    long root = sv.getRootIno();
    SnapshotRecord existing = find(versions(tx, root), r.getName());
    if (existing != null) {
      // The same request again (a CSI retry, a repeated CLI call): the snapshot that exists.
      return reply(toWire(versions(tx, root), root, existing));
    }
    VolumeVersionsRecord vv = take(tx, sv, r.getName(), ctx.nowNs()).build();
    tx.put(MetaTables.SNAP_VOLUMES, root, vv);
    return reply(toWire(vv, root, vv.getSnapshots(vv.getSnapshotsCount() - 1)));
  }

  /** One snapshot of each subvolume, in this one call: atomic and one point in time across them. */
  static MetaReply createGroup(Tx tx, WriteContext ctx, CreateGroupSnapshotRequest r) throws FsError {
    if (r.getSubvolumesCount() == 0 || r.getSubvolumesCount() > MAX_GROUP) {
      throw FsError.of(Code.EINVAL, "a group snapshot names 1 to %d subvolumes, not %d", MAX_GROUP,
          r.getSubvolumesCount());
    }
    String group = r.getGroup().isEmpty() ? r.getName() : r.getGroup();
    SnapshotList.Builder out = SnapshotList.newBuilder();
    for (String sv : r.getSubvolumesList()) {
      Snapshot made = create(tx, ctx, CreateSnapshotRequest.newBuilder().setSubvolume(sv).setName(r.getName())
          .build()).getSnapshot();
      VolumeVersionsRecord vv = versions(tx, made.getVolumeRoot());
      SnapshotRecord s = find(vv, r.getName());
      if (!s.getGroup().equals(group)) {
        if (!s.getGroup().isEmpty() || s.getSeq() != vv.getLatestSeq()) {
          // An older snapshot of that name (not cut by this group): the group cannot claim it.
          throw FsError.of(Code.EEXIST, "subvolume '%s' already has a snapshot '%s' outside group '%s'", sv,
              r.getName(), group);
        }
        int i = vv.getSnapshotsList().indexOf(s);
        s = s.toBuilder().setGroup(group).build();
        vv = vv.toBuilder().setSnapshots(i, s).build();
        store(tx, made.getVolumeRoot(), vv);
      }
      out.addSnapshots(toWire(vv, made.getVolumeRoot(), s));
    }
    return MetaReply.newBuilder().setSnapshots(out).build();
  }

  static MetaReply delete(Tx tx, WriteContext ctx, DeleteSnapshotRequest r) throws FsError {
    long root = volumeRoot(tx, r.getSubvolume(), r.getVolumeRoot());
    VolumeVersionsRecord vv = versions(tx, root);
    SnapshotRecord s = find(vv, r.getName());
    if (s == null) {
      throw FsError.of(Code.ENOENT, "no snapshot '%s' of volume %d", r.getName(), root);
    }
    VolumeVersionsRecord.Builder b = vv.toBuilder();
    int i = vv.getSnapshotsList().indexOf(s);
    if (s.getClones() > 0) {
      b.setSnapshots(i, s.toBuilder().setDeleted(true)); // clones still fall through to it
    } else {
      b.removeSnapshots(i);
    }
    store(tx, root, b.build());
    return Inodes.empty();
  }

  /** Stores {@code vv} and purges what no snapshot needs any more (bounded; purge_history continues). */
  static void store(Tx tx, long root, VolumeVersionsRecord vv) {
    // The set of snapshots changed: the whole history is examined again, from the start.
    purgeAndStore(tx, root, vv.toBuilder().clearPurgeCursor().build(), PURGE_BATCH);
  }

  /**
   * Purges up to {@code limit} history entries from the record's cursor, then stores {@code vv} with the cursor
   * and purge_pending if more remain.
   */
  private static void purgeAndStore(Tx tx, long root, VolumeVersionsRecord vv, int limit) {
    byte[] from = vv.getPurgeCursor().isEmpty() ? null : vv.getPurgeCursor().toByteArray();
    byte[] next = Versions.purge(tx, root, vv, limit, from);
    if (next == null && vv.getSnapshotsCount() == 0 && vv.getVolumeDeleted()) {
      tx.delete(MetaTables.SNAP_VOLUMES, root);
    } else {
      tx.put(MetaTables.SNAP_VOLUMES, root, vv.toBuilder().setPurgePending(next != null)
          .setPurgeCursor(next == null ? com.google.protobuf.ByteString.EMPTY
              : com.google.protobuf.ByteString.copyFrom(next)).build());
    }
  }

  static MetaReply purge(Tx tx, WriteContext ctx, PurgeHistoryRequest r) throws FsError {
    VolumeVersionsRecord vv = versions(tx, r.getVolumeRoot());
    if (vv == null) {
      throw FsError.of(Code.ENOENT, "volume %d has no snapshot history", r.getVolumeRoot());
    }
    purgeAndStore(tx, r.getVolumeRoot(), vv, r.getLimit() == 0 ? PURGE_BATCH : Math.min(r.getLimit(), PURGE_BATCH));
    return Inodes.empty();
  }

  /** The volume whose history the leader should purge next (purge_pending), or 0. */
  public static long pendingPurge(Tx tx) {
    long[] found = {0};
    tx.scan(MetaTables.SNAP_VOLUMES, new byte[0], null, (root, vv) -> {
      if (vv.getPurgePending()) {
        found[0] = root;
        return false;
      }
      return true;
    });
    return found[0];
  }

  static MetaReply list(Tx tx, ListSnapshotsRequest r) throws FsError {
    if (r.getSubvolume().isEmpty() && r.getVolumeRoot() == 0) {
      // Every snapshot of every volume, deleted volumes' included (CSI ListSnapshots without a source).
      SnapshotList.Builder all = SnapshotList.newBuilder();
      tx.scan(MetaTables.SNAP_VOLUMES, new byte[0], null, (root, vv) -> {
        for (SnapshotRecord s : vv.getSnapshotsList()) {
          if (!s.getDeleted() && !s.getName().isEmpty()) {
            all.addSnapshots(toWire(vv, root, s));
          }
        }
        return true;
      });
      return MetaReply.newBuilder().setSnapshots(all).build();
    }
    long root = volumeRoot(tx, r.getSubvolume(), r.getVolumeRoot());
    VolumeVersionsRecord vv = versions(tx, root);
    SnapshotList.Builder out = SnapshotList.newBuilder();
    if (vv != null) {
      for (SnapshotRecord s : vv.getSnapshotsList()) {
        if (!s.getDeleted() && !s.getName().isEmpty()) {
          out.addSnapshots(toWire(vv, root, s));
        }
      }
    }
    return MetaReply.newBuilder().setSnapshots(out).build();
  }

  static MetaReply get(Tx tx, GetSnapshotRequest r) throws FsError {
    long root = volumeRoot(tx, r.getSubvolume(), r.getVolumeRoot());
    VolumeVersionsRecord vv = versions(tx, root);
    SnapshotRecord s = find(vv, r.getName());
    if (s == null) {
      throw FsError.of(Code.ENOENT, "no snapshot '%s' of volume %d", r.getName(), root);
    }
    return reply(toWire(vv, root, s));
  }

  /**
   * The view a read with as_of set runs in: ESTALE unless the snapshot still exists (a deleted one's history may
   * be purged already).
   */
  static Tx view(Tx tx, MetaRequest r) throws FsError {
    VolumeVersionsRecord vv = versions(tx, r.getAsOfVolume());
    if (vv != null) {
      for (SnapshotRecord s : vv.getSnapshotsList()) {
        if (s.getSeq() == r.getAsOfSeq() && !s.getDeleted()) {
          return tx.asOf(r.getAsOfVolume(), r.getAsOfSeq());
        }
      }
    }
    throw FsError.of(Code.ESTALE, "volume %d has no snapshot %d", r.getAsOfVolume(), r.getAsOfSeq());
  }

  /** A subvolume is being deleted: its snapshots (and the history they need) stay until they are deleted. */
  static void onVolumeDeleted(Tx tx, long root) {
    VolumeVersionsRecord vv = versions(tx, root);
    if (vv != null) {
      store(tx, root, vv.toBuilder().setVolumeDeleted(true).build());
    }
  }

  private static MetaReply reply(Snapshot s) {
    return MetaReply.newBuilder().setSnapshot(s).build();
  }
}
