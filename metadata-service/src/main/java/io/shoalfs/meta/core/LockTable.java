package io.shoalfs.meta.core;

import io.shoalfs.proto.meta.LockKind;
import io.shoalfs.proto.meta.LockType;
import io.shoalfs.proto.records.LockRecord;
import io.shoalfs.proto.records.LockTableRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * The locks of one inode, in memory for one operation: pure rules, no store. Ranges are inclusive and
 * unsigned ({@link #EOF} = 2^64 - 1 means to the end of the file).
 *
 * <p>Rules (Linux's): flock and POSIX locks never conflict with each other. Two locks conflict when their
 * owners (session, owner) differ, at least one is WRITE and (POSIX) their ranges overlap. A POSIX request of
 * an owner replaces the owner's locks in its range (splitting those that extend beyond it) and merges with the
 * owner's adjacent or overlapping locks of the same type; UNLOCK only removes. An flock request replaces the
 * owner's flock lock. Waiters are kept in arrival order; when locks go, each waiter that no longer conflicts
 * with a held lock is granted, in that order.
 */
final class LockTable {
  static final long EOF = -1L;

  final List<LockRecord> held;
  final List<LockRecord> waiting;

  LockTable(LockTableRecord r) {
    held = new ArrayList<>(r == null ? List.of() : r.getHeldList());
    waiting = new ArrayList<>(r == null ? List.of() : r.getWaitingList());
  }

  LockTableRecord toRecord() {
    return LockTableRecord.newBuilder().addAllHeld(held).addAllWaiting(waiting).build();
  }

  boolean isEmpty() {
    return held.isEmpty() && waiting.isEmpty();
  }

  static boolean sameOwner(LockRecord a, LockRecord b) {
    return a.getSessionId() == b.getSessionId() && a.getOwner() == b.getOwner();
  }

  static boolean sameRequester(LockRecord a, LockRecord b) {
    return sameOwner(a, b) && a.getKind() == b.getKind();
  }

  static boolean overlaps(LockRecord a, LockRecord b) {
    return Long.compareUnsigned(a.getStart(), b.getEnd()) <= 0 && Long.compareUnsigned(b.getStart(), a.getEnd()) <= 0;
  }

  static boolean conflicts(LockRecord h, LockRecord req) {
    return h.getKind() == req.getKind() && !sameOwner(h, req)
        && (h.getType() == LockType.WRITE_VALUE || req.getType() == LockType.WRITE_VALUE)
        && overlaps(h, req);
  }

  /** The first held lock that conflicts with {@code req}, or null. */
  LockRecord firstConflict(LockRecord req) {
    if (req.getType() == LockType.UNLOCK_VALUE) {
      return null;
    }
    for (LockRecord h : held) {
      if (conflicts(h, req)) {
        return h;
      }
    }
    return null;
  }

  /** Applies a granted request (or an unlock) of its owner. The caller checked {@link #firstConflict}. */
  void apply(LockRecord req) {
    if (req.getKind() == LockKind.FLOCK_VALUE) {
      held.removeIf(h -> h.getKind() == LockKind.FLOCK_VALUE && sameOwner(h, req));
      if (req.getType() != LockType.UNLOCK_VALUE) {
        held.add(req);
      }
      return;
    }
    boolean unlock = req.getType() == LockType.UNLOCK_VALUE;
    long lo = req.getStart();
    long hi = req.getEnd();
    List<LockRecord> out = new ArrayList<>(held.size() + 2);
    for (LockRecord h : held) {
      if (h.getKind() != LockKind.POSIX_VALUE || !sameOwner(h, req)) {
        out.add(h);
      } else if (!unlock && h.getType() == req.getType() && touches(h, lo, hi)) {
        // Same type, overlapping or adjacent: absorbed into the new lock.
        lo = minU(lo, h.getStart());
        hi = maxU(hi, h.getEnd());
      } else if (!overlaps(h, req)) {
        out.add(h);
      } else {
        // Another type (or unlock) overlapping: keep the parts outside the request's own range.
        if (Long.compareUnsigned(h.getStart(), req.getStart()) < 0) {
          out.add(h.toBuilder().setEnd(req.getStart() - 1).build());
        }
        if (Long.compareUnsigned(req.getEnd(), h.getEnd()) < 0) {
          out.add(h.toBuilder().setStart(req.getEnd() + 1).build());
        }
      }
    }
    if (!unlock) {
      out.add(req.toBuilder().setStart(lo).setEnd(hi).build());
    }
    held.clear();
    held.addAll(out);
  }

  /** Queues a request; a repeated request of the same requester replaces its queued one, keeping its place. */
  void enqueue(LockRecord req) {
    for (int i = 0; i < waiting.size(); i++) {
      if (sameRequester(waiting.get(i), req)) {
        waiting.set(i, req);
        return;
      }
    }
    waiting.add(req);
  }

  boolean removeWaiter(long session, long owner, int kind) {
    return waiting.removeIf(w -> w.getSessionId() == session && w.getOwner() == owner && w.getKind() == kind);
  }

  /** Grants, in arrival order, every waiter that no longer conflicts; returns the granted requests. */
  List<LockRecord> grantWaiters() {
    List<LockRecord> granted = new ArrayList<>();
    for (int i = 0; i < waiting.size(); ) {
      LockRecord w = waiting.get(i);
      if (firstConflict(w) == null) {
        apply(w);
        waiting.remove(i);
        granted.add(w);
      } else {
        i++;
      }
    }
    return granted;
  }

  /** close(2) of a descriptor: the owner's POSIX locks, and with {@code flock} its flock lock. */
  void releaseOwner(long session, long owner, boolean flock) {
    held.removeIf(h -> h.getSessionId() == session && h.getOwner() == owner
        && (h.getKind() == LockKind.POSIX_VALUE || flock && h.getKind() == LockKind.FLOCK_VALUE));
  }

  void removeSession(long session) {
    held.removeIf(h -> h.getSessionId() == session);
    waiting.removeIf(w -> w.getSessionId() == session);
  }

  /** True if the owner of {@code w} holds what {@code w} asked for (a granted request). */
  boolean holds(LockRecord w) {
    for (LockRecord h : held) {
      if (sameRequester(h, w) && h.getType() == w.getType() && Long.compareUnsigned(h.getStart(), w.getStart()) <= 0
          && Long.compareUnsigned(w.getEnd(), h.getEnd()) <= 0) {
        return true;
      }
    }
    return false;
  }

  /** Overlapping or adjacent to [lo, hi]. */
  private static boolean touches(LockRecord h, long lo, long hi) {
    boolean leftOk = hi == EOF || Long.compareUnsigned(h.getStart(), hi + 1) <= 0;
    boolean rightOk = h.getEnd() == EOF || Long.compareUnsigned(lo, h.getEnd() + 1) <= 0;
    return leftOk && rightOk;
  }

  private static long minU(long a, long b) {
    return Long.compareUnsigned(a, b) <= 0 ? a : b;
  }

  private static long maxU(long a, long b) {
    return Long.compareUnsigned(a, b) >= 0 ? a : b;
  }
}
