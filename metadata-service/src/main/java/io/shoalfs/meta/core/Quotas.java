package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.PairKey;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.Empty;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.ReserveRequest;
import io.shoalfs.proto.meta.ResizeSubvolumeRequest;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.ReservationRecord;
import io.shoalfs.proto.records.SubvolumeRecord;
import io.shoalfs.proto.records.UsageRecord;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Hard quotas on bytes and inodes (DESIGN decision 5), enforced here, in the state machine, when space is
 * reserved: before the client acknowledges a write to the application.
 *
 * <p><b>What counts.</b> A volume's used bytes are the sum over its regular files of their allocated bytes
 * (the written extents, {@code InodeRecord.allocated_bytes}) rounded up to whole 4 KiB units, i.e. exactly what
 * {@code st_blocks * 512} shows: a sparse file counts what was written, not its size, and {@code du} of a
 * volume equals its {@code df} usage. Inodes count every inode of the tree, the root directory included.
 *
 * <p><b>Reservations.</b> A session reserves bytes for one inode ({@code reserve}, normally one it holds open:
 * a reservation without an open lasts until the session ends); the grant is
 * what is free, possibly less than asked (partial grants near the quota), EDQUOT when nothing is free (ENOSPC
 * when the storage pool is what is full). The client asks for {@link #UNIT} (one chunk) at a time, or more if
 * one write needs more, and never lets the application write past what it holds: a write that does not fit is
 * cut short to what fits, and the next one fails with EDQUOT. A commit that grows the inode's allocation
 * consumes the session's reservation for it; growth beyond the reservation is taken from the free space if it
 * fits and refused with EDQUOT / ENOSPC otherwise. What is left returns at the session's last close of the
 * inode ({@link #releaseInode}) and when the session closes or expires ({@link #releaseSession}).
 *
 * <p><b>The bound.</b> For every volume, at every log index, {@code used + reserved <= quota}: there is no
 * overshoot at all, not even one unit. The other side of it: a writer can be refused while other open files of
 * the volume hold unused reservations, at most {@link #UNIT} plus the shortfall of their last write each, until
 * they close or commit.
 *
 * <p><b>The pool.</b> Its capacity is the sum of the registered daemons' capacities, each disk once
 * ({@code disk_id}); a grant never takes the sum of all volumes' used + reserved bytes past it (ENOSPC). No
 * capacity known (no daemon registered one) means no pool limit.
 */
public final class Quotas {
  /** What a client reserves at a time: one chunk. */
  public static final long UNIT = Layout.CHUNK_SIZE;
  /** Most bytes one reserve call may ask for (a write needs at most one FUSE write's worth beyond a unit). */
  static final long MAX_RESERVE = 1L << 30;

  private Quotas() {}

  /** The bytes an inode with {@code allocated} allocated bytes counts in its volume: whole 4 KiB units. */
  public static long charged(long allocated) {
    return (allocated + Inodes.ALLOC_UNIT - 1) / Inodes.ALLOC_UNIT * Inodes.ALLOC_UNIT;
  }

  static UsageRecord usage(Tx tx, long volume) {
    UsageRecord u = tx.get(MetaTables.USAGE, volume);
    if (u == null) {
      throw new IllegalStateException("volume " + volume + " has no usage record");
    }
    return u;
  }

  /** The storage pool's capacity: each disk once; 0 = unknown (no daemon reported a capacity). */
  public static long poolCapacity(Tx tx) {
    long sum = 0;
    Set<String> disks = new HashSet<>();
    for (DaemonRecord d : Daemons.all(tx)) {
      if (d.getDiskId().isEmpty() || disks.add(d.getDiskId())) {
        sum += d.getCapacityBytes();
      }
    }
    return sum;
  }

  /** The sum over all volumes of used + reserved bytes: what the pool has promised. */
  public static long poolCommitted(Tx tx) {
    long[] sum = {0};
    tx.scan(MetaTables.USAGE, new byte[0], null, (k, v) -> {
      sum[0] += v.getUsedBytes() + v.getReservedBytes();
      return true;
    });
    return sum[0];
  }

  /** Free bytes under the volume's quota (Long.MAX_VALUE without one). */
  static long quotaFree(UsageRecord u) {
    return u.getBytesLimit() == 0 ? Long.MAX_VALUE
        : Math.max(0, u.getBytesLimit() - u.getUsedBytes() - u.getReservedBytes());
  }

  /** Free bytes in the pool (Long.MAX_VALUE when its capacity is unknown). */
  static long poolFree(Tx tx) {
    long cap = poolCapacity(tx);
    return cap == 0 ? Long.MAX_VALUE : Math.max(0, cap - poolCommitted(tx));
  }

  /** What writes to {@code volume} may still reserve: min of the quota's and the pool's free space. */
  public static long available(Tx tx, long volume) {
    return Math.min(quotaFree(usage(tx, volume)), poolFree(tx));
  }

  /**
   * EDQUOT or ENOSPC unless {@code bytes} more fit into the volume and the pool, with {@code credit} bytes
   * more free than the records say.
   */
  private static void requireFree(Tx tx, UsageRecord u, long bytes, long credit, String what) throws FsError {
    long q = saturatedAdd(quotaFree(u), credit);
    if (bytes > q) {
      throw FsError.of(Code.EDQUOT, "%s needs %d bytes, the volume's quota has %d free", what, bytes, q);
    }
    long p = saturatedAdd(poolFree(tx), credit);
    if (bytes > p) {
      throw FsError.of(Code.ENOSPC, "%s needs %d bytes, the storage pool has %d free", what, bytes, p);
    }
  }

  private static long saturatedAdd(long a, long b) {
    long s = a + b;
    return s < a ? Long.MAX_VALUE : s;
  }

  /**
   * The inode's allocated bytes change from {@code before} to {@code after}: its volume's usage follows. Growth
   * consumes the reservation of {@code session} for {@code ino} first; the rest must fit (EDQUOT / ENOSPC,
   * nothing changed then).
   */
  static void allocationChanged(Tx tx, long session, long ino, long volume, long before, long after)
      throws FsError {
    long delta = charged(after) - charged(before);
    if (delta == 0) {
      return;
    }
    UsageRecord u = usage(tx, volume);
    long taken = 0;
    if (delta > 0) {
      PairKey key = new PairKey(session, ino);
      ReservationRecord res = session == 0 ? null : tx.get(MetaTables.RESERVATIONS, key);
      if (res != null) {
        taken = Math.min(delta, res.getBytes());
        putReservation(tx, key, res.getBytes() - taken, res.getVolume());
      }
      if (delta > taken) {
        // used + delta + (reserved - taken) <= limit  <=>  delta - taken <= limit - used - reserved
        requireFree(tx, u, delta - taken, 0, "allocation of inode " + ino);
      }
    }
    // Never below 0: a database of a build that counted logical sizes may hold less than the allocations.
    long used = Math.max(0, u.getUsedBytes() + delta);
    tx.put(MetaTables.USAGE, volume, u.toBuilder().setUsedBytes(used)
        .setReservedBytes(u.getReservedBytes() - taken).build());
  }

  private static void putReservation(Tx tx, PairKey key, long bytes, long volume) {
    if (bytes == 0) {
      tx.delete(MetaTables.RESERVATIONS, key);
    } else {
      tx.put(MetaTables.RESERVATIONS, key, ReservationRecord.newBuilder().setBytes(bytes).setVolume(volume).build());
    }
  }

  /** The bytes session {@code session} holds reserved for {@code ino}. */
  public static long held(Tx tx, long session, long ino) {
    ReservationRecord r = session == 0 ? null : tx.get(MetaTables.RESERVATIONS, new PairKey(session, ino));
    return r == null ? 0 : r.getBytes();
  }

  /** reserve(ino, bytes) for the call's session; see the class comment. */
  static MetaReply reserve(Tx tx, WriteContext ctx, ReserveRequest r) throws FsError {
    long session = ctx.sessionId();
    Sessions.require(tx, session);
    InodeRecord inode = Inodes.requireRegular(tx, r.getIno());
    if (r.getBytes() == 0 || r.getBytes() > MAX_RESERVE) {
      throw FsError.of(Code.EINVAL, "reserve of %s bytes: 1 to %d", Long.toUnsignedString(r.getBytes()), MAX_RESERVE);
    }
    long volume = inode.getSubvolumeRoot();
    UsageRecord u = usage(tx, volume);
    long q = quotaFree(u);
    long p = poolFree(tx);
    long grant = Math.min(r.getBytes(), Math.min(q, p));
    if (grant <= 0) {
      if (q <= p) {
        throw FsError.of(Code.EDQUOT, "volume %d: quota of %d bytes used (%d) or reserved (%d)", volume,
            u.getBytesLimit(), u.getUsedBytes(), u.getReservedBytes());
      }
      throw FsError.of(Code.ENOSPC, "the storage pool is full");
    }
    PairKey key = new PairKey(session, r.getIno());
    long held = held(tx, session, r.getIno()) + grant;
    putReservation(tx, key, held, volume);
    tx.put(MetaTables.USAGE, volume, u.toBuilder().setReservedBytes(u.getReservedBytes() + grant).build());
    return MetaReply.newBuilder().setEmpty(Empty.getDefaultInstance()).setReservedBytes(held).build();
  }

  /** The session's last open of {@code ino} ended: what it still holds for it returns. */
  static void releaseInode(Tx tx, long session, long ino) {
    PairKey key = new PairKey(session, ino);
    ReservationRecord r = tx.get(MetaTables.RESERVATIONS, key);
    if (r != null) {
      release(tx, key, r);
    }
  }

  /** The session ended (closed or expired): every reservation it holds returns. */
  static void releaseSession(Tx tx, long session) {
    List<PairKey> keys = new ArrayList<>();
    List<ReservationRecord> values = new ArrayList<>();
    tx.scan(MetaTables.RESERVATIONS, PairKey.prefix(session), null, (k, v) -> {
      keys.add(k);
      values.add(v);
      return true;
    });
    for (int i = 0; i < keys.size(); i++) {
      release(tx, keys.get(i), values.get(i));
    }
  }

  /** The volume {@code root} goes: every reservation on it goes too (its usage record goes with it). */
  static void releaseVolume(Tx tx, long root) {
    List<PairKey> keys = new ArrayList<>();
    tx.scan(MetaTables.RESERVATIONS, new byte[0], null, (k, v) -> {
      if (v.getVolume() == root) {
        keys.add(k);
      }
      return true;
    });
    for (PairKey k : keys) {
      tx.delete(MetaTables.RESERVATIONS, k);
    }
  }

  private static void release(Tx tx, PairKey key, ReservationRecord r) {
    tx.delete(MetaTables.RESERVATIONS, key);
    UsageRecord u = tx.get(MetaTables.USAGE, r.getVolume());
    if (u != null) {
      tx.put(MetaTables.USAGE, r.getVolume(), u.toBuilder()
          .setReservedBytes(Math.max(0, u.getReservedBytes() - r.getBytes())).build());
    }
  }

  /** EDQUOT if the volume's inode quota has no room for one more inode. */
  static void checkNewInode(Tx tx, long volume) throws FsError {
    UsageRecord u = usage(tx, volume);
    if (u.getInodesLimit() != 0 && u.getInodes() + 1 > u.getInodesLimit()) {
      throw FsError.of(Code.EDQUOT, "volume %d: inode quota of %d reached", volume, u.getInodesLimit());
    }
  }

  /** resize_subvolume: new quotas, never below what is used (and reserved, for bytes). */
  static MetaReply resize(Tx tx, WriteContext ctx, ResizeSubvolumeRequest r) throws FsError {
    SubvolumeRecord sv = Subvolumes.require(tx, r.getName());
    UsageRecord u = usage(tx, sv.getRootIno());
    SubvolumeRecord.Builder s = sv.toBuilder();
    UsageRecord.Builder nu = u.toBuilder();
    if (r.hasCapacityBytes()) {
      long cap = r.getCapacityBytes();
      if (cap <= 0) {
        throw FsError.of(Code.EINVAL, "size must be more than 0");
      }
      if (cap < u.getUsedBytes() + u.getReservedBytes()) {
        throw FsError.of(Code.EDQUOT, "subvolume '%s' uses %d bytes (and open writers hold %d reserved): a size of"
            + " %d is below that", r.getName(), u.getUsedBytes(), u.getReservedBytes(), cap);
      }
      s.setCapacityBytes(cap);
      nu.setBytesLimit(cap);
    }
    if (r.hasInodesLimit()) {
      long n = r.getInodesLimit();
      if (n != 0 && n < u.getInodes()) {
        throw FsError.of(Code.EDQUOT, "subvolume '%s' uses %d inodes: an inode limit of %d is below that",
            r.getName(), u.getInodes(), n);
      }
      s.setInodesLimit(n);
      nu.setInodesLimit(n);
    }
    SubvolumeRecord updated = s.build();
    tx.put(MetaTables.SUBVOLUMES, r.getName(), updated);
    tx.put(MetaTables.USAGE, sv.getRootIno(), nu.build());
    return MetaReply.newBuilder().setSubvolume(Subvolumes.toWire(tx, updated)).build();
  }
}
