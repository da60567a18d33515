package io.shoalfs.fuse;

import io.shoalfs.client.MetaException;
import io.shoalfs.fuse.core.Errno;
import io.shoalfs.fuse.core.FsException;
import io.shoalfs.fuse.core.Namespace;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.ReadDirReply;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Open directories. A listing is paged from the metadata service (by name: "the next page after this name")
 * into a window of entries numbered from 0; readdir offsets are those numbers, plus 2 for "." and "..", so an
 * offset the kernel got stays a valid cookie while the handle is open (telldir/seekdir). The window keeps the
 * last {@link #WINDOW} entries; an offset before it re-reads the listing from the start and counts (rare:
 * only a seekdir far back does that).
 */
final class DirHandles {
  static final int WINDOW = 4096;
  /** Bound of open directory handles (each holds a window). */
  static final int MAX_OPEN = 65_536;

  /** One entry of a listing, with its Shoal inode and st_mode type bits. */
  record Item(String name, long ino, int type) {}

  /** Serves entries from {@code offset} on; returns false to stop (the kernel's buffer is full). */
  @FunctionalInterface
  interface Sink {
    boolean add(Item item, long nextOffset) throws MetaException, FsException;
  }

  private static final class Handle {
    final long ino;
    final long parentIno;
    /** Entries [base, base + items.size()) of the listing. */
    final List<Item> items = new ArrayList<>();
    long base;
    /** Name of the last entry fetched ("" before the first page). */
    String after = "";
    boolean more = true;

    Handle(long ino, long parentIno) {
      this.ino = ino;
      this.parentIno = parentIno;
    }
  }

  private final Namespace ns;
  private final int pageSize;
  private final ConcurrentHashMap<Long, Handle> open = new ConcurrentHashMap<>();
  private final AtomicLong nextFh = new AtomicLong(1);

  DirHandles(Namespace ns, int pageSize) {
    this.ns = ns;
    this.pageSize = pageSize;
  }

  long open(long ino, long parentIno) throws FsException {
    if (open.size() >= MAX_OPEN) {
      throw new FsException(24 /* EMFILE */, "more than " + MAX_OPEN + " open directories");
    }
    long fh = nextFh.getAndIncrement();
    open.put(fh, new Handle(ino, parentIno));
    return fh;
  }

  void release(long fh) {
    open.remove(fh);
  }

  /** Serves "." (offset 0), ".." (1) and then the entries, from {@code offset}. */
  void read(long fh, long offset, Sink sink) throws MetaException, FsException {
    Handle h = open.get(fh);
    if (h == null) {
      throw new FsException(Errno.EBADF, "no open directory " + fh);
    }
    // The kernel serializes readdir on one open directory; the lock only guards against a misbehaving caller.
    synchronized (h) {
      long off = offset;
      if (off == 0) {
        if (!sink.add(new Item(".", h.ino, Namespace.S_IFDIR), 1)) {
          return;
        }
        off = 1;
      }
      if (off == 1) {
        if (!sink.add(new Item("..", h.parentIno, Namespace.S_IFDIR), 2)) {
          return;
        }
        off = 2;
      }
      long index = off - 2;
      if (index < h.base) {
        restart(h);
      }
      while (true) {
        while (index >= h.base + h.items.size()) {
          if (!h.more || !fetch(h)) {
            return;
          }
        }
        Item it = h.items.get((int) (index - h.base));
        if (!sink.add(it, index + 3)) {
          return;
        }
        index++;
      }
    }
  }

  private static void restart(Handle h) {
    h.items.clear();
    h.base = 0;
    h.after = "";
    h.more = true;
  }

  /** Appends the next page to the window, sliding it; false if the listing has ended. */
  private boolean fetch(Handle h) throws MetaException {
    ReadDirReply page = ns.readDir(h.ino, h.after, pageSize);
    List<DirEntry> entries = page.getEntriesList();
    h.more = page.getMore() && !entries.isEmpty();
    if (entries.isEmpty()) {
      return false;
    }
    int overflow = h.items.size() + entries.size() - WINDOW;
    if (overflow > 0) {
      int drop = Math.min(overflow, h.items.size());
      h.items.subList(0, drop).clear();
      h.base += drop;
    }
    for (DirEntry e : entries) {
      h.items.add(new Item(e.getName(), e.getIno(), Namespace.typeBits(e.getType())));
    }
    h.after = entries.get(entries.size() - 1).getName();
    return true;
  }
}
