package io.shoalfs.fuse;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the kernel holds of this mount: for every inode it was given (by an entry reply), its lookup count,
 * the last name it was given under, and the data version its cached pages belong to.
 *
 * <p>Node ids are Shoal inode numbers, except the mount's root: the kernel calls it 1 (FUSE_ROOT_ID) whatever
 * its Shoal number is (a subvolume's root is not 1). {@link #toShoal} and {@link #toKernel} are the only places
 * that mapping lives. The metadata service never reuses an inode number, so the generation is always 0.
 * Shoal inode 1 (the root volume's root) is never inside a subvolume, so it cannot collide with the mapped root.
 *
 * <p>Bound: an entry lives exactly as long as the kernel holds the inode (until forget brings the count to 0),
 * so the table is as large as the kernel's inode cache for this mount, which the kernel itself bounds (it
 * forgets under memory pressure and at unmount). Past {@link #WARN_ENTRIES} one warning is logged.
 */
final class NodeTable {
  private static final Logger LOG = LoggerFactory.getLogger(NodeTable.class);
  static final int WARN_ENTRIES = 4_000_000;

  /** One inode the kernel holds. Fields are guarded by the node's monitor. */
  static final class Node {
    final long ino;
    long lookups;
    long parent;
    String name;
    /** Attr.version whose pages the kernel may cache (set at open); -1: unknown, do not keep pages. */
    long pageVersion = -1;
    /** Counts changes of the inode's xattrs seen (watch events, this mount's own set and remove). */
    long xattrGen;
    /** The service said the inode has no security.capability, and {@link #xattrGen} has not moved since. */
    boolean noCapability;

    Node(long ino) {
      this.ino = ino;
    }
  }

  /** A name the kernel may cache: (parent, name) in kernel node ids. */
  record Name(long parent, String name) {}

  private final long rootIno;
  private final ConcurrentHashMap<Long, Node> nodes = new ConcurrentHashMap<>();
  private volatile boolean warned;

  NodeTable(long rootIno) {
    this.rootIno = rootIno;
  }

  long rootIno() {
    return rootIno;
  }

  /** The Shoal inode of a kernel node id. */
  long toShoal(long nodeId) {
    return nodeId == io.shoalfs.fuse.ll.LowLevelFs.ROOT_ID ? rootIno : nodeId;
  }

  /** The kernel node id of a Shoal inode. */
  long toKernel(long ino) {
    return ino == rootIno ? io.shoalfs.fuse.ll.LowLevelFs.ROOT_ID : ino;
  }

  /** One more kernel reference to {@code ino}, given under {@code name} in {@code parentIno} (Shoal numbers). */
  void looked(long ino, long parentIno, String name) {
    if (ino == rootIno) {
      return; // the kernel never forgets the root
    }
    Node n = nodes.computeIfAbsent(ino, Node::new);
    synchronized (n) {
      n.lookups++;
      n.parent = parentIno;
      n.name = name;
    }
    if (!warned && nodes.size() > WARN_ENTRIES) {
      warned = true;
      LOG.warn("the kernel holds more than {} inodes of this mount", WARN_ENTRIES);
    }
  }

  /** The kernel dropped {@code count} references. */
  void forget(long ino, long count) {
    Node n = nodes.get(ino);
    if (n == null) {
      return;
    }
    synchronized (n) {
      n.lookups -= count;
      if (n.lookups <= 0) {
        // Remove under the node's lock, and only this node: a concurrent looked() that raced in first made a
        // new count on the same object, which we must not lose.
        nodes.remove(ino, n);
      }
    }
  }

  /**
   * Whether the kernel may keep pages it cached of {@code ino}: yes if they belong to {@code version}, the
   * data version just read at open. Records {@code version} as what the pages belong to from now on.
   */
  boolean keepPages(long ino, long version) {
    Node n = nodes.get(ino);
    if (n == null) {
      return false;
    }
    synchronized (n) {
      boolean keep = n.pageVersion == version;
      n.pageVersion = version;
      return keep;
    }
  }

  /** The pages of {@code ino} no longer match any version we know (another client changed the data). */
  void dropPages(long ino) {
    Node n = nodes.get(ino);
    if (n != null) {
      synchronized (n) {
        n.pageVersion = -1;
      }
    }
  }

  /**
   * The xattr generation of {@code ino} before asking the service for security.capability, or -1 when it is
   * known to have none. The kernel asks for that xattr before every write(2) (to clear file capabilities), so
   * without this every write would wait for a metadata round trip first.
   */
  long capabilityGen(long ino) {
    Node n = nodes.get(ino);
    if (n == null) {
      return Long.MIN_VALUE;
    }
    synchronized (n) {
      return n.noCapability ? -1 : n.xattrGen;
    }
  }

  /** The service said {@code ino} has no security.capability at generation {@code gen}. */
  void noCapability(long ino, long gen) {
    Node n = nodes.get(ino);
    if (n != null) {
      synchronized (n) {
        if (n.xattrGen == gen) {
          n.noCapability = true;
        }
      }
    }
  }

  /** The xattrs of {@code ino} may have changed (an event of the watch, or this mount set or removed one). */
  void xattrsChanged(long ino) {
    Node n = nodes.get(ino);
    if (n != null) {
      synchronized (n) {
        n.xattrGen++;
        n.noCapability = false;
      }
    }
  }

  /** Forgets every cached absence of security.capability (the watch lost events). */
  void xattrsChangedAll() {
    for (Long ino : nodes.keySet()) {
      xattrsChanged(ino);
    }
  }

  /** The Shoal inode of the directory {@code ino} was last looked up in (the root for the root or unknown). */
  long parentOf(long ino) {
    Node n = nodes.get(ino);
    if (n == null) {
      return rootIno;
    }
    synchronized (n) {
      return n.parent == 0 ? rootIno : n.parent;
    }
  }

  boolean holds(long ino) {
    return ino == rootIno || nodes.containsKey(ino);
  }

  int size() {
    return nodes.size();
  }

  /** Everything the kernel holds, for a full invalidation: the inodes (kernel ids) and the names. */
  void snapshot(List<Long> inodes, List<Name> names) {
    inodes.add(io.shoalfs.fuse.ll.LowLevelFs.ROOT_ID);
    for (Node n : nodes.values()) {
      synchronized (n) {
        inodes.add(n.ino);
        n.pageVersion = -1;
        if (n.name != null) {
          names.add(new Name(toKernel(n.parent), n.name));
        }
      }
    }
  }

  List<Long> inodes() {
    List<Long> out = new ArrayList<>(nodes.keySet());
    out.add(io.shoalfs.fuse.ll.LowLevelFs.ROOT_ID);
    return out;
  }
}
