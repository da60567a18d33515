package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FormStorageGroupRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.StorageGroup;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.StorageGroupRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Registered storage daemons and the storage groups they form. Every daemon is a group of one by itself
 * ({@link #groupOf}, served directly, unreplicated); daemons with a Raft address also form replicated groups of
 * 2 or 3 (Ratis groups), recorded by {@code form_storage_group} once their members joined.
 */
public final class Daemons {
  private Daemons() {}

  /** The single-daemon, unreplicated group of a daemon. */
  public static String groupOf(String daemonId) {
    return "g-" + daemonId;
  }

  /** Every registered daemon, in id order. */
  public static List<DaemonRecord> all(Tx tx) {
    List<DaemonRecord> out = new ArrayList<>();
    tx.scan(MetaTables.DAEMONS, new byte[0], null, (k, v) -> out.add(v));
    return out;
  }

  /** Every recorded replicated group, in id order. */
  public static List<StorageGroupRecord> groups(Tx tx) {
    List<StorageGroupRecord> out = new ArrayList<>();
    tx.scan(MetaTables.STORAGE_GROUPS, new byte[0], null, (k, v) -> out.add(v));
    return out;
  }

  /** A group as clients see it: its members' addresses (unknown members are left out). */
  public static StorageGroup view(Tx tx, StorageGroupRecord g) {
    StorageGroup.Builder b = StorageGroup.newBuilder().setGroupId(g.getGroupId()).setReplicated(true);
    for (String id : g.getMembersList()) {
      DaemonRecord d = tx.get(MetaTables.DAEMONS, id);
      if (d != null) {
        b.addMembers(member(d));
      }
    }
    DaemonRecord w = g.getWitness().isEmpty() ? null : tx.get(MetaTables.DAEMONS, g.getWitness());
    if (w != null) {
      b.setWitness(member(w));
    }
    return b.build();
  }

  static StorageDaemon member(DaemonRecord d) {
    return StorageDaemon.newBuilder().setId(d.getId()).setAddress(d.getAddress())
        .setCapacityBytes(d.getCapacityBytes()).setDiskId(d.getDiskId()).setRaftAddress(d.getRaftAddress()).build();
  }

  /** form_storage_group: records a group whose members (registered, with Raft addresses, distinct) joined it. */
  static MetaReply formGroup(Tx tx, WriteContext ctx, FormStorageGroupRequest r) throws FsError {
    Names.checkSafe("storage group", r.getGroupId());
    if (r.getMembersCount() < 2 || r.getMembersCount() > 3) {
      throw FsError.of(Code.EINVAL, "a storage group has 2 or 3 members, got %d", r.getMembersCount());
    }
    Set<String> seen = new HashSet<>();
    List<String> all = new ArrayList<>(r.getMembersList());
    if (!r.getWitness().isEmpty()) {
      if (r.getMembersCount() != 2) {
        throw FsError.of(Code.EINVAL, "only a group of 2 has a witness");
      }
      all.add(r.getWitness());
    }
    for (String m : all) {
      DaemonRecord d = tx.get(MetaTables.DAEMONS, m);
      if (d == null || d.getRaftAddress().isEmpty()) {
        throw FsError.of(Code.EINVAL, "daemon %s is not registered with a raft address", m);
      }
      if (!seen.add(m)) {
        throw FsError.of(Code.EINVAL, "daemon %s named twice", m);
      }
    }
    StorageGroupRecord old = tx.get(MetaTables.STORAGE_GROUPS, r.getGroupId());
    if (r.getReplace()) {
      if (old == null) {
        throw FsError.of(Code.ENOENT, "no storage group %s to change", r.getGroupId());
      }
      tx.put(MetaTables.STORAGE_GROUPS, r.getGroupId(), old.toBuilder().clearMembers()
          .addAllMembers(r.getMembersList()).setWitness(r.getWitness()).build());
      return Inodes.empty();
    }
    if (old != null) {
      if (old.getMembersList().equals(r.getMembersList())) {
        return Inodes.empty();
      }
      throw FsError.of(Code.EEXIST, "storage group %s exists with members %s", r.getGroupId(), old.getMembersList());
    }
    tx.put(MetaTables.STORAGE_GROUPS, r.getGroupId(), StorageGroupRecord.newBuilder().setGroupId(r.getGroupId())
        .addAllMembers(r.getMembersList()).setWitness(r.getWitness()).setFormedNs(ctx.nowNs()).build());
    return Inodes.empty();
  }
}
