package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.proto.records.AppliedIndexRecord;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.ClientCallRecord;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.LockTableRecord;
import io.shoalfs.proto.records.OpenCountRecord;
import io.shoalfs.proto.records.ReservationRecord;
import io.shoalfs.proto.records.SessionRecord;
import io.shoalfs.proto.records.UnlinkedRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import io.shoalfs.proto.records.UsageRecord;
import java.util.List;

/**
 * Every RocksDB column family of the metadata service, with its key layout. Integers in keys are big-endian
 * so that byte order is numeric order (all ids are positive, see {@code IdAllocator}).
 *
 * <table>
 *   <caption>Tables and key layouts</caption>
 *   <tr><th>table</th><th>key</th><th>value</th><th>notes</th></tr>
 *   <tr><td>inodes</td><td>u64 ino</td><td>InodeRecord</td><td>root directory of the root volume is ino 1</td></tr>
 *   <tr><td>dentries</td><td>u64 parent ino ++ UTF-8 name</td><td>DentryRecord (ino, type)</td>
 *       <td>readdir = prefix scan of the parent, in name byte order</td></tr>
 *   <tr><td>chunks</td><td>u64 ino ++ u32 chunk index</td><td>ChunkRecord (chunk id, group id, written extent
 *       [lo, hi))</td>
 *       <td>chunk i holds bytes [i*CHUNK_SIZE, (i+1)*CHUNK_SIZE) of the file; chunk id 0 = reserved by fallocate,
 *       not placed on storage yet (reads as zeros; alloc_chunk places it)</td></tr>
 *   <tr><td>xattrs</td><td>u64 ino ++ UTF-8 attribute name (with its namespace prefix)</td><td>the value bytes</td>
 *       <td>listxattr = prefix scan of the inode; removed with the inode</td></tr>
 *   <tr><td>subvolumes</td><td>UTF-8 name</td><td>SubvolumeRecord</td><td>its root dir is not linked into the root tree</td></tr>
 *   <tr><td>daemons</td><td>UTF-8 daemon id</td><td>DaemonRecord</td><td>each is storage group "g-&lt;id&gt;" for now</td></tr>
 *   <tr><td>usage</td><td>u64 volume root ino</td><td>UsageRecord (bytes, inodes)</td><td>one per volume</td></tr>
 *   <tr><td>orphan_chunks</td><td>u64 chunk id</td><td>ChunkRecord (chunk id, group id, owner ino and index it
 *       came from)</td>
 *       <td>chunks whose last reference went (truncate, unlink, rename-over, hole punch, subvolume delete); the
 *       leader's ChunkCollector deletes them from their daemons, then release_orphans removes the row
 *       (core {@code OrphanChunks})</td></tr>
 *   <tr><td>client_calls</td><td>16-byte client id ++ u64 call id</td><td>ClientCallRecord (reply)</td>
 *       <td>exactly-once: the reply of each write call, until the client acknowledges it (see ClientCalls)</td></tr>
 *   <tr><td>sessions</td><td>u64 session id</td><td>SessionRecord (client, scope root, last renewal)</td>
 *       <td>client sessions with a lease (core {@code Sessions})</td></tr>
 *   <tr><td>opens</td><td>u64 session id ++ u64 ino ({@link PairKey})</td><td>OpenCountRecord</td>
 *       <td>opens of one inode by one session; released with the session</td></tr>
 *   <tr><td>open_inodes</td><td>u64 ino</td><td>OpenCountRecord</td><td>sum of opens over all sessions</td></tr>
 *   <tr><td>unlinked</td><td>u64 ino</td><td>UnlinkedRecord</td>
 *       <td>nlink-0 inodes still open; reclaimed at their last close or session expiry</td></tr>
 *   <tr><td>locks</td><td>u64 ino</td><td>LockTableRecord (held, waiting FIFO)</td><td>flock and POSIX locks</td></tr>
 *   <tr><td>session_locks</td><td>u64 session id ++ u64 ino ({@link PairKey})</td><td>empty</td>
 *       <td>inodes where the session holds or waits for a lock</td></tr>
 *   <tr><td>reservations</td><td>u64 session id ++ u64 ino ({@link PairKey})</td><td>ReservationRecord
 *       (bytes, volume)</td><td>quota reservations of open writers (core {@code Quotas}); summed per volume in
 *       usage.reserved_bytes; returned at the session's last close of the inode and at session end</td></tr>
 *   <tr><td>system</td><td>UTF-8 key</td><td>per key, see {@link #APPLIED_INDEX}</td><td>bookkeeping of the state machine</td></tr>
 * </table>
 */
