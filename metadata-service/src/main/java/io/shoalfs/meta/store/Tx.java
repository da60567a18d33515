package io.shoalfs.meta.store;

import io.shoalfs.common.store.RocksStore;
import io.shoalfs.common.store.TableDef;
import java.nio.ByteBuffer;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiPredicate;
import org.rocksdb.RocksDBException;

/**
 * The writes of one operation, staged until the state machine commits them in one batch together with the
 * applied index. Point reads see the staged writes (an operation may read what it wrote, e.g. a rename within
 * one directory); scans see only the committed state, which no operation here needs otherwise.
 */
public final class Tx {
  private final RocksStore rocks;
  /** table -> encoded key -> encoded value, or null for a delete. Insertion-ordered for a stable batch. */
  private final Map<TableDef<?, ?>, Map<ByteBuffer, byte[]>> staged = new LinkedHashMap<>();

  Tx(RocksStore rocks) {
    this.rocks = rocks;
  }

  public <K, V> V get(TableDef<K, V> t, K key) {
    byte[] k = t.keyCodec().encode(key);
    Map<ByteBuffer, byte[]> writes = staged.get(t);
    if (writes != null) {
      ByteBuffer bk = ByteBuffer.wrap(k);
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
    staged.computeIfAbsent(t, x -> new LinkedHashMap<>())
        .put(ByteBuffer.wrap(t.keyCodec().encode(key)), t.valueCodec().encode(value));
  }

  public <K, V> void delete(TableDef<K, V> t, K key) {
    staged.computeIfAbsent(t, x -> new LinkedHashMap<>()).put(ByteBuffer.wrap(t.keyCodec().encode(key)), null);
  }

  /** Committed entries with {@code prefix}, from {@code from} (null = the prefix), until the visitor says stop. */
  public <K, V> void scan(TableDef<K, V> t, byte[] prefix, byte[] from, BiPredicate<K, V> visitor) {
    try {
      rocks.scan(t, prefix, from, visitor);
    } catch (RocksDBException e) {
      throw new StoreException("scan of " + t.name() + " failed: " + e.getMessage(), e);
    }
  }

  /**
   * Change tracking (the watch stream and lock grants): visits every key of {@code t} this Tx writes, in
   * staging order, with the staged value or null for a delete.
   */
  public <K, V> void forEachStaged(TableDef<K, V> t, java.util.function.BiConsumer<K, V> visitor) {
    Map<ByteBuffer, byte[]> writes = staged.get(t);
    if (writes == null) {
      return;
    }
    for (var w : writes.entrySet()) {
      visitor.accept(t.keyCodec().decode(toArray(w.getKey())), w.getValue() == null ? null
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
    for (var table : staged.entrySet()) {
      for (var w : table.getValue().entrySet()) {
        byte[] key = toArray(w.getKey());
        if (w.getValue() == null) {
          batch.deleteRaw(table.getKey(), key);
        } else {
          batch.putRaw(table.getKey(), key, w.getValue());
        }
      }
    }
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }
}
