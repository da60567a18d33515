package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.HistoryRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.SnapshotRecord;
import io.shoalfs.proto.records.SpaceRecord;
import io.shoalfs.proto.records.VolumeVersionsRecord;
import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.BiPredicate;

/**
 * Snapshots and clones in ONE layer under {@link Tx}, so the namespace operations stay as they are (docs
 * decision 0003). The versioned tables are inodes, dentries, chunks and xattrs; every key of them starts with a
 * u64 inode number.
 *
 * <p><b>Snapshots.</b> A volume has a latest snapshot seq L (snap_volumes; 0 = never snapshotted). A record written
 * now is born at L + 1 (the born table; absent = 1). Creating snapshot L + 1 is one small record: O(1). When a
 * live record born at b is overwritten or deleted and some live snapshot s >= b exists, the old value first moves
 * to history under (volume, table, key, died = L + 1). A read as of S: the live record if born <= S, else the
 * history entry with born <= S < died (the first entry at or after (volume, table, key, S + 1)).
 *
 * <p><b>Clones.</b> A clone has its own inode-number space: bits 52-61 of each of its inode numbers (the ids the
 * log hands out never use them, see IdLayout). Its inode x corresponds to the source's inode with the same low
 * bits. A key of the clone it has not written falls through to the source's key as of the clone's seq, with the
 * inode numbers in the value (dentry targets, parent, subvolume root) moved into the clone's space; a key it
 * deleted has a whiteout. So the clone's records say subvolume_root = the clone's root, and locks, opens and
 * watches (keyed by inode number) never mix with the source's.
 *
 * <p><b>Chunks.</b> A chunk id is referenced by its live record and by history entries and clones' copies that
 * name the same id; chunk_refs counts the references beyond one. A chunk whose last reference goes is written to
 * orphan_chunks (for the garbage collector), never before: {@link #chunkReferenced} is the one question the GC
 * may ask. {@link #chunkShared} tells alloc_chunk when a write must go to a new chunk (copy-on-write).
 */
public final class Versions {
  /** Bits 52-61 of an inode number: the clone space (0 = the shared space of every non-clone volume). */
  public static final int SPACE_SHIFT = 52;
  public static final int SPACE_BITS = 10;
  public static final long SPACE_MASK = ((1L << SPACE_BITS) - 1) << SPACE_SHIFT;
  /** Most clone spaces ever created (space ids are not reused). */
  public static final int MAX_SPACES = (1 << SPACE_BITS) - 1;
  /** system key present once any snapshot or clone exists: before that every write takes the plain path. */
  public static final String ACTIVE_KEY = "versions_active";
  /** Bound of clone-of-clone chains (each clone's source space is older, so chains end anyway). */
  private static final int MAX_CHAIN = MAX_SPACES + 1;

  private static final byte T_INODES = 1;
  private static final byte T_DENTRIES = 2;
  private static final byte T_CHUNKS = 3;
  private static final byte T_XATTRS = 4;

  private static final Map<String, TableDef<byte[], byte[]>> RAW = Map.of(
      MetaTables.INODES.name(), rawDef(MetaTables.INODES),
      MetaTables.DENTRIES.name(), rawDef(MetaTables.DENTRIES),
      MetaTables.CHUNKS.name(), rawDef(MetaTables.CHUNKS),
      MetaTables.XATTRS.name(), rawDef(MetaTables.XATTRS));

  private Versions() {}

  private static TableDef<byte[], byte[]> rawDef(TableDef<?, ?> t) {
    return new TableDef<>(t.name(), Codec.BYTES, Codec.BYTES);
  }

  static TableDef<byte[], byte[]> raw(TableDef<?, ?> t) {
    TableDef<byte[], byte[]> r = RAW.get(t.name());
    return r != null ? r : rawDef(t);
  }

  public static boolean isVersioned(TableDef<?, ?> t) {
    return t == MetaTables.INODES || t == MetaTables.DENTRIES || t == MetaTables.CHUNKS || t == MetaTables.XATTRS;
  }

  private static byte tableId(TableDef<?, ?> t) {
    if (t == MetaTables.INODES) {
      return T_INODES;
    } else if (t == MetaTables.DENTRIES) {
      return T_DENTRIES;
    } else if (t == MetaTables.CHUNKS) {
      return T_CHUNKS;
    } else if (t == MetaTables.XATTRS) {
      return T_XATTRS;
    }
    throw new IllegalArgumentException("not a versioned table: " + t.name());
  }

