package io.shoalfs.fuse;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.fuse.ll.LowLevelFs;
import io.shoalfs.proto.meta.CancelLockRequest;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.GetLockRequest;
import io.shoalfs.proto.meta.Lock;
import io.shoalfs.proto.meta.LockKind;
import io.shoalfs.proto.meta.LockReply;
import io.shoalfs.proto.meta.LockType;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReleaseLocksRequest;
import io.shoalfs.proto.meta.SetLockRequest;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

/**
 * flock and POSIX record locks through the session's lock table in the metadata service (cluster-wide).
 * Owners are the kernel's lock_owner ids, unique within this mount, so unique within the session.
 *
 * <p>F_SETLKW and blocking flock: the service queues the request and the grant arrives on the session's watch
 * stream ({@link #granted}); the waiting thread sleeps on a future, woken by the grant or by the binding's
 * interrupt (and every {@link #INTERRUPT_CHECK_MS} to look at the request's interrupt flag; the service is
 * never polled). An interrupted wait withdraws the
 * request (CancelLock) and answers EINTR, unless the grant won the race, in which case the lock is held and the
 * wait succeeds. After a watch resync (events may have been lost) every waiter retries its request once without
 * waiting, so a grant whose event was lost is noticed.
 */
final class Locks {
  static final long INTERRUPT_CHECK_MS = 50;
  /** Bound of concurrent blocked lock waits (each is a blocked kernel request thread anyway). */
  static final int MAX_WAITERS = 4096;
  private static final long TO_EOF = -1L; // 2^64 - 1 on the wire

  private record Key(long ino, long owner, LockKind kind) {}

  private record Waiter(SetLockRequest request, CompletableFuture<Void> granted) {}

  private final MetaClient meta;
  private final LongSupplier sessionId;
  private final Map<Key, Waiter> waiters = new ConcurrentHashMap<>();
  /** Inodes this mount ever locked: only their closes need a ReleaseLocks call. Bounded by forget. */
  private final Set<Long> lockedInodes = ConcurrentHashMap.newKeySet();

  Locks(MetaClient meta, LongSupplier sessionId) {
    this.meta = meta;
    this.sessionId = sessionId;
  }

  LowLevelFs.Lock getlk(long ino, long owner, LowLevelFs.Lock lock) throws MetaException {
    LockReply r = meta.call(MetaRequest.newBuilder().setGetLock(GetLockRequest.newBuilder().setIno(ino)
        .setLock(posix(owner, lock))).build()).getLock();
    Lock c = r.getConflict();
    if (c.getType() == LockType.UNLOCK || c.getType() == LockType.LOCK_TYPE_UNSPECIFIED) {
      return new LowLevelFs.Lock(LowLevelFs.Lock.F_UNLCK, lock.start(), lock.end(), 0);
    }
    return new LowLevelFs.Lock(c.getType() == LockType.READ ? LowLevelFs.Lock.F_RDLCK : LowLevelFs.Lock.F_WRLCK,
        c.getStart(), c.getEnd() == TO_EOF ? Long.MAX_VALUE : c.getEnd(), c.getPid());
  }

  void setlk(long ino, long owner, LowLevelFs.Lock lock, boolean sleep, LowLevelFs.Request req)
      throws MetaException, InterruptedException {
    set(ino, posix(owner, lock), sleep, req);
  }

  /** flock(2) op: LOCK_SH 1, LOCK_EX 2, LOCK_UN 8, LOCK_NB 4. */
  void flock(long ino, long owner, int op, LowLevelFs.Request req) throws MetaException, InterruptedException {
    LockType type = (op & 8) != 0 ? LockType.UNLOCK : (op & 2) != 0 ? LockType.WRITE : LockType.READ;
    Lock l = Lock.newBuilder().setKind(LockKind.FLOCK).setType(type).setStart(0).setEnd(TO_EOF).setOwner(owner)
        .setPid(req.pid()).setSessionId(sessionId.getAsLong()).build();
    set(ino, l, (op & 4) == 0 && type != LockType.UNLOCK, req);
  }

