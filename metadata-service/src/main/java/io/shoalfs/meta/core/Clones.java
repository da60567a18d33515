package io.shoalfs.meta.core;

import io.shoalfs.common.store.Codec;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.meta.store.Versions;
import io.shoalfs.proto.meta.CloneSubvolumeRequest;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.records.SnapshotRecord;
import io.shoalfs.proto.records.SpaceRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import io.shoalfs.proto.records.UsageRecord;
import io.shoalfs.proto.records.VolumeVersionsRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * Clones and restores (DESIGN decision 6): a new writable subvolume that falls through to a snapshot of its
 * source (a named one, or an implicit one taken in the same entry for a clone of the live volume). O(1): a
 * subvolume record, a space record, a usage record and the source's snapshot list; no record and no byte is
 * copied. The clone has its own inode-number space ({@link Versions}); chunks are shared until written
 * (alloc_chunk answers a new chunk with copy_from, see {@link AllocChunk}). The clone holds its snapshot: the
 * snapshot (and every chunk it sees) stays until the clone is deleted, even if the user deletes it.
 */
final class Clones {
  /** system["next_space"]: the next clone space id (u64); ids are never reused. */
  static final String NEXT_SPACE = "next_space";

  private Clones() {}

  static MetaReply clone(Tx tx, WriteContext ctx, CloneSubvolumeRequest r) throws FsError {
    SubvolumeRecord src = tx.get(MetaTables.SUBVOLUMES, r.getSource());
    if (src == null) {
      // A restore from a snapshot of a deleted subvolume: its snapshots (and what they see) outlive it.
      long deleted = r.getSnapshot().isEmpty() ? 0 : Snapshots.deletedVolumeRoot(tx, r.getSource());
      if (deleted == 0) {
        throw FsError.of(Code.ENOENT, "no subvolume '%s'", r.getSource());
      }
      if (r.getCapacityBytes() == 0) {
        throw FsError.of(Code.EINVAL, "subvolume '%s' was deleted: give the restore's capacity", r.getSource());
      }
      src = SubvolumeRecord.newBuilder().setName(r.getSource()).setRootIno(deleted)
          .setCapacityBytes(r.getCapacityBytes()).build();
    }
    Names.checkSafe("subvolume", r.getName());
    SubvolumeRecord existing = tx.get(MetaTables.SUBVOLUMES, r.getName());
    if (existing != null) {
      if (existing.getCloneOf().equals(r.getSource()) && existing.getSpace() != 0
          && r.getSnapshot().equals(snapshotNameAt(tx, existing.getCloneSourceRoot(), existing.getCloneSeq()))) {
        return reply(tx, existing, r.getSnapshot()); // the same clone asked for again
      }
      throw FsError.of(Code.EEXIST, "subvolume '%s' exists", r.getName());
    }
    long srcRoot = src.getRootIno();
    VolumeVersionsRecord.Builder vv;
    int at;
    if (r.getSnapshot().isEmpty()) {
      vv = Snapshots.take(tx, src, "", ctx.nowNs());
      at = vv.getSnapshotsCount() - 1;
    } else {
      VolumeVersionsRecord cur = Snapshots.versions(tx, srcRoot);
      SnapshotRecord s = Snapshots.find(cur, r.getSnapshot());
      if (s == null) {
        throw FsError.of(Code.ENOENT, "no snapshot '%s' of subvolume '%s'", r.getSnapshot(), r.getSource());
      }
      vv = cur.toBuilder();
      at = cur.getSnapshotsList().indexOf(s);
    }
    SnapshotRecord held = vv.getSnapshots(at);
    vv.setSnapshots(at, held.toBuilder().setClones(held.getClones() + 1));
    tx.put(MetaTables.SNAP_VOLUMES, srcRoot, vv.build());

    byte[] next = tx.get(MetaTables.SYSTEM, NEXT_SPACE);
    long space = next == null ? 1 : Codec.U64.decode(next);
    if (space > Versions.MAX_SPACES) {
      throw FsError.of(Code.ENOSPC, "all %d clone spaces are used", Versions.MAX_SPACES);
    }
    tx.put(MetaTables.SYSTEM, NEXT_SPACE, Codec.U64.encode(space + 1));
    long root = Versions.rebase(srcRoot, (int) space);
    tx.put(MetaTables.SPACES, space, SpaceRecord.newBuilder().setCloneRoot(root)
        .setSourceSpace(Versions.spaceOf(srcRoot)).setSourceRoot(srcRoot).setAsOfSeq(held.getSeq())
        .setName(r.getName()).build());
    SubvolumeRecord rec = SubvolumeRecord.newBuilder().setName(r.getName()).setRootIno(root)
        .setCapacityBytes(r.getCapacityBytes() != 0 ? r.getCapacityBytes() : src.getCapacityBytes())
        .setCreatedNs(ctx.nowNs()).setSpace((int) space).setCloneOf(r.getSource()).setCloneSourceRoot(srcRoot)
        .setCloneSeq(held.getSeq()).setReplication(src.getReplication()).build();
    tx.put(MetaTables.SUBVOLUMES, r.getName(), rec);
    // Usage as the snapshot counted it: the clone's tree is exactly that until it is written.
    tx.put(MetaTables.USAGE, root, UsageRecord.newBuilder().setUsedBytes(held.getUsedBytes())
        .setInodes(held.getInodes()).build());
    Versions.activate(tx);
    return reply(tx, rec, r.getSnapshot());
  }

