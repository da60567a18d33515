package io.shoalfs.fuse.core;

import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/**
 * Path -> inode number, for at most {@code ttl} per entry (like the kernel's entry timeout) and at most
 * {@code maxEntries} entries.
 *
 * <p>jnr-fuse hands every operation a full path; without this cache each one would cost one metadata lookup
 * per path component. Entries are dropped early when this client itself renames or removes a path (with
 * everything under it). A lookup that raced with such a change must not re-insert what was just dropped, so
 * {@link #put} only inserts if no invalidation happened since the caller read {@link #generation()}.
 * Changes made by other clients become visible when the entry expires.
 */
final class PathCache {
  private final TreeMap<String, Entry> entries = new TreeMap<>();
  private final long ttlNanos;
  private final int maxEntries;
  private long generation;

  private record Entry(long ino, long expiresAtNanos) {}

  PathCache(Duration ttl, int maxEntries) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
  }

  synchronized long generation() {
    return generation;
  }

  /** The cached inode of {@code path}, or -1. */
  synchronized long get(String path) {
    Entry e = entries.get(path);
    if (e == null) {
      return -1;
    }
    if (e.expiresAtNanos - System.nanoTime() < 0) {
      entries.remove(path);
      return -1;
    }
    return e.ino;
  }

  synchronized void put(String path, long ino, long seenGeneration) {
    if (seenGeneration != generation || ttlNanos <= 0) {
      return;
    }
    if (entries.size() >= maxEntries) {
      dropExpired();
      if (entries.size() >= maxEntries) {
        // Everything is young: a burst of distinct paths. Starting over is cheaper than tracking recency.
        entries.clear();
      }
    }
    entries.put(path, new Entry(ino, System.nanoTime() + ttlNanos));
  }

  /** Drops {@code path} and every path below it. */
  synchronized void invalidateTree(String path) {
    generation++;
    entries.remove(path);
    String prefix = path.endsWith("/") ? path : path + "/";
    entries.subMap(prefix, true, prefix + Character.MAX_VALUE, true).clear();
  }

  /** Drops {@code path}, every path below it and every ancestor (one of which may be what went stale). */
  synchronized void invalidateChain(String path) {
    invalidateTree(path);
    for (int i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
      entries.remove(path.substring(0, i));
    }
  }

  synchronized int size() {
    return entries.size();
  }

  private void dropExpired() {
    long now = System.nanoTime();
    for (Iterator<Map.Entry<String, Entry>> it = entries.entrySet().iterator(); it.hasNext(); ) {
      if (it.next().getValue().expiresAtNanos - now < 0) {
        it.remove();
      }
    }
  }
}
