package io.shoalfs.csi.core;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One in-flight operation per volume. The CO normally serialises calls per volume, but after a CO restart two
 * may race; the second gets {@link CsiError.Busy} (ABORTED) and retries, as the spec allows. Never blocks, so no
 * wait needs a bound.
 */
public final class VolumeLocks {
  private final Set<String> held = ConcurrentHashMap.newKeySet();

  /** A held lock; release it with try-with-resources. */
  public final class Held implements AutoCloseable {
    private final String key;

    private Held(String key) {
      this.key = key;
    }

    @Override
    public void close() {
      held.remove(key);
    }
  }

  public Held acquire(String key) throws CsiError.Busy {
    if (!held.add(key)) {
      throw new CsiError.Busy("an operation on " + key + " is already in progress");
    }
    return new Held(key);
  }
}
