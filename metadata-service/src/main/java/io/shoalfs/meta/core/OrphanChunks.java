package io.shoalfs.meta.core;

import io.shoalfs.common.store.Codec;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.ReleaseOrphansRequest;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.DaemonRecord;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import io.shoalfs.proto.meta.StorageGroup;
import java.util.Set;
import java.util.function.Predicate;

/**
 * Garbage collection of chunk data, the state machine's side: which chunks may be deleted from the storage
 * daemons, and the release of their orphan_chunks rows once they are.
 *
 * <p>The rules (safety first):
 * <ul>
 *   <li>A row enters orphan_chunks only when the last reference to the chunk goes: {@code Inodes.orphan} moves a
 *       chunk record there when truncate, unlink (at the last link and last close), rename over a file, hole
 *       punching or subvolume delete drops it. Only chunks that have a row are ever deleted.</li>
 *   <li>Before the leader deletes a chunk it asks {@link #isReferenced}; apply of {@code release_orphans} asks
 *       again, so a row whose chunk is referenced after all stays (and is reported).</li>
 *   <li>Invariant, checked by {@link #violations}: no chunk id is both in a {@code chunks} record and in
 *       orphan_chunks.</li>
 * </ul>
 */
public final class OrphanChunks {
  /** Most chunk ids one release_orphans entry carries. */
  public static final int MAX_RELEASE_PER_ENTRY = 1024;

  private OrphanChunks() {}

  /** One orphan chunk to delete from its storage group. */
  public record Orphan(long chunkId, String groupId) {}

  /** A round's work: orphans to delete, and the key to resume the scan after ({@code -1}: wrapped around). */
  public record Pick(List<Orphan> orphans, long resumeAfter, Map<String, StorageGroup> groups) {}

  /**
   * THE hook that decides whether a chunk may be deleted: true if anything still references chunk
   * {@code chunkId}, whose orphan row is {@code orphan}. Today a chunk has one owner, the file and index its
   * row names ({@code owner_ino}, {@code owner_index}): it is referenced if that chunk record still names it (a
   * row written while the record stayed would be a bug). Snapshots and clones: the version layer (store
   * {@code Versions}) writes the row only when the last reference (live record, snapshot history, a clone's copy)
   * went, and counts references beyond one in {@code chunk_refs}; a chunk that still has such a count is
   * referenced. Reads only {@code tx} (deterministic).
   */
  public static boolean isReferenced(Tx tx, long chunkId, ChunkRecord orphan) {
    if (tx.get(MetaTables.CHUNK_REFS, chunkId) != null) {
      return true;
    }
    if (orphan.getOwnerIno() != 0) {
      ChunkRecord owner = tx.get(MetaTables.CHUNKS, new ChunkKey(orphan.getOwnerIno(), orphan.getOwnerIndex()));
      if (owner != null && owner.getChunkId() == chunkId) {
        return true;
      }
    }
    return false;
  }

  /**
   * Up to {@code max} orphans to delete now, scanning at most {@code scanLimit} rows after {@code after}
   * (unsigned chunk id; -1 = from the start) and skipping rows whose group {@code groupReady} refuses (a
   * daemon in back-off) and rows {@link #isReferenced} keeps. Also the groups' daemon addresses.
   */
  public static Pick pick(Tx tx, long after, int scanLimit, int max, Predicate<String> groupReady) {
    List<Orphan> out = new ArrayList<>();
    long[] last = {-1};
    int[] scanned = {0};
    byte[] from = after == -1 ? null : Codec.U64.encode(after + 1);
    tx.scan(MetaTables.ORPHAN_CHUNKS, new byte[0], from, (id, row) -> {
      last[0] = id;
      scanned[0]++;
      if (groupReady.test(row.getGroupId()) && !isReferenced(tx, id, row)) {
        out.add(new Orphan(id, row.getGroupId()));
      }
      return out.size() < max && scanned[0] < scanLimit;
    });
    boolean more = out.size() >= max || scanned[0] >= scanLimit;
    return new Pick(out, more ? last[0] : -1, groups(tx));
  }

  /** Storage group id -> the group with its members' addresses (each daemon alone, and the replicated groups). */
  public static Map<String, StorageGroup> groups(Tx tx) {
    Map<String, StorageGroup> out = new HashMap<>();
    for (StorageGroup g : GetLayout.read(tx).getLayout().getGroupsList()) {
      out.put(g.getGroupId(), g);
    }
    return out;
  }

  /** Orphan rows left (diagnostics and tests), counting at most {@code limit}. */
  public static long count(Tx tx, long limit) {
    long[] n = {0};
    tx.scan(MetaTables.ORPHAN_CHUNKS, new byte[0], null, (k, v) -> ++n[0] < limit);
    return n[0];
  }

  /**
   * release_orphans (leader only): the listed chunks were deleted from their daemons, so their rows go. An id
   * without a row is skipped (a second leader may have released it already); a row whose chunk
   * {@link #isReferenced} stays. Deterministic: reads only {@code tx}.
   */
  static MetaReply release(Tx tx, WriteContext ctx, ReleaseOrphansRequest r) throws FsError {
    if (r.getChunkIdsCount() > MAX_RELEASE_PER_ENTRY) {
      throw FsError.of(Code.EINVAL, "more than %d chunks in one release", MAX_RELEASE_PER_ENTRY);
    }
    List<Long> kept = new ArrayList<>();
    for (long id : r.getChunkIdsList()) {
      ChunkRecord row = tx.get(MetaTables.ORPHAN_CHUNKS, id);
      if (row == null) {
        continue;
      }
      if (isReferenced(tx, id, row)) {
        kept.add(id);
        continue;
      }
      tx.delete(MetaTables.ORPHAN_CHUNKS, id);
    }
    MetaReply empty = Inodes.empty();
    return kept.isEmpty() ? empty : empty.toBuilder().setMessage("still referenced, kept: " + kept).build();
  }

  /**
   * Checks the GC invariant over the whole state (tests and diagnostics; O(chunks + orphans)): no chunk id in a
   * {@code chunks} record is also in orphan_chunks, and no orphan row is {@link #isReferenced}. Returns up to
   * {@code limit} descriptions of violations; empty when it holds.
   */
  public static List<String> violations(Tx tx, int limit) {
    Set<Long> live = new HashSet<>();
    tx.scan(MetaTables.CHUNKS, new byte[0], null, (k, v) -> {
      if (v.getChunkId() != 0) {
        live.add(v.getChunkId());
      }
      return true;
    });
    List<String> out = new ArrayList<>();
    tx.scan(MetaTables.ORPHAN_CHUNKS, new byte[0], null, (id, row) -> {
      if (live.contains(id)) {
        out.add("chunk " + Long.toUnsignedString(id) + " is in orphan_chunks and still in a chunks record");
      } else if (isReferenced(tx, id, row)) {
        out.add("chunk " + Long.toUnsignedString(id) + " is in orphan_chunks and still referenced");
      }
      return out.size() < limit;
    });
    return out;
  }
}
