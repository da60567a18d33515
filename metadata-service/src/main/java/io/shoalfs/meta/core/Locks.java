package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.PairKey;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.CancelLockRequest;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.GetLockRequest;
import io.shoalfs.proto.meta.Lock;
import io.shoalfs.proto.meta.LockKind;
import io.shoalfs.proto.meta.LockReply;
import io.shoalfs.proto.meta.LockType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.ReleaseLocksRequest;
import io.shoalfs.proto.meta.SetLockRequest;
import io.shoalfs.proto.records.LockRecord;
import io.shoalfs.proto.records.LockTableRecord;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The cluster-wide lock table (flock and POSIX record locks), keyed by inode, owned by sessions; the rules are
 * in {@link LockTable}. A waiting request that a release unblocks is granted here, in apply, so every replica
 * records the same grant; the leader then tells the waiting session through its watch ({@code Changes}).
 */
final class Locks {
  /** Held locks plus waiters on one inode: bounds the record (and the work of one apply). */
  static final int MAX_PER_INODE = 4096;

  private Locks() {}

  /** F_SETLK / F_SETLKW / flock / unlock. */
  static MetaReply set(Tx tx, WriteContext ctx, SetLockRequest r) throws FsError {
    LockRecord req = validate(tx, r.getIno(), r.getLock());
    LockTable t = load(tx, r.getIno());
    Set<Long> before = sessionsOf(t);
    LockRecord conflict = t.firstConflict(req);
    if (conflict != null) {
      if (!r.getWait()) {
        return MetaReply.newBuilder().setCode(Code.EAGAIN).setMessage("lock held by another owner")
            .setLock(LockReply.newBuilder().setConflict(toLock(conflict))).build();
      }
      t.enqueue(req);
      checkSize(t, r.getIno());
      store(tx, r.getIno(), before, t);
      return MetaReply.newBuilder().setLock(LockReply.newBuilder().setQueued(true)).build();
    }
    t.removeWaiter(req.getSessionId(), req.getOwner(), req.getKind());
    t.apply(req);
    t.grantWaiters();
    checkSize(t, r.getIno());
    store(tx, r.getIno(), before, t);
    return MetaReply.newBuilder().setLock(LockReply.getDefaultInstance()).build();
  }

  /**
   * A queued request withdrawn (F_SETLKW interrupted); a grant that already happened stays. Replies LockReply
   * with {@code queued} true if the request was still waiting (and is withdrawn now), false if nothing was
   * waiting: then a grant happened first (or there was no such request), which the caller must assume it holds.
   */
  static MetaReply cancel(Tx tx, WriteContext ctx, CancelLockRequest r) throws FsError {
    Sessions.require(tx, r.getSessionId());
    LockTable t = load(tx, r.getIno());
    Set<Long> before = sessionsOf(t);
    boolean withdrawn = t.removeWaiter(r.getSessionId(), r.getOwner(), r.getKindValue());
    if (withdrawn) {
      store(tx, r.getIno(), before, t);
    }
    return MetaReply.newBuilder().setLock(LockReply.newBuilder().setQueued(withdrawn)).build();
  }

  /** F_GETLK: the first conflicting lock, or one of type UNLOCK. */
  static MetaReply get(Tx tx, GetLockRequest r) throws FsError {
    LockRecord req = normalize(r.getLock());
    LockRecord conflict = load(tx, r.getIno()).firstConflict(req);
    Lock answer = conflict == null ? Lock.newBuilder().setType(LockType.UNLOCK).build() : toLock(conflict);
    return MetaReply.newBuilder().setLock(LockReply.newBuilder().setConflict(answer)).build();
  }

  /** close(2) of a descriptor: the owner's POSIX locks (and flock lock with {@code flock}) go; waiters move up. */
  static MetaReply release(Tx tx, WriteContext ctx, ReleaseLocksRequest r) throws FsError {
    Sessions.require(tx, r.getSessionId());
    LockTable t = load(tx, r.getIno());
    Set<Long> before = sessionsOf(t);
    t.releaseOwner(r.getSessionId(), r.getOwner(), r.getFlock());
    t.grantWaiters();
    store(tx, r.getIno(), before, t);
    return Inodes.empty();
  }

