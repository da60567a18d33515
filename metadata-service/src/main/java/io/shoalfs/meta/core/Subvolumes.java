package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.proto.meta.SubvolumeList;
import io.shoalfs.proto.records.SubvolumeRecord;
import io.shoalfs.proto.records.UsageRecord;
import java.util.HashMap;
import java.util.Map;

/** Reads of subvolumes: get_subvolume and list_subvolumes. */
final class Subvolumes {
  private Subvolumes() {}

  /** The wire form with live usage (usage record) and the number of sessions scoped to it. */
  static Subvolume toWire(Tx tx, SubvolumeRecord r) {
    return toWire(tx, r, sessionsOf(tx, r.getRootIno()));
  }

  private static Subvolume toWire(Tx tx, SubvolumeRecord r, int sessions) {
    Subvolume.Builder b = Subvolume.newBuilder().setName(r.getName()).setRootIno(r.getRootIno())
        .setCapacityBytes(r.getCapacityBytes()).setCreatedNs(r.getCreatedNs()).setInodesLimit(r.getInodesLimit())
        .setMountSessions(sessions).setCloneOf(r.getCloneOf()).setReplication(r.getReplication());
    if (!r.getCloneOf().isEmpty()) {
      // The snapshot the clone was made from ("" = the live source, through an implicit snapshot).
      io.shoalfs.proto.records.VolumeVersionsRecord vv = tx.get(MetaTables.SNAP_VOLUMES, r.getCloneSourceRoot());
      if (vv != null) {
        for (io.shoalfs.proto.records.SnapshotRecord s : vv.getSnapshotsList()) {
          if (s.getSeq() == r.getCloneSeq()) {
            b.setCloneSnapshot(s.getName());
          }
        }
      }
    }
    UsageRecord u = tx.get(MetaTables.USAGE, r.getRootIno());
    if (u != null) {
      b.setUsedBytes(u.getUsedBytes()).setUsedInodes(u.getInodes()).setReservedBytes(u.getReservedBytes());
    }
    return b.build();
  }

  /** Live sessions scoped to the volume {@code root}: its mounts. */
  static int sessionsOf(Tx tx, long root) {
    int[] n = {0};
    tx.scan(MetaTables.SESSIONS, new byte[0], null, (k, v) -> {
      if (v.getScopeRoot() == root) {
        n[0]++;
      }
      return true;
    });
    return n[0];
  }

  static SubvolumeRecord require(Tx tx, String name) throws FsError {
    Names.checkSafe("subvolume", name);
    SubvolumeRecord r = tx.get(MetaTables.SUBVOLUMES, name);
    if (r == null) {
      throw FsError.of(Code.ENOENT, "no subvolume '%s'", name);
    }
    return r;
  }

  static MetaReply get(Tx tx, String name) throws FsError {
    return MetaReply.newBuilder().setSubvolume(toWire(tx, require(tx, name))).build();
  }

  static MetaReply list(Tx tx) {
    SubvolumeList.Builder out = SubvolumeList.newBuilder();
    Map<Long, Integer> sessions = new HashMap<>();
    tx.scan(MetaTables.SESSIONS, new byte[0], null, (k, v) -> {
      sessions.merge(v.getScopeRoot(), 1, Integer::sum);
      return true;
    });
    tx.scan(MetaTables.SUBVOLUMES, new byte[0], null, (k, v) -> {
      out.addSubvolumes(toWire(tx, v, sessions.getOrDefault(v.getRootIno(), 0)));
      return true;
    });
    return MetaReply.newBuilder().setSubvolumes(out).build();
  }
}