  /** Keys of variable length (names): their history keys end the key with a NUL (names never hold one). */
  private static boolean variable(TableDef<?, ?> t) {
    return t == MetaTables.DENTRIES || t == MetaTables.XATTRS;
  }

  // ---- inode-number spaces ----

  public static int spaceOf(long ino) {
    return (int) ((ino & SPACE_MASK) >>> SPACE_SHIFT);
  }

  /** {@code ino} moved into {@code space} (same low bits). */
  public static long rebase(long ino, int space) {
    return (ino & ~SPACE_MASK) | ((long) space << SPACE_SHIFT);
  }

  private static long inoOf(byte[] bk) {
    return bk.length < 8 ? 0 : ByteBuffer.wrap(bk, 0, 8).getLong();
  }

  private static byte[] rebaseKey(byte[] bk, int space) {
    byte[] out = bk.clone();
    ByteBuffer.wrap(out, 0, 8).putLong(rebase(inoOf(bk), space));
    return out;
  }

  /** Whether a scan over {@code prefix} needs this layer (a snapshot view, or a clone's key space). */
  static boolean needsView(Tx tx, byte[] prefix) {
    return prefix.length >= 8 && (tx.asOfSeq != 0 || spaceOf(inoOf(prefix)) != 0);
  }

  // ---- reads ----

  static byte[] get(Tx tx, TableDef<?, ?> t, byte[] bk) {
    if (tx.asOfSeq != 0) {
      byte[] v = readAsOf(tx, t, bk, tx.asOfVolume, tx.asOfSeq, 0);
      // A snapshot view shows its own volume only: an inode of another volume is not in it.
      return v != null && t == MetaTables.INODES && volumeOf(tx, t, 0, v, null) != tx.asOfVolume ? null : v;
    }
    byte[] live = tx.rawGet(t, bk);
    if (live != null || bk.length < 8) {
      return live;
    }
    int space = spaceOf(inoOf(bk));
    return space == 0 ? null : fallThrough(tx, t, bk, space, 0, 0);
  }

  /** The value of {@code bk} as of seq {@code s} of volume {@code vol}; null if absent then. */
  private static byte[] readAsOf(Tx tx, TableDef<?, ?> t, byte[] bk, long vol, long s, int depth) {
    byte[] live = tx.rawGet(t, bk);
    if (live != null && bornOf(tx, t, bk) <= s) {
      return live;
    }
    byte[] hist = historyAt(tx, vol, t, bk, s);
    if (hist != null) {
      return hist;
    }
    int space = spaceOf(inoOf(bk));
    return space == 0 ? null : fallThrough(tx, t, bk, space, s, depth);
  }

  /**
   * What the clone space's key {@code bk} falls through to: nothing if whited out (in the live state, or as of
   * the clone's own seq {@code s} when s > 0), else the source's key as of the clone's seq.
   */
  private static byte[] fallThrough(Tx tx, TableDef<?, ?> t, byte[] bk, int space, long s, int depth) {
    if (depth > MAX_CHAIN) {
      throw new IllegalStateException("clone chain deeper than " + MAX_CHAIN + " at space " + space);
    }
    SpaceRecord sp = tx.get(MetaTables.SPACES, (long) space);
    if (sp == null) {
      return null;
    }
    Long whiteout = tx.get(MetaTables.WHITEOUTS, whiteoutKey(space, t, bk));
    if (whiteout != null && (s == 0 || whiteout <= s)) {
      return null;
    }
    byte[] v = readAsOf(tx, t, rebaseKey(bk, sp.getSourceSpace()), sp.getSourceRoot(), sp.getAsOfSeq(), depth + 1);
    if (v == null) {
      return null;
    }
    byte[] moved = translate(t, v, sp.getSourceSpace(), space);
    // Only the source volume's inodes fall through: a number of another volume is not in the clone.
    if (t == MetaTables.INODES && volumeOf(tx, t, 0, moved, null) != sp.getCloneRoot()) {
      return null;
    }
    return moved;
  }

