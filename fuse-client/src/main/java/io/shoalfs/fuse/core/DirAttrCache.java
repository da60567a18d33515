package io.shoalfs.fuse.core;

import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.FileType;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * Attributes of directories for at most {@code ttl}, bounded in size.
 *
 * <p>The kernel is told to cache no attributes (attr_timeout=0): with fuse2's path-based API it is the only way
 * a file opened here sees the size another client committed before the open (close-to-open). The price would
 * be a metadata call for every directory on every path walk (permission checks, default_permissions), so
 * directories, whose attributes carry no file data, are cached here as the kernel would have. This client's
 * own changes to a directory drop its entry.
 */
final class DirAttrCache {
  private final Map<Long, Entry> entries = new HashMap<>();
  private final long ttlNanos;
  private final int maxEntries;

  private record Entry(Attr attr, long expiresAtNanos) {}

  DirAttrCache(Duration ttl, int maxEntries) {
    this.ttlNanos = ttl.toNanos();
    this.maxEntries = maxEntries;
  }

  synchronized Attr get(long ino) {
    Entry e = entries.get(ino);
    if (e == null) {
      return null;
    }
    if (e.expiresAtNanos - System.nanoTime() < 0) {
      entries.remove(ino);
      return null;
    }
    return e.attr;
  }

  /** Remembers {@code a} if it is a directory's. */
  synchronized void offer(Attr a) {
    if (a.getType() != FileType.DIRECTORY || ttlNanos <= 0) {
      return;
    }
    if (entries.size() >= maxEntries && !entries.containsKey(a.getIno())) {
      long now = System.nanoTime();
      entries.values().removeIf(e -> e.expiresAtNanos - now < 0);
      if (entries.size() >= maxEntries) {
        entries.clear();
      }
    }
    entries.put(a.getIno(), new Entry(a, System.nanoTime() + ttlNanos));
  }

  synchronized void invalidate(long ino) {
    entries.remove(ino);
  }
}
