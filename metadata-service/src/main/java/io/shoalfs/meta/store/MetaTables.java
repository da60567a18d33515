package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.proto.records.AppliedIndexRecord;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.ClientCallRecord;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.HistoryRecord;
import io.shoalfs.proto.records.SpaceRecord;
import io.shoalfs.proto.records.VolumeVersionsRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.LockTableRecord;
import io.shoalfs.proto.records.OpenCountRecord;
import io.shoalfs.proto.records.ReservationRecord;
import io.shoalfs.proto.records.SessionRecord;
import io.shoalfs.proto.records.UnlinkedRecord;
import io.shoalfs.proto.records.StorageGroupRecord;
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
 *   <tr><td colspan="4">snapshots and clones ({@link Versions}; the versioned tables are inodes, dentries, chunks,
 *       xattrs, table id t = 1, 2, 3, 4; "key" is the record's key in its table)</td></tr>
 *   <tr><td>snap_volumes</td><td>u64 volume root ino</td><td>VolumeVersionsRecord (latest seq, snapshots)</td>
 *       <td>only volumes that have or had snapshots</td></tr>
 *   <tr><td>history</td><td>u64 volume root ++ u8 t ++ key ++ (0x00 for dentries, xattrs) ++ u64 died seq</td>
 *       <td>HistoryRecord (born seq, old value)</td><td>old versions a snapshot sees: visible at S iff born &lt;= S
 *       &lt; died; a read as of S seeks (volume, t, key, S+1)</td></tr>
 *   <tr><td>born</td><td>u8 t ++ key</td><td>u64 born seq</td><td>seq a live record was written at; absent = 1
 *       (written before the volume's first snapshot)</td></tr>
 *   <tr><td>spaces</td><td>u64 space id</td><td>SpaceRecord</td><td>clones: inode-number space (bits 52-61 of
 *       every inode of the clone) and the source (space, root, seq) it falls through to</td></tr>
 *   <tr><td>whiteouts</td><td>u64 space ++ u8 t ++ key</td><td>u64 born seq</td><td>clones: a key deleted in
 *       the clone that must not fall through to the source</td></tr>
 *   <tr><td>chunk_refs</td><td>u64 chunk id</td><td>u64 extra references</td><td>references to a chunk beyond
 *       one (history entries, clones' copies); absent = exactly one</td></tr>
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
  public static final TableDef<Long, VolumeVersionsRecord> SNAP_VOLUMES =
      new TableDef<>("snap_volumes", Codec.U64, Codec.proto(VolumeVersionsRecord.parser()));
  public static final TableDef<byte[], HistoryRecord> HISTORY =
      new TableDef<>("history", Codec.BYTES, Codec.proto(HistoryRecord.parser()));
  public static final TableDef<byte[], Long> BORN = new TableDef<>("born", Codec.BYTES, Codec.U64);
  public static final TableDef<Long, SpaceRecord> SPACES =
      new TableDef<>("spaces", Codec.U64, Codec.proto(SpaceRecord.parser()));
  public static final TableDef<byte[], Long> WHITEOUTS = new TableDef<>("whiteouts", Codec.BYTES, Codec.U64);
  public static final TableDef<Long, Long> CHUNK_REFS = new TableDef<>("chunk_refs", Codec.U64, Codec.U64);
  /** storage_groups: group id (UTF-8) to its members; a group is recorded once every member joined it. */
  public static final TableDef<String, StorageGroupRecord> STORAGE_GROUPS =
      new TableDef<>("storage_groups", Codec.UTF8, Codec.proto(StorageGroupRecord.parser()));

  /** system["applied_index"]: term and index of the last log entry whose effects are in this database. */
  public static final SystemKey<AppliedIndexRecord> APPLIED_INDEX =
      new SystemKey<>("applied_index", Codec.proto(AppliedIndexRecord.parser()));

  /** All tables, in the order they are opened. */
  public static final List<TableDef<?, ?>> ALL =
      List.of(INODES, DENTRIES, CHUNKS, SUBVOLUMES, DAEMONS, USAGE, ORPHAN_CHUNKS, CLIENT_CALLS, XATTRS, SYSTEM,
          SESSIONS, OPENS, OPEN_INODES, UNLINKED, LOCKS, SESSION_LOCKS, RESERVATIONS,
          SNAP_VOLUMES, HISTORY, BORN, SPACES, WHITEOUTS, CHUNK_REFS, STORAGE_GROUPS);

  /** A typed key of the system table. */
  public record SystemKey<V>(String key, Codec<V> codec) {}

  private MetaTables() {}
}
