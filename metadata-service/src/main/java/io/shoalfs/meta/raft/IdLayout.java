package io.shoalfs.meta.raft;

/**
 * Cluster-unique inode, chunk and session ids derived from where a call sits in the log, so no leader keeps
 * a counter and no call can fail for want of an id:
 *
 * <pre>
 *   id = 1 &lt;&lt; 62 | (log index + 1) &lt;&lt; 13 | position in batch &lt;&lt; 3 | k
 *        bit 62      bits 13-61 (49 bits)     bits 3-12 (10 bits)       bits 0-2
 * </pre>
 *
 * <p>Why unique: a log index holds exactly one committed entry, a position one call of it, and k counts the
 * ids of that call ({@link #IDS_PER_CALL} at most). Every replica computes the same ids when it applies the
 * entry, and a call replayed after a restart gets the same ids again (they were never handed to anyone else).
 * Bit 62 keeps these ids apart from the {@code term << 40 | n} ids of earlier versions (terms stayed far below
 * 2^22). All ids are positive (bit 63 is clear), so big-endian keys sort numerically, and all are far above the
 * root directory (ino 1).
 *
 * <p>Limits: 2^39 - 1 log entries (see {@link #MAX_INDEX}), {@link #MAX_CALLS_PER_ENTRY} calls per entry, {@link #IDS_PER_CALL}
 * ids per call.
 */
public final class IdLayout {
  public static final int K_BITS = 3;
  public static final int POSITION_BITS = 10;
  public static final int IDS_PER_CALL = 1 << K_BITS;
  public static final int MAX_CALLS_PER_ENTRY = 1 << POSITION_BITS;
  static final int INDEX_SHIFT = K_BITS + POSITION_BITS;
  static final long MARKER = 1L << 62;
  /**
   * Bits 52-61 of an inode number name a clone's inode space (store Versions.SPACE_SHIFT), so ids stop below bit
   * 52: 2^39 - 1 log entries (5.5e11; 17 years at 1000 entries a second).
   */
  static final long MAX_INDEX = (1L << (52 - INDEX_SHIFT)) - 2;

  private IdLayout() {}

  /** The k-th id of the call at {@code position} of the entry at {@code index}. */
  public static long id(long index, int position, int k) {
    if (index < 0 || index > MAX_INDEX) {
      throw new IllegalStateException("log index " + index + " is outside the id space");
    }
    if (position < 0 || position >= MAX_CALLS_PER_ENTRY) {
      throw new IllegalStateException("position " + position + " in an entry is outside the id space");
    }
    if (k < 0 || k >= IDS_PER_CALL) {
      throw new IllegalStateException("a call may use at most " + IDS_PER_CALL + " ids, asked for id " + k);
    }
    return MARKER | (index + 1) << INDEX_SHIFT | (long) position << K_BITS | k;
  }

  /** The log index an id was derived from (diagnostics and tests). */
  public static long indexOf(long id) {
    return ((id & ~MARKER) >>> INDEX_SHIFT) - 1;
  }
}