public final class MetaTables {
  public static final TableDef<Long, InodeRecord> INODES =
      new TableDef<>("inodes", Codec.U64, Codec.proto(InodeRecord.parser()));
  public static final TableDef<DentryKey, DentryRecord> DENTRIES =
      new TableDef<>("dentries", DentryKey.CODEC, Codec.proto(DentryRecord.parser()));
  public static final TableDef<ChunkKey, ChunkRecord> CHUNKS =
      new TableDef<>("chunks", ChunkKey.CODEC, Codec.proto(ChunkRecord.parser()));
  public static final TableDef<String, SubvolumeRecord> SUBVOLUMES =
      new TableDef<>("subvolumes", Codec.UTF8, Codec.proto(SubvolumeRecord.parser()));
  public static final TableDef<String, DaemonRecord> DAEMONS =
      new TableDef<>("daemons", Codec.UTF8, Codec.proto(DaemonRecord.parser()));
  public static final TableDef<Long, UsageRecord> USAGE =
      new TableDef<>("usage", Codec.U64, Codec.proto(UsageRecord.parser()));
  public static final TableDef<Long, ChunkRecord> ORPHAN_CHUNKS =
      new TableDef<>("orphan_chunks", Codec.U64, Codec.proto(ChunkRecord.parser()));
  public static final TableDef<byte[], ClientCallRecord> CLIENT_CALLS =
      new TableDef<>("client_calls", Codec.BYTES, Codec.proto(ClientCallRecord.parser()));
  public static final TableDef<XattrKey, byte[]> XATTRS = new TableDef<>("xattrs", XattrKey.CODEC, Codec.BYTES);
  public static final TableDef<Long, SessionRecord> SESSIONS =
      new TableDef<>("sessions", Codec.U64, Codec.proto(SessionRecord.parser()));
  public static final TableDef<PairKey, OpenCountRecord> OPENS =
      new TableDef<>("opens", PairKey.CODEC, Codec.proto(OpenCountRecord.parser()));
  public static final TableDef<Long, OpenCountRecord> OPEN_INODES =
      new TableDef<>("open_inodes", Codec.U64, Codec.proto(OpenCountRecord.parser()));
  public static final TableDef<Long, UnlinkedRecord> UNLINKED =
      new TableDef<>("unlinked", Codec.U64, Codec.proto(UnlinkedRecord.parser()));
  public static final TableDef<Long, LockTableRecord> LOCKS =
      new TableDef<>("locks", Codec.U64, Codec.proto(LockTableRecord.parser()));
  public static final TableDef<PairKey, byte[]> SESSION_LOCKS =
      new TableDef<>("session_locks", PairKey.CODEC, Codec.BYTES);
  public static final TableDef<PairKey, ReservationRecord> RESERVATIONS =
      new TableDef<>("reservations", PairKey.CODEC, Codec.proto(ReservationRecord.parser()));
  public static final TableDef<String, byte[]> SYSTEM = new TableDef<>("system", Codec.UTF8, Codec.BYTES);

  /** system["applied_index"]: term and index of the last log entry whose effects are in this database. */
  public static final SystemKey<AppliedIndexRecord> APPLIED_INDEX =
      new SystemKey<>("applied_index", Codec.proto(AppliedIndexRecord.parser()));

  /** All tables, in the order they are opened. */
  public static final List<TableDef<?, ?>> ALL =
      List.of(INODES, DENTRIES, CHUNKS, SUBVOLUMES, DAEMONS, USAGE, ORPHAN_CHUNKS, CLIENT_CALLS, XATTRS, SYSTEM,
          SESSIONS, OPENS, OPEN_INODES, UNLINKED, LOCKS, SESSION_LOCKS, RESERVATIONS);

  /** A typed key of the system table. */
  public record SystemKey<V>(String key, Codec<V> codec) {}

  private MetaTables() {}
}
