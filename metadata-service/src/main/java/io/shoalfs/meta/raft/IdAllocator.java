package io.shoalfs.meta.raft;

import io.shoalfs.meta.core.FsError;
import io.shoalfs.proto.meta.Code;

/**
 * Cluster-unique inode and chunk ids without coordination: {@code id = term << 40 | n}, where n counts the ids
 * the leader of that term handed out, starting at 1.
 *
 * <p>Why this is unique: Raft elects at most one leader per term, and apply rejects (EAGAIN) an entry whose
 * ids do not carry the term the entry was appended in, so ids with prefix T appear only in entries written by
 * the one leader of term T, which counts them in memory. A restarted replica never leads a term it led before
 * (terms only grow), so losing the counter on restart is harmless.
 *
 * <p>Limits: 40 bits of counter (1.1e12 ids per term) and 23 bits of term (8.4 million elections) keep ids
 * positive, so big-endian keys sort numerically. The root directory (ino 1) is below every allocated id.
 */
final class IdAllocator {
  static final int COUNTER_BITS = 40;
  static final long MAX_COUNTER = (1L << COUNTER_BITS) - 1;
  static final long MAX_TERM = (1L << (63 - COUNTER_BITS)) - 1;

  private long term = -1;
  private long counter;

  /** {@code n} fresh ids for an entry proposed in {@code currentTerm}. */
  synchronized long[] next(long currentTerm, int n) throws FsError {
    if (currentTerm < 1 || currentTerm > MAX_TERM) {
      throw new FsError(Code.ENOSPC, "term " + currentTerm + " is outside the id space");
    }
    if (currentTerm != term) {
      term = currentTerm;
      counter = 0;
    }
    if (counter + n > MAX_COUNTER) {
      throw new FsError(Code.ENOSPC, "ids of term " + currentTerm + " are exhausted; a new election resets them");
    }
    long[] out = new long[n];
    for (int i = 0; i < n; i++) {
      out[i] = (currentTerm << COUNTER_BITS) | ++counter;
    }
    return out;
  }

  static long termOf(long id) {
    return id >>> COUNTER_BITS;
  }
}