  private void set(long ino, Lock lock, boolean wait, LowLevelFs.Request req)
      throws MetaException, InterruptedException {
    if (lock.getType() != LockType.UNLOCK) {
      lockedInodes.add(ino);
    }
    SetLockRequest r = SetLockRequest.newBuilder().setIno(ino).setLock(lock).setWait(wait).build();
    if (!wait) {
      meta.call(MetaRequest.newBuilder().setSetLock(r).build());
      return;
    }
    Key key = new Key(ino, lock.getOwner(), lock.getKind());
    if (waiters.size() >= MAX_WAITERS) {
      throw new MetaException(Code.ENOLCK, "more than " + MAX_WAITERS + " lock waits at once");
    }
    // Registered before the call: the grant event may overtake the call's reply.
    Waiter w = new Waiter(r, new CompletableFuture<>());
    if (waiters.putIfAbsent(key, w) != null) {
      throw new MetaException(Code.EDEADLK, "owner " + lock.getOwner() + " already waits for a lock on " + ino);
    }
    try {
      LockReply reply = meta.call(MetaRequest.newBuilder().setSetLock(r).build()).getLock();
      if (!reply.getQueued()) {
        return;
      }
      while (true) {
        boolean interrupted;
        try {
          w.granted().get(INTERRUPT_CHECK_MS, TimeUnit.MILLISECONDS);
          return;
        } catch (TimeoutException e) {
          interrupted = req.interrupted();
        } catch (InterruptedException e) {
          // The binding interrupts the thread as well as setting the flag; the flag is now clear, so the
          // cancel call below is not cut short.
          interrupted = true;
        } catch (ExecutionException e) {
          throw e.getCause() instanceof MetaException me ? me : new MetaException(Code.EIO, e.toString());
        }
        if (interrupted) {
          // Withdraw the queued request: left queued, a later grant would give the lock to nobody.
          if (!cancel(key) || w.granted().isDone()) {
            return; // granted before the cancel arrived: the lock is held, and the caller is told so
          }
          throw new InterruptedException("lock wait interrupted");
        }
      }
    } finally {
      waiters.remove(key, w);
    }
  }

  /** Withdraws a queued request; true if it was still waiting, false if it had been granted. */
  private boolean cancel(Key key) throws MetaException {
    return meta.call(MetaRequest.newBuilder().setCancelLock(CancelLockRequest.newBuilder().setIno(key.ino())
        .setSessionId(sessionId.getAsLong()).setOwner(key.owner()).setKind(key.kind())).build())
        .getLock().getQueued();
  }

  /** A LockGranted event of the watch. */
  void granted(long ino, Lock lock) {
    Waiter w = waiters.get(new Key(ino, lock.getOwner(), lock.getKind()));
    if (w != null) {
      w.granted().complete(null);
    }
  }

  /**
   * After a watch resync: a waiter whose grant event was lost finds out by sending its request again (the
   * service keeps its place in the queue). Runs off the watch thread, which must not block.
   */
  void retryWaiters() {
    if (waiters.isEmpty()) {
      return;
    }
    Thread.ofVirtual().name("shoal-lock-resend").start(() -> {
      for (Waiter w : waiters.values()) {
        if (w.granted().isDone()) {
          continue;
        }
        try {
          if (!meta.call(MetaRequest.newBuilder().setSetLock(w.request()).build()).getLock().getQueued()) {
            w.granted().complete(null);
          }
        } catch (MetaException e) {
          w.granted().completeExceptionally(e);
        }
      }
    });
  }

  /** The session was lost (its locks and queued requests with it): every wait fails. */
  void sessionLost() {
    for (Waiter w : waiters.values()) {
      w.granted().completeExceptionally(new MetaException(Code.ENOLCK, "the client session was lost"));
    }
  }

  /**
   * close(2) of a descriptor ({@code flock} false: the POSIX locks of {@code owner} go) or the last close of an
   * open file description ({@code flock} true: its flock lock goes too). No call for an inode never locked here.
   */
  void release(long ino, long owner, boolean flock) throws MetaException {
    if (!lockedInodes.contains(ino)) {
      return;
    }
    meta.call(MetaRequest.newBuilder().setReleaseLocks(ReleaseLocksRequest.newBuilder().setIno(ino)
        .setSessionId(sessionId.getAsLong()).setOwner(owner).setFlock(flock)).build());
  }

  /** The kernel forgot the inode: no descriptor is open on it, so none of its locks can be ours any more. */
  void forgotten(long ino) {
    lockedInodes.remove(ino);
  }

  private Lock posix(long owner, LowLevelFs.Lock l) {
    LockType type = switch (l.type()) {
      case LowLevelFs.Lock.F_RDLCK -> LockType.READ;
      case LowLevelFs.Lock.F_WRLCK -> LockType.WRITE;
      default -> LockType.UNLOCK;
    };
    return Lock.newBuilder().setKind(LockKind.POSIX).setType(type).setStart(l.start())
        .setEnd(l.end() == Long.MAX_VALUE ? TO_EOF : l.end()).setOwner(owner).setPid(l.pid())
        .setSessionId(sessionId.getAsLong()).build();
  }
}