  /** The inode numbers inside a fallen-through value, moved from the source's space into the clone's. */
  private static byte[] translate(TableDef<?, ?> t, byte[] v, int from, int to) {
    try {
      if (t == MetaTables.INODES) {
        InodeRecord r = InodeRecord.parseFrom(v);
        return r.toBuilder().setParent(move(r.getParent(), from, to))
            .setSubvolumeRoot(move(r.getSubvolumeRoot(), from, to)).build().toByteArray();
      } else if (t == MetaTables.DENTRIES) {
        DentryRecord d = DentryRecord.parseFrom(v);
        return d.toBuilder().setIno(move(d.getIno(), from, to)).build().toByteArray();
      }
      return v;
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt record in " + t.name() + ": " + e.getMessage(), e);
    }
  }

  private static long move(long ino, int from, int to) {
    return ino != 0 && spaceOf(ino) == from ? rebase(ino, to) : ino;
  }

  private static long bornOf(Tx tx, TableDef<?, ?> t, byte[] bk) {
    Long b = tx.get(MetaTables.BORN, bornKey(t, bk));
    return b == null ? 1 : b;
  }

  private static byte[] historyAt(Tx tx, long vol, TableDef<?, ?> t, byte[] bk, long s) {
    byte[] prefix = historyPrefix(vol, t, bk, true);
    byte[] from = ByteBuffer.allocate(prefix.length + 8).put(prefix).putLong(s + 1).array();
    byte[][] found = {null};
    tx.scan(MetaTables.HISTORY, prefix, from, (k, h) -> {
      if (k.length == prefix.length + 8 && h.getBorn() <= s) {
        found[0] = h.getValue().toByteArray();
      }
      return false; // the first entry dying after s is the only candidate: intervals of one key are disjoint
    });
    return found[0];
  }

  /**
   * Entries each source (live table, history, the clone's source) gives per window of a merged scan. Above the
   * number of history entries one key can have (one per live snapshot, at most {@code MAX_SNAPSHOTS} = 1024), so
   * every window moves forward.
   */
  static final int WINDOW = 4096;

  /**
   * Scan of a versioned table through this layer: the merged view, in key order, one window at a time (so a page
   * of a big directory of a snapshot or a clone costs about a window, not the whole directory).
   */
  static void scan(Tx tx, TableDef<?, ?> t, byte[] prefix, byte[] from, BiPredicate<byte[], byte[]> visitor) {
    byte[] start = from != null ? from : prefix;
    while (true) {
      Window w = collect(tx, t, prefix, start, tx.asOfVolume, tx.asOfSeq, 0);
      for (var e : w.entries.entrySet()) {
        if (!visitor.test(e.getKey(), e.getValue())) {
          return;
        }
      }
      if (w.bound == null) {
        return;
      }
      if (Arrays.compareUnsigned(w.bound, start) <= 0) {
        throw new IllegalStateException("merged scan of " + t.name() + " did not move past its start");
      }
      start = w.bound;
    }
  }

  /** Merged entries in [start, bound); bound null: to the end of the prefix. */
  private record Window(TreeMap<byte[], byte[]> entries, byte[] bound) {}

  private static byte[] successor(byte[] k) {
    return Arrays.copyOf(k, k.length + 1);
  }

  private static byte[] min(byte[] a, byte[] b) {
    if (a == null) {
      return b;
    }
    if (b == null) {
      return a;
    }
    return Arrays.compareUnsigned(a, b) <= 0 ? a : b;
  }

