package io.shoalfs.client;

import java.util.TreeSet;

/**
 * One client's call ids: handed out in order, each counted in flight until its call has its reply (or gave up),
 * and the acknowledged id every call carries: the highest id below every call still in flight, so that the
 * service can forget the replies up to it (metadata-service raft ClientCalls) and refuses a call at or below it
 * as "acknowledged already" (EINVAL).
 *
 * <p>Handing out an id and counting it in flight are one step under this object's lock, and so is computing the
 * acknowledged id. With two steps, a thread preempted between them held an id no one counted: a concurrent call
 * acknowledged it, reached the service first, and the slower call was then refused with EINVAL, which reached
 * the application (a mount's fsync and close under four writers; a background write-back of FileIo, whose bytes
 * are then dropped).
 *
 * <p>Bound: the set holds the calls in flight, at most one per calling thread.
 */
final class CallIds {
  /** Guarded by this. */
  private long next = 1;
  /** Ids handed out whose calls have not ended; guarded by this. */
  private final TreeSet<Long> inFlight = new TreeSet<>();

  /** A new call id, counted in flight until {@link #end}. */
  synchronized long begin() {
    long id = next++;
    inFlight.add(id);
    return id;
  }

  /** The call {@code id} has its reply (or will never be sent again): it may be acknowledged now. */
  synchronized void end(long id) {
    inFlight.remove(id);
  }

  /** Highest call id at or below which every call has ended: below every id handed out and not ended. */
  synchronized long acked() {
    return inFlight.isEmpty() ? next - 1 : inFlight.first() - 1;
  }
}
