package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.StorageGroupRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chooses the storage group of a new chunk, on the leader only (the choice travels in the log entry). The
 * file's subvolume says how many copies (its replication; 0 = the cluster's default): 1 is a daemon alone,
 * round-robin over the registered daemons in id order; 2 or 3 is a recorded replicated group of that many
 * members, round-robin too. The counter is in memory, so a new leader starts over, which only matters for
 * balance, never for correctness.
 */
public final class Placement {
  private final AtomicLong next = new AtomicLong();
  private volatile int defaultReplication = 1;

  /** The replication of the root volume and of subvolumes created without one (1, 2 or 3). */
  public void setDefaultReplication(int r) {
    if (r < 1 || r > 3) {
      throw new IllegalArgumentException("replication must be 1, 2 or 3, got " + r);
    }
    defaultReplication = r;
  }

  public int defaultReplication() {
    return defaultReplication;
  }

  /** A group id, or "" when no group of the needed replication exists (apply then answers ENOSPC). */
  public String choose(Tx tx, MetaRequest request) {
    int r = replicationOf(tx, request);
    // Writers ask alloc_chunk on every write-back, mostly for chunks that exist already (its copy-on-write
    // check): only a chunk that is new now moves the round-robin on, or every new chunk would land in the same
    // group whenever the asks per chunk are a multiple of the groups. A group is still chosen for every ask: the
    // chunk may be created by an entry ahead of this one.
    long turn = chunkExists(tx, request) ? next.get() : next.getAndIncrement();
    if (r <= 1) {
      List<DaemonRecord> daemons = Daemons.all(tx);
      if (daemons.isEmpty()) {
        return "";
      }
      return Daemons.groupOf(daemons.get((int) Math.floorMod(turn, (long) daemons.size())).getId());
    }
    List<String> fit = new ArrayList<>();
    for (StorageGroupRecord g : Daemons.groups(tx)) {
      if (g.getMembersCount() == r) {
        fit.add(g.getGroupId());
      }
    }
    return fit.isEmpty() ? "" : fit.get((int) Math.floorMod(turn, (long) fit.size()));
  }

  private static boolean chunkExists(Tx tx, MetaRequest request) {
    if (request.getOpCase() != MetaRequest.OpCase.ALLOC_CHUNK) {
      return false;
    }
    io.shoalfs.proto.records.ChunkRecord c = tx.get(MetaTables.CHUNKS,
        new io.shoalfs.meta.store.ChunkKey(request.getAllocChunk().getIno(), request.getAllocChunk().getIndex()));
    return c != null && c.getChunkId() != 0;
  }

  /** The copies a new chunk of the request's file needs. */
  int replicationOf(Tx tx, MetaRequest request) {
    if (request.getOpCase() != MetaRequest.OpCase.ALLOC_CHUNK) {
      return defaultReplication;
    }
    InodeRecord inode = tx.get(MetaTables.INODES, request.getAllocChunk().getIno());
    long root = inode == null ? 0 : inode.getSubvolumeRoot();
    int r = root == 0 ? 0 : replicationOfVolume(tx, root);
    return r == 0 ? defaultReplication : r;
  }

  /** A subvolume's own replication (0: none set, or the root volume). */
  public static int replicationOfVolume(Tx tx, long volumeRoot) {
    int[] r = {0};
    tx.scan(MetaTables.SUBVOLUMES, new byte[0], null, (k, v) -> {
      if (v.getRootIno() == volumeRoot) {
        r[0] = v.getReplication();
        return false;
      }
      return true;
    });
    return r[0];
  }

  /** Every replication some volume asks for (the default included): the group former forms groups of these. */
  public List<Integer> wanted(Tx tx) {
    List<Integer> out = new ArrayList<>();
    out.add(defaultReplication);
    tx.scan(MetaTables.SUBVOLUMES, new byte[0], null, (k, v) -> {
      SubvolumeRecord s = v;
      if (s.getReplication() != 0 && !out.contains(s.getReplication())) {
        out.add(s.getReplication());
      }
      return true;
    });
    return out;
  }
}