  /** A closed or expired session: its locks and queued requests go on every inode; waiters move up. */
  static void releaseSession(Tx tx, long session) {
    for (long ino : inodesOf(tx, session)) {
      LockTable t = load(tx, ino);
      Set<Long> before = sessionsOf(t);
      t.removeSession(session);
      t.grantWaiters();
      store(tx, ino, before, t);
    }
  }

  /**
   * Inodes where {@code session} holds or waits for locks, including what this entry staged (an earlier
   * session released in the same entry may have granted this one a lock).
   */
  private static Set<Long> inodesOf(Tx tx, long session) {
    Set<Long> out = new LinkedHashSet<>();
    tx.scan(MetaTables.SESSION_LOCKS, PairKey.prefix(session), null, (k, v) -> out.add(k.second()) || true);
    tx.forEachStaged(MetaTables.SESSION_LOCKS, (k, v) -> {
      if (k.first() == session) {
        if (v == null) {
          out.remove(k.second());
        } else {
          out.add(k.second());
        }
      }
    });
    return out;
  }

  private static LockRecord validate(Tx tx, long ino, Lock l) throws FsError {
    Sessions.require(tx, l.getSessionId());
    Inodes.require(tx, ino);
    if (l.getType() != LockType.READ && l.getType() != LockType.WRITE && l.getType() != LockType.UNLOCK) {
      throw FsError.of(Code.EINVAL, "lock type %s", l.getType());
    }
    return normalize(l);
  }

  private static LockRecord normalize(Lock l) throws FsError {
    if (l.getKind() != LockKind.FLOCK && l.getKind() != LockKind.POSIX) {
      throw FsError.of(Code.EINVAL, "lock kind %s", l.getKind());
    }
    LockRecord.Builder b = LockRecord.newBuilder().setKind(l.getKindValue()).setType(l.getTypeValue())
        .setOwner(l.getOwner()).setPid(l.getPid()).setSessionId(l.getSessionId());
    if (l.getKind() == LockKind.FLOCK) {
      return b.setStart(0).setEnd(LockTable.EOF).build();
    }
    if (Long.compareUnsigned(l.getStart(), l.getEnd()) > 0) {
      throw FsError.of(Code.EINVAL, "lock range %s..%s is empty", Long.toUnsignedString(l.getStart()),
          Long.toUnsignedString(l.getEnd()));
    }
    return b.setStart(l.getStart()).setEnd(l.getEnd()).build();
  }

  static LockTable load(Tx tx, long ino) {
    return new LockTable(tx.get(MetaTables.LOCKS, ino));
  }

  private static void checkSize(LockTable t, long ino) throws FsError {
    if (t.held.size() + t.waiting.size() > MAX_PER_INODE) {
      throw FsError.of(Code.ENOLCK, "more than %d locks on inode %d", MAX_PER_INODE, ino);
    }
  }

  private static Set<Long> sessionsOf(LockTable t) {
    Set<Long> s = new HashSet<>();
    t.held.forEach(l -> s.add(l.getSessionId()));
    t.waiting.forEach(l -> s.add(l.getSessionId()));
    return s;
  }

  /** Writes the table back and keeps the per-session index (session_locks) in step with it. */
  private static void store(Tx tx, long ino, Set<Long> before, LockTable t) {
    Set<Long> after = sessionsOf(t);
    for (long s : before) {
      if (!after.contains(s)) {
        tx.delete(MetaTables.SESSION_LOCKS, new PairKey(s, ino));
      }
    }
    for (long s : after) {
      if (!before.contains(s)) {
        tx.put(MetaTables.SESSION_LOCKS, new PairKey(s, ino), new byte[0]);
      }
    }
    if (t.isEmpty()) {
      tx.delete(MetaTables.LOCKS, ino);
    } else {
      LockTableRecord rec = t.toRecord();
      tx.put(MetaTables.LOCKS, ino, rec);
    }
  }

  static Lock toLock(LockRecord r) {
    return Lock.newBuilder().setKindValue(r.getKind()).setTypeValue(r.getType()).setStart(r.getStart())
        .setEnd(r.getEnd()).setOwner(r.getOwner()).setPid(r.getPid()).setSessionId(r.getSessionId()).build();
  }
}
