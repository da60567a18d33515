package io.shoalfs.meta.core;

import com.google.protobuf.ByteString;
import java.util.List;

/**
 * What a write needs beyond the current state, fixed on the leader before the entry entered the log and read
 * back from the entry by every replica: the leader's clock, fresh ids, the placement of a new chunk, and the
 * calling session (MetaCall.session_id; 0 = none), whose reservations a commit consumes, and random bytes
 * (register_daemon: the cluster's write key if it has none yet; empty otherwise).
 */
public record WriteContext(long nowNs, List<Long> newIds, String groupId, long sessionId, ByteString secret) {
  public WriteContext {
    newIds = List.copyOf(newIds);
  }

  public WriteContext(long nowNs, List<Long> newIds, String groupId, long sessionId) {
    this(nowNs, newIds, groupId, sessionId, ByteString.EMPTY);
  }

  /** Without a calling session (entries of the old layout, tests). */
  public WriteContext(long nowNs, List<Long> newIds, String groupId) {
    this(nowNs, newIds, groupId, 0);
  }

  /** The i-th id allocated for this entry; the leader allocates exactly {@link MetaOps#idsNeeded} of them. */
  long id(int i) {
    if (i >= newIds.size()) {
      throw new IllegalStateException("log entry carries " + newIds.size() + " new ids, needs at least " + (i + 1));
    }
    return newIds.get(i);
  }
}