  /** The name of the source's snapshot at {@code seq} ("" for an implicit one, or if it is gone). */
  private static String snapshotNameAt(Tx tx, long sourceRoot, long seq) {
    VolumeVersionsRecord vv = Snapshots.versions(tx, sourceRoot);
    if (vv != null) {
      for (SnapshotRecord s : vv.getSnapshotsList()) {
        if (s.getSeq() == seq) {
          return s.getName();
        }
      }
    }
    return "";
  }

  private static MetaReply reply(Tx tx, SubvolumeRecord rec, String snapshot) {
    return MetaReply.newBuilder().setSubvolume(Subvolumes.toWire(tx, rec).toBuilder().setCloneSnapshot(snapshot))
        .build();
  }

  /**
   * The clone's tree was deleted: its whiteouts and space go, and it lets go of the source's snapshot (which goes
   * too if the user deleted it, or if it was the implicit snapshot of a live clone).
   */
  static void onDeleted(Tx tx, SubvolumeRecord sv) {
    if (sv.getSpace() == 0) {
      return;
    }
    Versions.dropWhiteouts(tx, sv.getSpace());
    tx.delete(MetaTables.SPACES, (long) sv.getSpace());
    long srcRoot = sv.getCloneSourceRoot();
    VolumeVersionsRecord vv = Snapshots.versions(tx, srcRoot);
    if (vv == null) {
      return;
    }
    List<SnapshotRecord> kept = new ArrayList<>();
    for (SnapshotRecord s : vv.getSnapshotsList()) {
      if (s.getSeq() == sv.getCloneSeq()) {
        int clones = Math.max(0, s.getClones() - 1);
        if (clones == 0 && (s.getDeleted() || s.getName().isEmpty())) {
          continue; // nobody needs it any more
        }
        kept.add(s.toBuilder().setClones(clones).build());
      } else {
        kept.add(s);
      }
    }
    Snapshots.store(tx, srcRoot, vv.toBuilder().clearSnapshots().addAllSnapshots(kept).build());
  }

  /**
   * New inodes of a clone are numbered in its space: the ids the log hands out are moved there when the parent
   * (mkdir, create, symlink, mknod) is a clone's. Deterministic: it reads only the request.
   */
  static WriteContext forRequest(WriteContext ctx, MetaRequest r) {
    long parent = switch (r.getOpCase()) {
      case MKDIR -> r.getMkdir().getParent();
      case CREATE -> r.getCreate().getParent();
      case SYMLINK -> r.getSymlink().getParent();
      case MKNOD -> r.getMknod().getParent();
      default -> 0;
    };
    int space = Versions.spaceOf(parent);
    if (space == 0 || ctx.newIds().isEmpty()) {
      return ctx;
    }
    List<Long> ids = new ArrayList<>(ctx.newIds().size());
    for (long id : ctx.newIds()) {
      ids.add(Versions.rebase(id, space));
    }
    return new WriteContext(ctx.nowNs(), ids, ctx.groupId());
  }
}