  /**
   * The keys from {@code start} as seen live (s = 0) or as of seq s of volume vol, with clone fall-through, as far
   * as every source has been read completely (the window's bound).
   */
  private static Window collect(Tx tx, TableDef<?, ?> t, byte[] prefix, byte[] start, long vol, long s, int depth) {
    if (depth > MAX_CHAIN) {
      throw new IllegalStateException("clone chain deeper than " + MAX_CHAIN);
    }
    TreeMap<byte[], byte[]> out = new TreeMap<>(Arrays::compareUnsigned);
    int[] n = {0};
    byte[][] lastLive = {null};
    tx.rawScan(t, prefix, start, (k, v) -> {
      if (n[0] == WINDOW) {
        return false;
      }
      n[0]++;
      lastLive[0] = k;
      if (s == 0 || bornOf(tx, t, k) <= s) {
        out.put(k, v);
      }
      return true;
    });
    // Everything up to the last live key read is complete if the scan stopped at the window.
    byte[] bound = n[0] == WINDOW ? successor(lastLive[0]) : null;
    if (s != 0) {
      byte[] hp = historyPrefix(vol, t, prefix, false);
      byte[] hs = historyPrefix(vol, t, start, false);
      boolean var = variable(t);
      int[] h = {0};
      byte[][] lastOrig = {null};
      tx.scan(MetaTables.HISTORY, hp, hs, (k, rec) -> {
        if (h[0] == WINDOW) {
          return false;
        }
        h[0]++;
        int keyLen = k.length - hp.length + prefix.length - 8 - (var ? 1 : 0);
        if (keyLen < prefix.length) {
          return true;
        }
        byte[] orig = new byte[keyLen];
        System.arraycopy(prefix, 0, orig, 0, prefix.length);
        System.arraycopy(k, hp.length, orig, prefix.length, keyLen - prefix.length);
        lastOrig[0] = orig;
        long died = ByteBuffer.wrap(k, k.length - 8, 8).getLong();
        if (Arrays.compareUnsigned(orig, start) >= 0 && died > s && rec.getBorn() <= s && !out.containsKey(orig)) {
          out.put(orig, rec.getValue().toByteArray());
        }
        return true;
      });
      if (h[0] == WINDOW) {
        bound = min(bound, lastOrig[0]); // that key may have later entries: it is not complete
      }
    }
    int space = spaceOf(inoOf(prefix));
    if (space != 0) {
      SpaceRecord sp = tx.get(MetaTables.SPACES, (long) space);
      if (sp != null) {
        int src = sp.getSourceSpace();
        Window under = collect(tx, t, rebaseKey(prefix, src), rebaseKey(start, src), sp.getSourceRoot(),
            sp.getAsOfSeq(), depth + 1);
        if (under.bound != null) {
          bound = min(bound, rebaseKey(under.bound, space));
        }
        byte[] limit = bound;
        Set<ByteString> hidden = new HashSet<>();
        byte[] wp = whiteoutKey(space, t, prefix);
        byte[] ws = whiteoutKey(space, t, start);
        tx.scan(MetaTables.WHITEOUTS, wp, ws, (k, born) -> {
          byte[] key = Arrays.copyOfRange(k, wp.length - prefix.length, k.length);
          if (limit != null && Arrays.compareUnsigned(key, limit) >= 0) {
            return false;
          }
          if (s == 0 || born <= s) {
            hidden.add(ByteString.copyFrom(key));
          }
          return true;
        });
        for (var e : under.entries.entrySet()) {
          byte[] k = rebaseKey(e.getKey(), space);
          // The clone's own records win; a key it had not written (or not yet, as of s) falls through.
          if (!out.containsKey(k) && !hidden.contains(ByteString.copyFrom(k))) {
            out.put(k, translate(t, e.getValue(), src, space));
          }
        }
      }
    }
    if (bound != null) {
      out.tailMap(bound, true).clear();
    }
    return new Window(out, bound);
  }

  // ---- writes ----

  private static boolean active(Tx tx) {
    return tx.get(MetaTables.SYSTEM, ACTIVE_KEY) != null;
  }

  /** Marks that snapshots or clones exist (set by snapshot create and clone). */
  public static void activate(Tx tx) {
    tx.put(MetaTables.SYSTEM, ACTIVE_KEY, new byte[] {1});
  }

  /**
   * Called by {@link Tx#put}/{@link Tx#delete} of a versioned table before the write is staged: keeps the old
   * value for snapshots that see it, stamps the new one's born seq, writes whiteouts in clones, and keeps chunk
   * references right (orphaning a chunk only when its last reference goes).
   */
  static void beforeWrite(Tx tx, TableDef<?, ?> t, byte[] bk, byte[] newValue) {
    boolean chunks = t == MetaTables.CHUNKS;
    byte[] old = tx.rawGet(t, bk);
    if (!active(tx)) {
      if (chunks && old != null) {
        long oldId = chunkId(old);
        if (newValue == null || chunkId(newValue) != oldId) {
          release(tx, old, bk);
        }
      }
      return;
    }
    long ino = inoOf(bk);
    int space = spaceOf(ino);
    byte[] ft = null;
    if (space != 0 && (old == null || newValue == null)) {
      ft = fallThrough(tx, t, bk, space, 0, 0);
    }
    long vol = volumeOf(tx, t, ino, old != null ? old : ft, newValue);
    VolumeVersionsRecord vv = vol == 0 ? null : tx.get(MetaTables.SNAP_VOLUMES, vol);
    long latest = vv == null ? 0 : vv.getLatestSeq();
    boolean preserved = false;
    if (old != null && vv != null) {
      long born = bornOf(tx, t, bk);
      if (neededBy(vv, born, latest + 1)) {
        byte[] hk = historyKey(vol, t, bk, latest + 1);
        tx.put(MetaTables.HISTORY, hk, HistoryRecord.newBuilder().setBorn(born).setValue(ByteString.copyFrom(old))
            .build());
        preserved = true;
      }
    }
    byte[] bornKey = bornKey(t, bk);
    if (newValue == null) {
      if (latest > 0) {
        tx.delete(MetaTables.BORN, bornKey);
      }
      if (ft != null) {
        tx.put(MetaTables.WHITEOUTS, whiteoutKey(space, t, bk), latest + 1);
      }
    } else if (latest > 0) {
      tx.put(MetaTables.BORN, bornKey, latest + 1);
    }
    if (chunks) {
      if (old != null) {
        long oldId = chunkId(old);
        if (newValue != null && chunkId(newValue) == oldId) {
          if (preserved) {
            addRef(tx, oldId); // history and live both name it now
          }
        } else if (!preserved) {
          release(tx, old, bk);
        }
      } else if (ft != null && newValue != null && chunkId(newValue) == chunkId(ft)) {
        addRef(tx, chunkId(ft)); // the clone's own copy of the record names the source's chunk
      }
    }
  }

