package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CloseSessionRequest;
import io.shoalfs.proto.meta.ExpireSessionsRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.OpenSessionRequest;
import io.shoalfs.proto.meta.RenewSessionRequest;
import io.shoalfs.proto.meta.SessionReply;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.SessionRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Client sessions (DESIGN decision 11): open, renew, close, expire. A session owns its opens, its locks, its
 * queued lock requests and its watch. Its lease runs from the clock of the entry that opened or last renewed
 * it; an ExpireSessions entry (proposed by the leader only) releases a session whose lease ran out by that
 * entry's clock. Everything here is deterministic: times come from the entry ({@link WriteContext#nowNs}).
 */
public final class Sessions {
  /**
   * How long a session lives without a renewal. Clients renew every {@code SessionClient.RENEW_EVERY} (1.5 s),
   * so three renewals in a row must be lost before a live client loses its session; a dead client's locks go
   * after at most this plus the leader's expiry timer period.
   */
  public static final Duration LEASE = Duration.ofSeconds(5);
  static final long LEASE_NS = LEASE.toNanos();
  /** Longest client name kept (an operator's label, not an identity). */
  static final int MAX_CLIENT_NAME = 256;
  /** Most sessions one ExpireSessions entry may release: bounds the work of one apply. */
  public static final int MAX_EXPIRE_PER_ENTRY = 256;

  private Sessions() {}

  static MetaReply open(Tx tx, WriteContext ctx, OpenSessionRequest r) throws FsError {
    if (r.getClientName().length() > MAX_CLIENT_NAME) {
      throw FsError.of(Code.ENAMETOOLONG, "client name longer than %d", MAX_CLIENT_NAME);
    }
    if (r.getScopeRoot() != 0) {
      InodeRecord root = Inodes.requireDir(tx, r.getScopeRoot());
      if (root.getSubvolumeRoot() != r.getScopeRoot()) {
        // A scope is a whole volume (core Scope compares the inodes' volume with it).
        throw FsError.of(Code.EINVAL, "inode %d is not the root of a volume", r.getScopeRoot());
      }
    }
    long id = ctx.id(0);
    tx.put(MetaTables.SESSIONS, id, SessionRecord.newBuilder().setClientName(r.getClientName())
        .setScopeRoot(r.getScopeRoot()).setRenewedNs(ctx.nowNs()).setOpenedNs(ctx.nowNs()).build());
    return reply(id);
  }

  static MetaReply renew(Tx tx, WriteContext ctx, RenewSessionRequest r) throws FsError {
    SessionRecord s = require(tx, r.getSessionId());
    tx.put(MetaTables.SESSIONS, r.getSessionId(), s.toBuilder().setRenewedNs(ctx.nowNs()).build());
    return reply(r.getSessionId());
  }

  static MetaReply close(Tx tx, WriteContext ctx, CloseSessionRequest r) throws FsError {
    require(tx, r.getSessionId());
    release(tx, ctx, r.getSessionId());
    return Inodes.empty();
  }

  /**
   * Releases the listed sessions whose lease ran out by this entry's clock; the others (renewed since the
   * leader looked, or gone already) are left alone, so a late or repeated entry is harmless.
   */
  static MetaReply expire(Tx tx, WriteContext ctx, ExpireSessionsRequest r) throws FsError {
    if (r.getSessionIdsCount() > MAX_EXPIRE_PER_ENTRY) {
      throw FsError.of(Code.EINVAL, "more than %d sessions in one expiry", MAX_EXPIRE_PER_ENTRY);
    }
    for (long id : r.getSessionIdsList()) {
      SessionRecord s = tx.get(MetaTables.SESSIONS, id);
      if (s != null && expiredAt(s, ctx.nowNs())) {
        release(tx, ctx, id);
      }
    }
    return Inodes.empty();
  }

  /**
   * Everything the session held: opens (reclaiming unlinked inodes), locks (granting waiters), queued requests,
   * quota reservations.
   */
  private static void release(Tx tx, WriteContext ctx, long id) throws FsError {
    OpenFiles.releaseSession(tx, id);
    Locks.releaseSession(tx, id);
    Quotas.releaseSession(tx, id);
    tx.delete(MetaTables.SESSIONS, id);
  }

  static boolean expiredAt(SessionRecord s, long nowNs) {
    return nowNs - s.getRenewedNs() > LEASE_NS;
  }

  static SessionRecord require(Tx tx, long id) throws FsError {
    SessionRecord s = id == 0 ? null : tx.get(MetaTables.SESSIONS, id);
    if (s == null) {
      throw FsError.of(Code.ESTALE, "no session %d (expired or closed)", id);
    }
    return s;
  }

  private static MetaReply reply(long id) {
    return MetaReply.newBuilder().setSession(SessionReply.newBuilder().setSessionId(id)
        .setLeaseMs((int) LEASE.toMillis())).build();
  }

  // ---- leader-side queries (not part of apply) ----

  /** The session record, or null: for the watch service on the leader. */
  public static SessionRecord find(Tx tx, long id) {
    return id == 0 ? null : tx.get(MetaTables.SESSIONS, id);
  }

  /**
   * Up to {@code max} sessions whose lease ran out by {@code nowNs}, counting a renewal as no older than
   * {@code graceFromNs} (a new leader's start: nobody could renew while there was no leader).
   */
  public static List<Long> expired(Tx tx, long nowNs, long graceFromNs, int max) {
    List<Long> out = new ArrayList<>();
    tx.scan(MetaTables.SESSIONS, new byte[0], null, (id, s) -> {
      if (nowNs - Math.max(s.getRenewedNs(), graceFromNs) > LEASE_NS) {
        out.add(id);
      }
      return out.size() < max;
    });
    return out;
  }
}
