package io.shoalfs.meta.store;

import io.shoalfs.common.store.RocksStore;
import io.shoalfs.proto.records.AppliedIndexRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.RocksDBException;

/**
 * The metadata database: the tables of {@link MetaTables} in one RocksDB with its WAL off. The Raft log is the
 * write-ahead log: what RocksDB loses in a crash (its memtables) is replayed from the log on top of the last
 * snapshot, so a database left behind by a crash is never trusted (see {@code MetaStateMachine}).
 */
public final class MetaStore implements AutoCloseable {
  private final RocksStore rocks;

  /** The database itself, for its own figures (metrics). */
  public org.rocksdb.RocksDB db() {
    return rocks.db();
  }

  private MetaStore(RocksStore rocks) {
    this.rocks = rocks;
  }

  /**
   * Memtable size per table. RocksDB's 64 MB default, times eight tables, times two memtables, is a lot of
   * native memory for small records; memtables are never the durable copy here anyway.
   */
  static final long WRITE_BUFFER_BYTES = 8L << 20;

  /** Opens (creating if missing) the database at {@code dir}. */
  public static MetaStore open(Path dir) throws IOException {
    ColumnFamilyOptions cf = new ColumnFamilyOptions().setWriteBufferSize(WRITE_BUFFER_BYTES);
    try {
      // The store owns and closes the options.
      return new MetaStore(new RocksStore(dir, MetaTables.ALL, true, cf));
    } catch (RocksDBException e) {
      cf.close();
      throw new IOException("cannot open metadata database " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Names of the column families present in the database at {@code dir}. */
  public static List<String> listTables(Path dir) throws IOException {
    try {
      return RocksStore.listTables(dir);
    } catch (RocksDBException e) {
      throw new IOException("cannot list tables of " + dir + ": " + e.getMessage(), e);
    }
  }

  public Path dir() {
    return rocks.dir();
  }

  /** A new, empty set of staged writes over the current state. */
  public Tx begin() {
    return new Tx(rocks);
  }

  /** The last applied log entry recorded in this database, or null for a database no entry reached yet. */
  public AppliedIndexRecord appliedIndex() {
    byte[] raw = new Tx(rocks).get(MetaTables.SYSTEM, MetaTables.APPLIED_INDEX.key());
    return raw == null ? null : MetaTables.APPLIED_INDEX.codec().decode(raw);
  }

  /**
   * Writes {@code tx} and, unless null, the applied index in ONE RocksDB batch: the database never holds an
   * entry's effects without its index or the index without the effects.
   */
  public void commit(Tx tx, AppliedIndexRecord applied) {
    try (RocksStore.Batch b = rocks.batch()) {
      tx.writeTo(b);
      if (applied != null) {
        b.put(MetaTables.SYSTEM, MetaTables.APPLIED_INDEX.key(), MetaTables.APPLIED_INDEX.codec().encode(applied));
      }
      b.commit();
    } catch (RocksDBException e) {
      throw new StoreException("commit failed: " + e.getMessage(), e);
    }
  }

  /** Flushes every table and writes a consistent copy to {@code target} (which must not exist). */
  public void checkpoint(Path target) throws IOException {
    try {
      rocks.checkpoint(target);
    } catch (RocksDBException e) {
      throw new IOException("checkpoint to " + target + " failed: " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    rocks.close();
  }
}
