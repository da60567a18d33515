package io.shoalfs.fuse;

import io.shoalfs.client.SessionClient;
import io.shoalfs.fuse.ll.Notifier;
import io.shoalfs.proto.meta.EntryChanged;
import io.shoalfs.proto.meta.InodeChanged;
import io.shoalfs.proto.meta.LockGranted;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns the session's watch events into kernel invalidations (DESIGN decision 7): another client changed an
 * inode or a name, so the kernel must drop exactly what it caches of it.
 *
 * <ul>
 *   <li>InodeChanged: the inode's attributes; with {@code data}, its cached pages too (and its pages no longer
 *       match any version, so the next open does not keep them).
 *   <li>EntryChanged: the name (parent, name), positive or negative.
 *   <li>Resync (the watch was (re)opened and may have missed events): every inode and every name the kernel
 *       holds, and every blocked lock wait asks again.
 *   <li>LockGranted: wakes the waiting F_SETLKW / flock.
 * </ul>
 *
 * <p>Events caused by this mount itself are invalidated too: skipping them would be safe only if no other
 * client's change could interleave, which the event does not tell. The Notifier returns at once (the binding
 * sends from its own thread), so the watch thread never waits for the kernel.
 */
final class Coherence implements SessionClient.Listener {
  private static final Logger LOG = LoggerFactory.getLogger(Coherence.class);

  private final NodeTable nodes;
  private final Locks locks;
  private volatile Notifier notifier;

  private final java.util.function.LongConsumer dataChanged;

  Coherence(NodeTable nodes, Locks locks, java.util.function.LongConsumer dataChanged) {
    this.nodes = nodes;
    this.locks = locks;
    this.dataChanged = dataChanged;
  }

  /** Set once the kernel session runs; events before that have nothing to invalidate. */
  void attach(Notifier n) {
    this.notifier = n;
  }

  @Override
  public void onLockGranted(LockGranted g) {
    locks.granted(g.getIno(), g.getLock());
  }

  @Override
  public void onSessionLost(long lostSession, long newSession) {
    // Opens and locks of the old session are gone on the service; the kernel's caches may be stale too.
    locks.sessionLost();
    onResync();
  }

  @Override
  public void onInode(InodeChanged c) {
    long ino = c.getIno();
    nodes.xattrsChanged(ino);
    dataChanged.accept(ino); // the open file's chunks asked for writing may be gone (a truncate elsewhere)
    Notifier n = notifier;
    if (n == null || !nodes.holds(ino)) {
      return;
    }
    if (c.getData()) {
      nodes.dropPages(ino);
      n.invalidateInode(nodes.toKernel(ino), 0, -1);
    } else {
      n.invalidateInode(nodes.toKernel(ino), 0, 0);
    }
  }

  @Override
  public void onEntry(EntryChanged c) {
    Notifier n = notifier;
    if (n != null && nodes.holds(c.getParent())) {
      // Expire, not invalidate: a directory that was just created here may already be a process's cwd.
      n.expireEntry(nodes.toKernel(c.getParent()), c.getName());
    }
  }

  /** Drops everything the kernel holds of this mount. */
  @Override
  public void onResync() {
    nodes.xattrsChangedAll();
    Notifier n = notifier;
    if (n != null) {
      List<Long> inodes = new ArrayList<>();
      List<NodeTable.Name> names = new ArrayList<>();
      nodes.snapshot(inodes, names);
      for (NodeTable.Name name : names) {
        n.expireEntry(name.parent(), name.name());
      }
      for (long ino : inodes) {
        n.invalidateInode(ino, 0, -1);
      }
      LOG.info("watch resync: invalidated {} inodes and {} names", inodes.size(), names.size());
    }
    locks.retryWaiters();
  }
}
