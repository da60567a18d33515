package io.shoalfs.meta.store;

import io.shoalfs.common.store.RocksStore;
import io.shoalfs.common.store.TableDef;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiPredicate;
import org.rocksdb.RocksDBException;

/**
 * Staged writes over the committed state, until the state machine commits them in one batch together with the
 * applied index. Reads (point reads and scans) see the staged writes of this Tx and of its parents on top of
 * the committed state.
 *
 * <p>Group commit stacks them: the entry's batch is one root Tx; each call in it runs in a {@link #child}, which
 * is {@link #mergeIntoParent merged} when the call succeeds and dropped when it fails, so a failed call's partial
 * writes vanish while later calls still see the effects of earlier successful ones.
 */
public final class Tx {
  private final RocksStore rocks;
  private final Tx parent;
  /**
   * Snapshot reads: non-zero makes this a read-only view of volume {@code asOfVolume} as of snapshot seq
   * {@code asOfSeq} (see {@link Versions}); 0 is the live state.
   */
  final long asOfVolume;
  final long asOfSeq;
  /**
   * table -> encoded key -> encoded value, or null for a delete. Sorted, so a scan over a batch that already
   * holds hundreds of calls' writes looks only at the keys in its range.
   */
  private final Map<TableDef<?, ?>, TreeMap<byte[], byte[]>> staged = new LinkedHashMap<>();

  Tx(RocksStore rocks) {
    this(rocks, null);
  }

  private Tx(RocksStore rocks, Tx parent) {
    this(rocks, parent, 0, 0);
  }

  private Tx(RocksStore rocks, Tx parent, long asOfVolume, long asOfSeq) {
    this.rocks = rocks;
    this.parent = parent;
    this.asOfVolume = asOfVolume;
    this.asOfSeq = asOfSeq;
  }

  /** A Tx whose reads see this one's staged writes and whose own writes stay apart until merged. */
  public Tx child() {
    return new Tx(rocks, this, asOfVolume, asOfSeq);
  }

  /**
   * A read-only view of this state as of snapshot {@code seq} of the volume rooted at {@code volumeRoot}: the
   * versioned tables (inodes, dentries, chunks, xattrs) answer what they held when the snapshot was taken;
   * every other table reads live. Writes to it fail (callers answer EROFS before they get here).
   */
  public Tx asOf(long volumeRoot, long seq) {
    if (seq <= 0) {
      throw new IllegalArgumentException("snapshot seq must be positive: " + seq);
    }
    return new Tx(rocks, this, volumeRoot, seq);
  }

  /** Whether this is a snapshot view ({@link #asOf}). */
  public boolean isSnapshotView() {
    return asOfSeq != 0;
  }

  /** Moves this child's writes into its parent (later writes win). The child must not be used afterwards. */
  public void mergeIntoParent() {
    if (parent == null) {
      throw new IllegalStateException("not a child transaction");
    }
    for (var table : staged.entrySet()) {
      parent.writes(table.getKey()).putAll(table.getValue());
    }
    staged.clear();
  }

  private TreeMap<byte[], byte[]> writes(TableDef<?, ?> t) {
    return staged.computeIfAbsent(t, x -> new TreeMap<>(Arrays::compareUnsigned));
  }

  public <K, V> V get(TableDef<K, V> t, K key) {
    if (Versions.isVersioned(t)) {
      byte[] raw = Versions.get(this, t, t.keyCodec().encode(key));
      return raw == null ? null : t.valueCodec().decode(raw);
    }
    byte[] bk = null;
    for (Tx level = this; level != null; level = level.parent) {
      TreeMap<byte[], byte[]> writes = level.staged.get(t);
      if (writes == null) {
        continue;
      }
      if (bk == null) {
        bk = t.keyCodec().encode(key);
      }
      if (writes.containsKey(bk)) {
        byte[] v = writes.get(bk);
        return v == null ? null : t.valueCodec().decode(v);
      }
    }
    try {
      return rocks.get(t, key);
    } catch (RocksDBException e) {
      throw new StoreException("read of " + t.name() + " failed: " + e.getMessage(), e);
    }
  }

  public <K, V> void put(TableDef<K, V> t, K key, V value) {
    byte[] bk = t.keyCodec().encode(key);
    byte[] bv = t.valueCodec().encode(value);
    if (Versions.isVersioned(t)) {
      requireWritable(t);
      Versions.beforeWrite(this, t, bk, bv);
    }
    writes(t).put(bk, bv);
  }

  public <K, V> void delete(TableDef<K, V> t, K key) {
    byte[] bk = t.keyCodec().encode(key);
    if (Versions.isVersioned(t)) {
      requireWritable(t);
      Versions.beforeWrite(this, t, bk, null);
    }
    writes(t).put(bk, null);
  }

  private void requireWritable(TableDef<?, ?> t) {
    if (asOfSeq != 0) {
      throw new IllegalStateException("write to " + t.name() + " in a snapshot view");
    }
  }

