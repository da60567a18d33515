package io.shoalfs.storage.store;

import io.shoalfs.common.store.Codec;
import io.shoalfs.common.store.TableDef;
import java.util.List;

/**
 * The storage daemon's RocksDB tables (column families). Every key layout lives here and nowhere else.
 *
 * <table>
 *   <caption>Tables of the chunk store</caption>
 *   <tr><th>table</th><th>key</th><th>value</th></tr>
 *   <tr><td>{@code blocks}</td>
 *       <td>u64 chunk id (big-endian) ++ u32 block index (big-endian), 12 bytes; block i holds chunk bytes
 *           {@code [i * 64 KiB, (i + 1) * 64 KiB)}</td>
 *       <td>u32 CRC32C of the payload (big-endian) ++ payload, 0 to 64 KiB bytes; bytes past the payload's end
 *           read as zeros. Large values go to BlobDB blob files (key-value separation).</td></tr>
 *   <tr><td>{@code chunks}</td>
 *       <td>u64 chunk id (big-endian)</td>
 *       <td>u64 stored length (big-endian): one past the highest byte ever written, lowered by truncate; the
 *           sum over all chunks is the daemon's used bytes. No record = nothing stored.</td></tr>
 *   <tr><td>{@code fences}</td>
 *       <td>u64 chunk id (big-endian)</td>
 *       <td>{@link Fence}: u64 epoch ++ u64 daemon clock in ms (both big-endian). Writes and truncates must carry
 *           an epoch &gt;= the fence (unsigned); epoch 2^64-1 is the tombstone of a deleted chunk (refuses every
 *           write, truncate and read), dropped after the tombstone retention. No row = fence 0.</td></tr>
 *   <tr><td>{@code staged}</td>
 *       <td>UTF-8 storage group id ++ 0x00 ++ u64 Raft log index (big-endian)</td>
 *       <td>the bytes of a replicated write (its entry's state-machine data), kept from the moment the entry is
 *           written to this member's log until it is applied; synced when written, so a committed entry's bytes
 *           survive a crash of a majority</td></tr>
 *   <tr><td>{@code group_chunks}</td>
 *       <td>UTF-8 storage group id ++ 0x00 ++ u64 chunk id (big-endian)</td>
 *       <td>empty: the chunk belongs to that replicated group (the scrub walks a group's chunks)</td></tr>
 *   <tr><td>{@code applied}</td>
 *       <td>UTF-8 storage group id</td>
 *       <td>u64 the highest log index of that group applied to the tables above (entries up to it are skipped
 *           when Ratis replays the log after a restart)</td></tr>
 * </table>
 *
 * <p>Both tables change only together, in one WriteBatch per request, so the used-bytes sum always matches the
 * blocks.
 */
public final class ChunkTables {
  public static final TableDef<BlockKey, byte[]> BLOCKS = new TableDef<>("blocks", BlockKey.CODEC, Codec.BYTES);
  public static final TableDef<Long, Long> CHUNKS = new TableDef<>("chunks", Codec.U64, Codec.U64);

  public static final TableDef<Long, Fence> FENCES = new TableDef<>("fences", Codec.U64, Fence.CODEC);

  public static final TableDef<byte[], byte[]> STAGED = new TableDef<>("staged", Codec.BYTES, Codec.BYTES);
  public static final TableDef<String, Long> APPLIED = new TableDef<>("applied", Codec.UTF8, Codec.U64);

  public static final TableDef<byte[], byte[]> GROUP_CHUNKS =
      new TableDef<>("group_chunks", Codec.BYTES, Codec.BYTES);

  public static final List<TableDef<?, ?>> ALL = List.of(BLOCKS, CHUNKS, FENCES, STAGED, APPLIED, GROUP_CHUNKS);

  /** The key of a staged write: group id, a zero byte, the log index. */
  public static byte[] stagedKey(String group, long index) {
    byte[] g = group.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    return java.nio.ByteBuffer.allocate(g.length + 9).put(g).put((byte) 0).putLong(index).array();
  }

  private ChunkTables() {}
}
