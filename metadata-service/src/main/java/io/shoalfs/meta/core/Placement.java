package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.records.DaemonRecord;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Chooses the storage group of a new chunk, on the leader only (the choice travels in the log entry).
 * Round-robin over the registered daemons in id order; the counter is in memory, so a new leader starts over,
 * which only matters for balance, never for correctness.
 */
public final class Placement {
  private final AtomicLong next = new AtomicLong();

  /** A group id, or "" when no daemon is registered (apply then answers ENOSPC). */
  public String choose(Tx tx) {
    List<DaemonRecord> daemons = Daemons.all(tx);
    if (daemons.isEmpty()) {
      return "";
    }
    int i = (int) Math.floorMod(next.getAndIncrement(), (long) daemons.size());
    return Daemons.groupOf(daemons.get(i).getId());
  }
}
