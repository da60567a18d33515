package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.PairKey;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.CloseFileRequest;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.OpenFileRequest;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.OpenCountRecord;
import io.shoalfs.proto.records.UnlinkedRecord;
import java.util.ArrayList;
import java.util.List;

/**
 * Open files of sessions and open-but-unlinked inodes. An open is counted per (session, ino) in {@code opens}
 * and summed per ino in {@code open_inodes}. When the last name of an inode with opens goes (unlink, rename
 * over it), {@link #keepUnlinked} keeps the inode with nlink 0 in {@code unlinked} instead of reclaiming it;
 * the last close (or the expiry of the last session holding it) reclaims it through {@link Inodes#reclaim}.
 */
final class OpenFiles {
  /** Opens one session may hold of one inode: far above any real descriptor count, catches a leak. */
  static final long MAX_OPENS_PER_SESSION_INODE = 1L << 20;

  private OpenFiles() {}

  /** open(2): one more open by the session; fresh attributes (close-to-open). */
  static MetaReply open(Tx tx, WriteContext ctx, OpenFileRequest r) throws FsError {
    Sessions.require(tx, r.getSessionId());
    InodeRecord inode = Inodes.require(tx, r.getIno());
    if (tx.get(MetaTables.UNLINKED, r.getIno()) != null) {
      // No name reaches it any more; only an open-by-handle could ask. Linux refuses those too.
      throw FsError.of(Code.ENOENT, "inode %d is unlinked", r.getIno());
    }
    countOpen(tx, r.getSessionId(), r.getIno());
    return Inodes.attrReply(r.getIno(), inode);
  }

  /** create(2) with {@code open_session}: the created (or opened) file counts one open, in the same entry. */
  static MetaReply afterCreate(Tx tx, CreateRequest r, MetaReply created) throws FsError {
    if (r.getOpenSession() != 0) {
      Sessions.require(tx, r.getOpenSession());
      countOpen(tx, r.getOpenSession(), created.getAttr().getIno());
    }
    return created;
  }

  static MetaReply close(Tx tx, WriteContext ctx, CloseFileRequest r) throws FsError {
    Sessions.require(tx, r.getSessionId());
    PairKey key = new PairKey(r.getSessionId(), r.getIno());
    OpenCountRecord c = tx.get(MetaTables.OPENS, key);
    if (c == null) {
      throw FsError.of(Code.EBADF, "session %d has no open of inode %d", r.getSessionId(), r.getIno());
    }
    if (c.getCount() > 1) {
      tx.put(MetaTables.OPENS, key, count(c.getCount() - 1));
    } else {
      tx.delete(MetaTables.OPENS, key);
      Quotas.releaseInode(tx, r.getSessionId(), r.getIno()); // the session's last close: its reservation returns
    }
    uncount(tx, r.getIno(), 1);
    return Inodes.empty();
  }

  /** Every open of a closed or expired session goes; unlinked inodes whose last open it was are reclaimed. */
  static void releaseSession(Tx tx, long session) {
    List<PairKey> keys = new ArrayList<>();
    List<Long> counts = new ArrayList<>();
    tx.scan(MetaTables.OPENS, PairKey.prefix(session), null, (k, v) -> {
      keys.add(k);
      counts.add(v.getCount());
      return true;
    });
    for (int i = 0; i < keys.size(); i++) {
      tx.delete(MetaTables.OPENS, keys.get(i));
      uncount(tx, keys.get(i).second(), counts.get(i));
    }
  }

  /** True if any session holds {@code ino} open. */
  static boolean isOpen(Tx tx, long ino) {
    return tx.get(MetaTables.OPEN_INODES, ino) != null;
  }

  /**
   * The last name of an open inode went: it stays, with nlink 0 and in no directory, until its last open ends.
   * Its data and usage stay counted (as a Linux filesystem's statfs shows until the last close).
   */
  static void keepUnlinked(Tx tx, long ino, InodeRecord r) {
    tx.put(MetaTables.INODES, ino, r.toBuilder().setNlink(0).setVersion(r.getVersion() + 1).build());
    tx.put(MetaTables.UNLINKED, ino, UnlinkedRecord.newBuilder().setUnlinkedNs(r.getCtimeNs()).build());
  }

  private static void countOpen(Tx tx, long session, long ino) throws FsError {
    PairKey key = new PairKey(session, ino);
    OpenCountRecord c = tx.get(MetaTables.OPENS, key);
    long n = c == null ? 0 : c.getCount();
    if (n >= MAX_OPENS_PER_SESSION_INODE) {
      throw FsError.of(Code.ENOSPC, "session %d has %d opens of inode %d", session, n, ino);
    }
    tx.put(MetaTables.OPENS, key, count(n + 1));
    OpenCountRecord total = tx.get(MetaTables.OPEN_INODES, ino);
    tx.put(MetaTables.OPEN_INODES, ino, count((total == null ? 0 : total.getCount()) + 1));
  }

  private static void uncount(Tx tx, long ino, long n) {
    OpenCountRecord total = tx.get(MetaTables.OPEN_INODES, ino);
    if (total == null || total.getCount() < n) {
      throw new IllegalStateException("open count of inode " + ino + " below " + n + ": " + total);
    }
    if (total.getCount() > n) {
      tx.put(MetaTables.OPEN_INODES, ino, count(total.getCount() - n));
      return;
    }
    tx.delete(MetaTables.OPEN_INODES, ino);
    if (tx.get(MetaTables.UNLINKED, ino) != null) {
      tx.delete(MetaTables.UNLINKED, ino);
      InodeRecord r = tx.get(MetaTables.INODES, ino);
      if (r == null) {
        throw new IllegalStateException("unlinked inode " + ino + " has no record");
      }
      Inodes.reclaim(tx, ino, r);
    }
  }

  private static OpenCountRecord count(long n) {
    return OpenCountRecord.newBuilder().setCount(n).build();
  }
}