  /** The current value of {@code bk} in the physical table, staged writes on top; null if absent. */
  byte[] rawGet(TableDef<?, ?> t, byte[] bk) {
    for (Tx level = this; level != null; level = level.parent) {
      TreeMap<byte[], byte[]> writes = level.staged.get(t);
      if (writes != null && writes.containsKey(bk)) {
        return writes.get(bk);
      }
    }
    try {
      return rocks.get(Versions.raw(t), bk);
    } catch (RocksDBException e) {
      throw new StoreException("read of " + t.name() + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Entries with {@code prefix}, from {@code from} (null = the prefix), in key order, until the visitor says
   * stop: the committed state with every level's staged writes on top.
   */
  public <K, V> void scan(TableDef<K, V> t, byte[] prefix, byte[] from, BiPredicate<K, V> visitor) {
    if (Versions.isVersioned(t) && Versions.needsView(this, prefix)) {
      Versions.scan(this, t, prefix, from, (k, v) -> visitor.test(t.keyCodec().decode(k), t.valueCodec().decode(v)));
      return;
    }
    rawScan(t, prefix, from, (k, v) -> visitor.test(t.keyCodec().decode(k), t.valueCodec().decode(v)));
  }

  /** {@link #scan} over the physical table with encoded keys and values (staged writes on top). */
  void rawScan(TableDef<?, ?> t, byte[] prefix, byte[] from, BiPredicate<byte[], byte[]> visitor) {
    byte[] start = from != null ? from : prefix;
    TreeMap<byte[], byte[]> overlay = stagedRange(t, prefix, start);
    try {
      if (overlay == null) {
        rocks.scanRaw(t, prefix, from, visitor);
        return;
      }
      Iterator<Map.Entry<byte[], byte[]>> pending = overlay.entrySet().iterator();
      Map.Entry<byte[], byte[]>[] next = nextOf(pending);
      boolean[] stopped = {false};
      rocks.scanRaw(t, prefix, from, (k, v) -> {
        while (next[0] != null && Arrays.compareUnsigned(next[0].getKey(), k) < 0) {
          if (!emit(t, next[0], visitor)) {
            stopped[0] = true;
            return false;
          }
          next[0] = nextOf(pending)[0];
        }
        if (next[0] != null && Arrays.equals(next[0].getKey(), k)) {
          boolean go = emit(t, next[0], visitor);
          next[0] = nextOf(pending)[0];
          stopped[0] = !go;
          return go;
        }
        boolean go = visitor.test(k, v);
        stopped[0] = !go;
        return go;
      });
      while (!stopped[0] && next[0] != null) {
        if (!emit(t, next[0], visitor)) {
          return;
        }
        next[0] = nextOf(pending)[0];
      }
    } catch (RocksDBException e) {
      throw new StoreException("scan of " + t.name() + " failed: " + e.getMessage(), e);
    }
  }

  /** A staged delete (null value) is skipped; it continues the scan. */
  private static boolean emit(TableDef<?, ?> t, Map.Entry<byte[], byte[]> e, BiPredicate<byte[], byte[]> visitor) {
    return e.getValue() == null || visitor.test(e.getKey(), e.getValue());
  }

  @SuppressWarnings("unchecked")
  private static Map.Entry<byte[], byte[]>[] nextOf(Iterator<Map.Entry<byte[], byte[]>> it) {
    return new Map.Entry[] {it.hasNext() ? it.next() : null};
  }

  /** Staged writes of every level in [start, end of prefix), innermost winning; null if there are none. */
  private TreeMap<byte[], byte[]> stagedRange(TableDef<?, ?> t, byte[] prefix, byte[] start) {
    TreeMap<byte[], byte[]> out = null;
    for (Tx level = this; level != null; level = level.parent) {
      TreeMap<byte[], byte[]> writes = level.staged.get(t);
      if (writes == null) {
        continue;
      }
      for (var w : writes.tailMap(start, true).entrySet()) {
        byte[] k = w.getKey();
        if (!startsWith(k, prefix)) {
          break;
        }
        if (out == null) {
          out = new TreeMap<>(Arrays::compareUnsigned);
        }
        out.putIfAbsent(k, w.getValue());
      }
    }
    return out;
  }

  private static boolean startsWith(byte[] k, byte[] prefix) {
    return k.length >= prefix.length && Arrays.equals(k, 0, prefix.length, prefix, 0, prefix.length);
  }

  /**
   * Change tracking (the watch stream and lock grants): visits every key of {@code t} this Tx writes, in
   * key order, with the staged value or null for a delete.
   */
  public <K, V> void forEachStaged(TableDef<K, V> t, java.util.function.BiConsumer<K, V> visitor) {
    TreeMap<byte[], byte[]> writes = staged.get(t);
    if (writes == null) {
      return;
    }
    for (var w : writes.entrySet()) {
      visitor.accept(t.keyCodec().decode(w.getKey()), w.getValue() == null ? null
          : t.valueCodec().decode(w.getValue()));
    }
  }

  /** The committed value, ignoring what this Tx staged: the state before the operation. */
  public <K, V> V getCommitted(TableDef<K, V> t, K key) {
    try {
      return rocks.get(t, key);
    } catch (RocksDBException e) {
      throw new StoreException("read of " + t.name() + " failed: " + e.getMessage(), e);
    }
  }

  public boolean isEmpty() {
    return staged.isEmpty();
  }

  void writeTo(RocksStore.Batch batch) throws RocksDBException {
    if (parent != null) {
      throw new IllegalStateException("only a root transaction is committed; merge children first");
    }
    for (var table : staged.entrySet()) {
      for (var w : table.getValue().entrySet()) {
        byte[] key = w.getKey();
        if (w.getValue() == null) {
          batch.deleteRaw(table.getKey(), key);
        } else {
          batch.putRaw(table.getKey(), key, w.getValue());
        }
      }
    }
  }
}