  /** Whether some live snapshot of the volume sees a version that lived in [born, died). */
  static boolean neededBy(VolumeVersionsRecord vv, long born, long died) {
    for (SnapshotRecord s : vv.getSnapshotsList()) {
      if (s.getSeq() >= born && s.getSeq() < died) {
        return true;
      }
    }
    return false;
  }

  /** The volume (root inode) a versioned key belongs to; 0 if its inode is gone. */
  private static long volumeOf(Tx tx, TableDef<?, ?> t, long ino, byte[] old, byte[] newValue) {
    try {
      if (t == MetaTables.INODES) {
        byte[] any = newValue != null ? newValue : old;
        if (any == null) {
          return 0;
        }
        return InodeRecord.parseFrom(any).getSubvolumeRoot();
      }
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt inode " + ino + ": " + e.getMessage(), e);
    }
    InodeRecord r = tx.get(MetaTables.INODES, ino);
    return r == null ? 0 : r.getSubvolumeRoot();
  }

  // ---- chunk references ----

  private static long chunkId(byte[] chunkRecord) {
    try {
      return ChunkRecord.parseFrom(chunkRecord).getChunkId();
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt chunk record: " + e.getMessage(), e);
    }
  }

  private static void addRef(Tx tx, long chunkId) {
    if (chunkId == 0) {
      return;
    }
    Long extra = tx.get(MetaTables.CHUNK_REFS, chunkId);
    tx.put(MetaTables.CHUNK_REFS, chunkId, (extra == null ? 0 : extra) + 1);
  }

  /**
   * One reference to the chunk of {@code record} (at chunk key {@code ownerKey}) went: the chunk is orphaned if it
   * was the last; the orphan row names the key it came from, which the collector checks once more.
   */
  static void release(Tx tx, byte[] record, byte[] ownerKey) {
    ChunkRecord c;
    try {
      c = ChunkRecord.parseFrom(record);
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("corrupt chunk record: " + e.getMessage(), e);
    }
    long id = c.getChunkId();
    if (id == 0) {
      return;
    }
    Long extra = tx.get(MetaTables.CHUNK_REFS, id);
    if (extra != null && extra > 0) {
      if (extra == 1) {
        tx.delete(MetaTables.CHUNK_REFS, id);
      } else {
        tx.put(MetaTables.CHUNK_REFS, id, extra - 1);
      }
    } else {
      ChunkKey owner = ChunkKey.CODEC.decode(ownerKey);
      tx.put(MetaTables.ORPHAN_CHUNKS, id, c.toBuilder().setOwnerIno(owner.ino()).setOwnerIndex(owner.index()).build());
    }
  }

  /**
   * THE question for the garbage collector: is chunk {@code chunkId} still referenced by a file, a snapshot or a
   * clone? True while any reference is counted; a chunk in orphan_chunks was unreferenced when it was put there,
   * and nothing hands out an orphaned id again.
   */
  public static boolean chunkReferenced(Tx tx, long chunkId) {
    return tx.get(MetaTables.ORPHAN_CHUNKS, chunkId) == null;
  }

