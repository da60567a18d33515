package io.shoalfs.common.store;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiPredicate;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteBatch;
import org.rocksdb.WriteOptions;

/**
 * A RocksDB database opened with a fixed set of typed tables (column families). Owns every native handle it
 * creates and frees them in {@link #close()}.
 */
public final class RocksStore implements AutoCloseable {
  static {
    RocksDB.loadLibrary();
  }

  private final Path dir;
  private final DBOptions dbOptions;
  private final ColumnFamilyOptions cfOptions;
  private final RocksDB db;
  private final List<ColumnFamilyHandle> handles;
  private final Map<String, ColumnFamilyHandle> byName = new HashMap<>();
  private final WriteOptions writeOptions;

  /**
   * Opens (creating if needed) the database at {@code dir} with the given tables.
   *
   * @param disableWal true where an outer log (Raft) is the write-ahead log and replays what RocksDB lost
   */
  public RocksStore(Path dir, List<TableDef<?, ?>> tables, boolean disableWal) throws RocksDBException {
    this(dir, tables, disableWal, new ColumnFamilyOptions());
  }

  public RocksStore(Path dir, List<TableDef<?, ?>> tables, boolean disableWal, ColumnFamilyOptions cfOptions)
      throws RocksDBException {
    this.dir = dir;
    try {
      Files.createDirectories(dir);
    } catch (java.io.IOException e) {
      throw new RocksDBException("cannot create " + dir + ": " + e.getMessage());
    }
    this.cfOptions = cfOptions;
    this.dbOptions = new DBOptions().setCreateIfMissing(true).setCreateMissingColumnFamilies(true);
    List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
    descriptors.add(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, cfOptions));
    for (TableDef<?, ?> t : tables) {
      descriptors.add(new ColumnFamilyDescriptor(t.name().getBytes(StandardCharsets.UTF_8), cfOptions));
    }
    this.handles = new ArrayList<>();
    this.db = RocksDB.open(dbOptions, dir.toString(), descriptors, handles);
    for (int i = 0; i < tables.size(); i++) {
      byName.put(tables.get(i).name(), handles.get(i + 1));
    }
    this.writeOptions = new WriteOptions().setDisableWAL(disableWal);
  }

  public Path dir() {
    return dir;
  }

  public RocksDB db() {
    return db;
  }

  /** Names of the column families actually present in the database at {@code dir} (for schema checks). */
  public static List<String> listTables(Path dir) throws RocksDBException {
    try (var options = new org.rocksdb.Options()) {
      return RocksDB.listColumnFamilies(options, dir.toString()).stream()
          .map(b -> new String(b, StandardCharsets.UTF_8)).toList();
    }
  }

  ColumnFamilyHandle handle(TableDef<?, ?> t) {
    ColumnFamilyHandle h = byName.get(t.name());
    if (h == null) {
      throw new IllegalArgumentException("table " + t.name() + " is not part of this store");
    }
    return h;
  }

  public <K, V> V get(TableDef<K, V> t, K key) throws RocksDBException {
    byte[] v = db.get(handle(t), t.keyCodec().encode(key));
    return v == null ? null : t.valueCodec().decode(v);
  }

  /**
   * Visits entries whose key starts with {@code prefix}, from {@code from} (inclusive; null = the prefix), in
   * key order, until the visitor returns false.
   */
  public <K, V> void scan(TableDef<K, V> t, byte[] prefix, byte[] from, BiPredicate<K, V> visitor)
      throws RocksDBException {
    try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(handle(t), ro)) {
      it.seek(from != null ? from : prefix);
      while (it.isValid()) {
        byte[] k = it.key();
        if (!startsWith(k, prefix)) {
          break;
        }
        if (!visitor.test(t.keyCodec().decode(k), t.valueCodec().decode(it.value()))) {
          break;
        }
        it.next();
      }
      it.status();
    }
  }

  /** Raw-key variant of {@link #scan} for tables with composite keys. */
  public void scanRaw(TableDef<?, ?> t, byte[] prefix, byte[] from, BiPredicate<byte[], byte[]> visitor)
      throws RocksDBException {
    try (ReadOptions ro = new ReadOptions(); RocksIterator it = db.newIterator(handle(t), ro)) {
      it.seek(from != null ? from : prefix);
      while (it.isValid()) {
        byte[] k = it.key();
        if (!startsWith(k, prefix) || !visitor.test(k, it.value())) {
          break;
        }
        it.next();
      }
      it.status();
    }
  }

  public Batch batch() {
    return new Batch();
  }

  /** Flushes memtables to SST files: needed before a checkpoint when the WAL is off. */
  public void flush() throws RocksDBException {
    try (var fo = new org.rocksdb.FlushOptions().setWaitForFlush(true)) {
      db.flush(fo, handles);
    }
  }

  /**
   * Compacts the keys of table {@code t} in [from, to) down to the last level, the last level itself included,
   * so deleted keys and range tombstones are dropped from the files (and blob files whose every blob is garbage
   * are deleted). Blocks until done.
   */
  public void compactRange(TableDef<?, ?> t, byte[] from, byte[] to) throws RocksDBException {
    try (var options = new org.rocksdb.CompactRangeOptions().setBottommostLevelCompaction(
        org.rocksdb.CompactRangeOptions.BottommostLevelCompaction.kForceOptimized)) {
      db.compactRange(handle(t), from, to, options);
    }
  }

  /** Writes a consistent copy of the database to {@code target} (hard links where possible). */
  public void checkpoint(Path target) throws RocksDBException {
    flush();
    try (var cp = org.rocksdb.Checkpoint.create(db)) {
      cp.createCheckpoint(target.toString());
    }
  }

  @Override
  public void close() {
    for (ColumnFamilyHandle h : handles) {
      h.close();
    }
    db.close();
    writeOptions.close();
    dbOptions.close();
    cfOptions.close();
  }

  private static boolean startsWith(byte[] k, byte[] prefix) {
    if (k.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (k[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /** One atomic write across tables. */
  public final class Batch implements AutoCloseable {
    private final WriteBatch wb = new WriteBatch();

    public <K, V> Batch put(TableDef<K, V> t, K key, V value) throws RocksDBException {
      wb.put(handle(t), t.keyCodec().encode(key), t.valueCodec().encode(value));
      return this;
    }

    public <K, V> Batch delete(TableDef<K, V> t, K key) throws RocksDBException {
      wb.delete(handle(t), t.keyCodec().encode(key));
      return this;
    }

    public Batch putRaw(TableDef<?, ?> t, byte[] key, byte[] value) throws RocksDBException {
      wb.put(handle(t), key, value);
      return this;
    }

    public Batch deleteRaw(TableDef<?, ?> t, byte[] key) throws RocksDBException {
      wb.delete(handle(t), key);
      return this;
    }

    /** Deletes keys in [from, to). */
    public Batch deleteRange(TableDef<?, ?> t, byte[] from, byte[] to) throws RocksDBException {
      wb.deleteRange(handle(t), from, to);
      return this;
    }

    public int count() {
      return wb.count();
    }

    public void commit() throws RocksDBException {
      db.write(writeOptions, wb);
    }

    /** Commits with an fsync of RocksDB's WAL (for stores where RocksDB's WAL is the durability). */
    public void commitSync() throws RocksDBException {
      try (WriteOptions wo = new WriteOptions().setSync(true)) {
        db.write(wo, wb);
      }
    }

    @Override
    public void close() {
      wb.close();
    }
  }
}