  /**
   * Whether a write to the chunk record at {@code key} (current value {@code c}, as read through this layer)
   * must go to a new chunk: the record falls through to a clone's source, or a snapshot may see this chunk (a
   * live snapshot sees the record, or another record names the same chunk).
   */
  public static boolean chunkShared(Tx tx, ChunkKey key, ChunkRecord c) {
    if (c == null || c.getChunkId() == 0 || !active(tx)) {
      return false;
    }
    byte[] bk = ChunkKey.CODEC.encode(key);
    if (tx.rawGet(MetaTables.CHUNKS, bk) == null) {
      return true; // a clone's fall-through record: the chunk belongs to the source
    }
    Long extra = tx.get(MetaTables.CHUNK_REFS, c.getChunkId());
    if (extra != null && extra > 0) {
      return true;
    }
    InodeRecord inode = tx.get(MetaTables.INODES, key.ino());
    VolumeVersionsRecord vv = inode == null ? null : tx.get(MetaTables.SNAP_VOLUMES, inode.getSubvolumeRoot());
    return vv != null && neededBy(vv, bornOf(tx, MetaTables.CHUNKS, bk), vv.getLatestSeq() + 1);
  }

  // ---- history maintenance (snapshot delete) ----

  /**
   * Examines up to {@code limit} history entries of volume {@code vol} from {@code from} (a history key; null =
   * the start) and drops those no remaining snapshot sees, releasing their chunks. Returns where to go on (the key
   * after the last one examined), or null when it reached the end.
   */
  public static byte[] purge(Tx tx, long vol, VolumeVersionsRecord vv, int limit, byte[] from) {
    byte[] prefix = ByteBuffer.allocate(8).putLong(vol).array();
    java.util.List<byte[]> drop = new java.util.ArrayList<>();
    java.util.List<HistoryRecord> dropped = new java.util.ArrayList<>();
    int[] seen = {0};
    byte[][] last = {null};
    tx.scan(MetaTables.HISTORY, prefix, from, (k, h) -> {
      if (seen[0] == limit) {
        last[0] = k; // one more exists: go on from here next time
        return false;
      }
      seen[0]++;
      long died = ByteBuffer.wrap(k, k.length - 8, 8).getLong();
      if (vv == null || !neededBy(vv, h.getBorn(), died)) {
        drop.add(k);
        dropped.add(h);
      }
      return true;
    });
    for (int i = 0; i < drop.size(); i++) {
      tx.delete(MetaTables.HISTORY, drop.get(i));
      if (drop.get(i)[8] == T_CHUNKS) {
        byte[] hk = drop.get(i);
        release(tx, dropped.get(i).getValue().toByteArray(), java.util.Arrays.copyOfRange(hk, 9, hk.length - 8));
      }
    }
    return last[0];
  }

  /** Removes every whiteout of clone space {@code space} (the clone is being deleted). */
  public static void dropWhiteouts(Tx tx, int space) {
    byte[] prefix = ByteBuffer.allocate(8).putLong(space).array();
    java.util.List<byte[]> keys = new java.util.ArrayList<>();
    tx.scan(MetaTables.WHITEOUTS, prefix, null, (k, v) -> keys.add(k));
    for (byte[] k : keys) {
      tx.delete(MetaTables.WHITEOUTS, k);
    }
  }

  // ---- keys ----

  private static byte[] bornKey(TableDef<?, ?> t, byte[] bk) {
    return ByteBuffer.allocate(1 + bk.length).put(tableId(t)).put(bk).array();
  }

  private static byte[] whiteoutKey(int space, TableDef<?, ?> t, byte[] bk) {
    return ByteBuffer.allocate(9 + bk.length).putLong(space).put(tableId(t)).put(bk).array();
  }

  /** volume ++ table ++ key, with the NUL terminator of variable keys when {@code whole} (an exact key). */
  private static byte[] historyPrefix(long vol, TableDef<?, ?> t, byte[] bk, boolean whole) {
    boolean term = whole && variable(t);
    ByteBuffer b = ByteBuffer.allocate(9 + bk.length + (term ? 1 : 0)).putLong(vol).put(tableId(t)).put(bk);
    if (term) {
      b.put((byte) 0);
    }
    return b.array();
  }

  private static byte[] historyKey(long vol, TableDef<?, ?> t, byte[] bk, long died) {
    byte[] p = historyPrefix(vol, t, bk, true);
    return ByteBuffer.allocate(p.length + 8).put(p).putLong(died).array();
  }
}
