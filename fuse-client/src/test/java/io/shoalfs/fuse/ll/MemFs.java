package io.shoalfs.fuse.ll;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A small real filesystem in memory for the binding's tests: directories, files, symlinks, hard links, FIFOs and
 * devices, xattrs, POSIX and flock locks. One monitor guards everything; a waiting F_SETLKW or flock waits on it
 * (releasing it), so other requests go on. Every call is recorded ({@link #calls}) so tests can check that the
 * kernel's request reached the filesystem with the right arguments.
 */
class MemFs implements LowLevelFs {
  static final int S_IFMT = 0170000;
  static final int S_IFDIR = 0040000;
  static final int S_IFREG = 0100000;
  static final int S_IFLNK = 0120000;
  /** Longest a waiting lock request waits (a bound on every wait); tests finish well before. */
  private static final long LOCK_WAIT_MAX_MS = 30_000;

  final double attrTimeout;
  final double entryTimeout;
  /** "op arg arg ..." for every call, in order. */
  final ConcurrentLinkedQueue<String> calls = new ConcurrentLinkedQueue<>();
  final AtomicInteger maxWrite = new AtomicInteger();
  final AtomicInteger maxRead = new AtomicInteger();
  final AtomicInteger inFlight = new AtomicInteger();
  final AtomicInteger maxInFlight = new AtomicInteger();
  volatile ConnInfo conn;
  volatile boolean destroyed;
  final Map<Long, Long> lookups = new ConcurrentHashMap<>();

  private final Map<Long, Node> nodes = new HashMap<>();
  private final AtomicLong nextIno = new AtomicLong(2);
  private final AtomicLong nextFh = new AtomicLong(1);

  static final class Node {
    final long ino;
    int mode;
    int uid;
    int gid;
    long rdev;
    long nlink;
    long atime;
    long mtime;
    long ctime;
    byte[] data = new byte[0];
    long size;
    byte[] target;
    final TreeMap<String, Long> children = new TreeMap<>();
    long parent;
    final Map<String, byte[]> xattrs = new TreeMap<>();
    final List<PosixLock> posix = new ArrayList<>();
    final Map<Long, Integer> flocks = new HashMap<>();

    Node(long ino, int mode) {
      this.ino = ino;
      this.mode = mode;
      long now = now();
      atime = mtime = ctime = now;
      nlink = (mode & S_IFMT) == S_IFDIR ? 2 : 1;
    }

    boolean isDir() {
      return (mode & S_IFMT) == S_IFDIR;
    }
  }

  record PosixLock(long owner, int type, long start, long end, int pid) {}

  MemFs(double attrTimeout, double entryTimeout) {
    this.attrTimeout = attrTimeout;
    this.entryTimeout = entryTimeout;
    Node root = new Node(ROOT_ID, S_IFDIR | 0777);
    root.parent = ROOT_ID;
    nodes.put(ROOT_ID, root);
  }

  static long now() {
    java.time.Instant i = java.time.Instant.now();
    return i.getEpochSecond() * 1_000_000_000L + i.getNano();
  }

  private void record(String op, Object... args) {
    StringBuilder b = new StringBuilder(op);
    for (Object a : args) {
      b.append(' ').append(a);
    }
    calls.add(b.toString());
  }

  /** The recorded calls starting with {@code prefix}. */
  List<String> callsStarting(String prefix) {
    List<String> out = new ArrayList<>();
    for (String c : calls) {
      if (c.startsWith(prefix)) {
        out.add(c);
      }
    }
    return out;
  }

  // ------------------------------------------------------------ direct access for tests (outside the kernel)

  synchronized long inoOf(String path) throws FuseError {
    long cur = ROOT_ID;
    for (String part : path.split("/")) {
      if (part.isEmpty()) {
        continue;
      }
      Long c = node(cur).children.get(part);
      if (c == null) {
        throw new FuseError(FuseError.ENOENT, path);
      }
      cur = c;
    }
    return cur;
  }

  /** Changes a file's content behind the kernel's back (as another client would). */
  synchronized void replaceContent(long ino, byte[] content) throws FuseError {
    Node n = node(ino);
    n.data = content.clone();
    n.size = content.length;
    n.mtime = n.ctime = now();
  }

  /** Removes a name behind the kernel's back. */
  synchronized void removeName(long parent, String name) throws FuseError {
    Node p = node(parent);
    Long c = p.children.remove(name);
    if (c != null) {
      node(c).nlink--;
    }
  }

  // ------------------------------------------------------------ helpers

  private Node node(long ino) throws FuseError {
    Node n = nodes.get(ino);
    if (n == null) {
      throw new FuseError(FuseError.ENOENT, "no inode " + ino);
    }
    return n;
  }

  private Node dir(long ino) throws FuseError {
    Node n = node(ino);
    if (!n.isDir()) {
      throw new FuseError(FuseError.ENOTDIR, "not a directory");
    }
    return n;
  }

  private Stat stat(Node n) {
    long size = (n.mode & S_IFMT) == S_IFLNK ? n.target.length : n.isDir() ? 4096 : n.size;
    return new Stat(n.ino, n.mode, n.nlink, n.uid, n.gid, n.rdev, size, (size + 511) / 512, 4096, n.atime, n.mtime,
        n.ctime);
  }

  private Entry entry(Node n) {
    lookups.merge(n.ino, 1L, Long::sum);
    return new Entry(n.ino, 0, stat(n), attrTimeout, entryTimeout);
  }

  private Node newChild(Request req, long parent, String name, int mode) throws FuseError {
    Node p = dir(parent);
    if (name.getBytes(StandardCharsets.UTF_8).length > 255) {
      throw new FuseError(FuseError.ENAMETOOLONG, name);
    }
    if (p.children.containsKey(name)) {
      throw new FuseError(FuseError.EEXIST, name);
    }
    Node n = new Node(nextIno.getAndIncrement(), mode);
    n.uid = req.uid();
    n.gid = req.gid();
    n.parent = parent;
    nodes.put(n.ino, n);
    p.children.put(name, n.ino);
    if (n.isDir()) {
      p.nlink++;
    }
    p.mtime = p.ctime = now();
    return n;
  }

  private void enter() {
    int n = inFlight.incrementAndGet();
    maxInFlight.accumulateAndGet(n, Math::max);
  }

  private void leave() {
    inFlight.decrementAndGet();
  }

  // ------------------------------------------------------------ LowLevelFs

  @Override
  public void init(ConnInfo conn) {
    this.conn = conn;
    record("init", conn.protoMajor() + "." + conn.protoMinor(), conn.maxWrite());
  }

  @Override
  public void destroy() {
    destroyed = true;
    record("destroy");
  }

  @Override
  public synchronized Entry lookup(Request req, long parent, String name) throws FuseError {
    record("lookup", parent, name);
    if (name.equals("boom")) {
      throw new IllegalStateException("a filesystem bug (test): must become EIO");
    }
    Long c = dir(parent).children.get(name);
    if (c == null) {
      throw new FuseError(FuseError.ENOENT, name);
    }
    return entry(node(c));
  }

  @Override
  public void forget(long ino, long nlookup) {
    record("forget", ino, nlookup);
    lookups.merge(ino, -nlookup, Long::sum);
  }

  @Override
  public synchronized Attr getattr(Request req, long ino, long fh) throws FuseError {
    record("getattr", ino);
    return new Attr(stat(node(ino)), attrTimeout);
  }

  @Override
  public synchronized Attr setattr(Request req, long ino, SetAttr c, long fh) throws FuseError {
    record("setattr", ino, Integer.toHexString(c.valid()), Integer.toOctalString(c.mode()), c.uid(), c.gid(),
        c.size(), c.atimeNs(), c.mtimeNs());
    Node n = node(ino);
    long now = now();
    if (c.has(SetAttr.MODE)) {
      n.mode = (n.mode & S_IFMT) | (c.mode() & 07777);
    }
    if (c.has(SetAttr.UID)) {
      n.uid = c.uid();
    }
    if (c.has(SetAttr.GID)) {
      n.gid = c.gid();
    }
    if (c.has(SetAttr.SIZE)) {
      truncate(n, c.size());
      n.mtime = now;
    }
    if (c.has(SetAttr.ATIME)) {
      n.atime = c.has(SetAttr.ATIME_NOW) ? now : c.atimeNs();
    }
    if (c.has(SetAttr.MTIME)) {
      n.mtime = c.has(SetAttr.MTIME_NOW) ? now : c.mtimeNs();
    }
    n.ctime = now;
    return new Attr(stat(n), attrTimeout);
  }

  private static void truncate(Node n, long size) {
    if (size > n.data.length) {
      n.data = java.util.Arrays.copyOf(n.data, (int) size);
    } else {
      java.util.Arrays.fill(n.data, (int) size, n.data.length, (byte) 0);
    }
    n.size = size;
  }

  @Override
  public synchronized byte[] readlink(Request req, long ino) throws FuseError {
    record("readlink", ino);
    Node n = node(ino);
    if (n.target == null) {
      throw new FuseError(FuseError.EINVAL, "not a symlink");
    }
    return n.target;
  }

  @Override
  public synchronized Entry mknod(Request req, long parent, String name, int mode, long rdev) throws FuseError {
    record("mknod", parent, name, Integer.toOctalString(mode), rdev, Integer.toOctalString(req.umask()));
    Node n = newChild(req, parent, name, mode & ~req.umask() | (mode & S_IFMT));
    n.rdev = rdev;
    return entry(n);
  }

  @Override
  public synchronized Entry mkdir(Request req, long parent, String name, int mode) throws FuseError {
    record("mkdir", parent, name, Integer.toOctalString(mode));
    return entry(newChild(req, parent, name, S_IFDIR | (mode & 07777 & ~req.umask())));
  }

  @Override
  public synchronized void unlink(Request req, long parent, String name) throws FuseError {
    record("unlink", parent, name);
    Node p = dir(parent);
    Long c = p.children.get(name);
    if (c == null) {
      throw new FuseError(FuseError.ENOENT, name);
    }
    Node n = node(c);
    if (n.isDir()) {
      throw new FuseError(FuseError.EISDIR, name);
    }
    p.children.remove(name);
    n.nlink--;
    n.ctime = p.mtime = p.ctime = now();
  }

  @Override
  public synchronized void rmdir(Request req, long parent, String name) throws FuseError {
    record("rmdir", parent, name);
    Node p = dir(parent);
    Long c = p.children.get(name);
    if (c == null) {
      throw new FuseError(FuseError.ENOENT, name);
    }
    Node n = dir(c);
    if (!n.children.isEmpty()) {
      throw new FuseError(FuseError.ENOTEMPTY, name);
    }
    p.children.remove(name);
    p.nlink--;
    n.nlink = 0;
  }

  @Override
  public synchronized Entry symlink(Request req, byte[] target, long parent, String name) throws FuseError {
    record("symlink", new String(target, StandardCharsets.UTF_8), parent, name);
    Node n = newChild(req, parent, name, S_IFLNK | 0777);
    n.target = target;
    return entry(n);
  }

  @Override
  public synchronized void rename(Request req, long parent, String name, long newParent, String newName, int flags)
      throws FuseError {
    record("rename", parent, name, newParent, newName, flags);
    Node p = dir(parent);
    Node np = dir(newParent);
    Long src = p.children.get(name);
    if (src == null) {
      throw new FuseError(FuseError.ENOENT, name);
    }
    Long dst = np.children.get(newName);
    if ((flags & 1) != 0 && dst != null) {
      throw new FuseError(FuseError.EEXIST, newName);
    }
    if ((flags & 2) != 0) {
      if (dst == null) {
        throw new FuseError(FuseError.ENOENT, newName);
      }
      p.children.put(name, dst);
      np.children.put(newName, src);
      return;
    }
    if (dst != null) {
      Node d = node(dst);
      if (d.isDir() && !d.children.isEmpty()) {
        throw new FuseError(FuseError.ENOTEMPTY, newName);
      }
      d.nlink--;
    }
    p.children.remove(name);
    np.children.put(newName, src);
  }

  @Override
  public synchronized Entry link(Request req, long ino, long newParent, String newName) throws FuseError {
    record("link", ino, newParent, newName);
    Node n = node(ino);
    Node np = dir(newParent);
    if (np.children.containsKey(newName)) {
      throw new FuseError(FuseError.EEXIST, newName);
    }
    np.children.put(newName, ino);
    n.nlink++;
    n.ctime = now();
    return entry(n);
  }

  @Override
  public synchronized Open open(Request req, long ino, int flags) throws FuseError {
    record("open", ino, Integer.toOctalString(flags));
    Node n = node(ino);
    if ((flags & 01000) != 0) { // O_TRUNC arrives here (atomic_o_trunc)
      truncate(n, 0);
    }
    return new Open(nextFh.getAndIncrement(), true, false);
  }

  @Override
  public synchronized Created create(Request req, long parent, String name, int mode, int flags) throws FuseError {
    record("create", parent, name, Integer.toOctalString(mode), Integer.toOctalString(flags));
    Node n = newChild(req, parent, name, S_IFREG | (mode & 07777 & ~req.umask()));
    return new Created(entry(n), new Open(nextFh.getAndIncrement(), false, false));
  }

  @Override
  public int read(Request req, long ino, long fh, long offset, int size, ByteBuffer dst) throws FuseError {
    enter();
    try {
      maxRead.accumulateAndGet(size, Math::max);
      synchronized (this) {
        Node n = node(ino);
        if (offset >= n.size) {
          return 0;
        }
        int count = (int) Math.min(size, n.size - offset);
        dst.put(0, n.data, (int) offset, count);
        return count;
      }
    } finally {
      leave();
    }
  }

  @Override
  public int write(Request req, long ino, long fh, long offset, ByteBuffer data, int flags) throws FuseError {
    enter();
    try {
      int len = data.remaining();
      maxWrite.accumulateAndGet(len, Math::max);
      synchronized (this) {
        Node n = node(ino);
        long end = offset + len;
        if (end > n.data.length) {
          n.data = java.util.Arrays.copyOf(n.data, (int) Math.max(end, n.data.length * 2L));
        }
        data.get(data.position(), n.data, (int) offset, len);
        n.size = Math.max(n.size, end);
        n.mtime = n.ctime = now();
        return len;
      }
    } finally {
      leave();
    }
  }

  @Override
  public void flush(Request req, long ino, long fh, long lockOwner) {
    record("flush", ino, fh, lockOwner != 0);
    synchronized (this) {
      Node n = nodes.get(ino);
      if (n != null && n.posix.removeIf(l -> l.owner == lockOwner)) {
        notifyAll();
      }
    }
  }

  @Override
  public void release(Request req, long ino, long fh, int flags, long lockOwner, boolean flockRelease) {
    record("release", ino, fh, flockRelease);
    if (flockRelease) {
      synchronized (this) {
        Node n = nodes.get(ino);
        if (n != null && n.flocks.remove(lockOwner) != null) {
          notifyAll();
        }
      }
    }
  }

  @Override
  public void fsync(Request req, long ino, long fh, boolean dataOnly) {
    record("fsync", ino, dataOnly);
  }

  @Override
  public Open opendir(Request req, long ino, int flags) throws FuseError {
    record("opendir", ino);
    return new Open(nextFh.getAndIncrement(), false, false);
  }

  private record DirEnt(String name, long ino) {}

  private synchronized List<DirEnt> list(long ino) throws FuseError {
    Node d = dir(ino);
    List<DirEnt> out = new ArrayList<>();
    out.add(new DirEnt(".", ino));
    out.add(new DirEnt("..", d.parent));
    d.children.forEach((k, v) -> out.add(new DirEnt(k, v)));
    return out;
  }

  @Override
  public void readdir(Request req, long ino, long fh, long offset, DirFiller filler) throws FuseError {
    record("readdir", ino, offset);
    List<DirEnt> ents = list(ino);
    if (offset < 0 || offset > ents.size()) {
      throw new FuseError(FuseError.EINVAL, "offset " + offset);
    }
    for (int i = (int) offset; i < ents.size(); i++) {
      DirEnt e = ents.get(i);
      int mode;
      synchronized (this) {
        Node n = nodes.get(e.ino);
        mode = n == null ? 0 : n.mode;
      }
      if (!filler.add(e.name, e.ino, mode, i + 1)) {
        break;
      }
    }
  }

  @Override
  public void readdirplus(Request req, long ino, long fh, long offset, DirPlusFiller filler) throws FuseError {
    record("readdirplus", ino, offset);
    List<DirEnt> ents = list(ino);
    if (offset < 0 || offset > ents.size()) {
      throw new FuseError(FuseError.EINVAL, "offset " + offset);
    }
    for (int i = (int) offset; i < ents.size(); i++) {
      DirEnt e = ents.get(i);
      boolean dot = e.name.equals(".") || e.name.equals("..");
      Entry en;
      synchronized (this) {
        Node n = node(e.ino);
        // The kernel takes no lookup reference for "." and "..": answer them without counting.
        en = dot ? new Entry(0, 0, stat(n), 0, 0) : new Entry(n.ino, 0, stat(n), attrTimeout, entryTimeout);
      }
      if (!filler.add(e.name, en, i + 1)) {
        break;
      }
      if (!dot) {
        lookups.merge(e.ino, 1L, Long::sum); // only entries the kernel got are counted
      }
    }
  }

  @Override
  public void releasedir(Request req, long ino, long fh) {
    record("releasedir", ino);
  }

  @Override
  public void fsyncdir(Request req, long ino, long fh, boolean dataOnly) {
    record("fsyncdir", ino, dataOnly);
  }

  @Override
  public StatFs statfs(Request req, long ino) {
    record("statfs", ino);
    return new StatFs(4096, 1_000_000, 500_000, 400_000, 10_000, 9_000, 255);
  }

  @Override
  public synchronized void setxattr(Request req, long ino, String name, byte[] value, int flags) throws FuseError {
    record("setxattr", ino, name, value.length, flags);
    Node n = node(ino);
    boolean has = n.xattrs.containsKey(name);
    if ((flags & 1) != 0 && has) {
      throw new FuseError(FuseError.EEXIST, name);
    }
    if ((flags & 2) != 0 && !has) {
      throw new FuseError(FuseError.ENODATA, name);
    }
    n.xattrs.put(name, value);
    n.ctime = now();
  }

  @Override
  public synchronized byte[] getxattr(Request req, long ino, String name) throws FuseError {
    record("getxattr", ino, name);
    byte[] v = node(ino).xattrs.get(name);
    if (v == null) {
      throw new FuseError(FuseError.ENODATA, name);
    }
    return v;
  }

  @Override
  public synchronized List<String> listxattr(Request req, long ino) throws FuseError {
    record("listxattr", ino);
    return new ArrayList<>(node(ino).xattrs.keySet());
  }

  @Override
  public synchronized void removexattr(Request req, long ino, String name) throws FuseError {
    record("removexattr", ino, name);
    if (node(ino).xattrs.remove(name) == null) {
      throw new FuseError(FuseError.ENODATA, name);
    }
  }

  private static boolean overlaps(PosixLock l, long owner, Lock want) {
    return l.owner != owner && l.start <= want.end() && want.start() <= l.end
        && (l.type == Lock.F_WRLCK || want.type() == Lock.F_WRLCK);
  }

  @Override
  public synchronized Lock getlk(Request req, long ino, long fh, long lockOwner, Lock lock) throws FuseError {
    record("getlk", ino, lock.type(), lock.start(), lock.end());
    for (PosixLock l : node(ino).posix) {
      if (overlaps(l, lockOwner, lock)) {
        return new Lock(l.type, l.start, l.end, l.pid);
      }
    }
    return new Lock(Lock.F_UNLCK, lock.start(), lock.end(), 0);
  }

  @Override
  public void setlk(Request req, long ino, long fh, long lockOwner, Lock lock, boolean sleep) throws FuseError {
    record("setlk", ino, lock.type(), lock.start(), lock.end(), sleep);
    enter();
    try {
      synchronized (this) {
        Node n = node(ino);
        if (lock.type() == Lock.F_UNLCK) {
          // Whole-range unlocks only, which is what the tests do.
          n.posix.removeIf(l -> l.owner == lockOwner && l.start >= lock.start() && l.end <= lock.end());
          notifyAll();
          return;
        }
        long deadline = System.currentTimeMillis() + LOCK_WAIT_MAX_MS;
        while (n.posix.stream().anyMatch(l -> overlaps(l, lockOwner, lock))) {
          if (!sleep) {
            throw new FuseError(FuseError.EAGAIN, "locked");
          }
          waitForChange(req, deadline);
        }
        n.posix.removeIf(l -> l.owner == lockOwner && l.start == lock.start() && l.end == lock.end());
        n.posix.add(new PosixLock(lockOwner, lock.type(), lock.start(), lock.end(), lock.pid()));
      }
    } finally {
      leave();
    }
  }

  /** Waits (holding nothing but this monitor, which wait releases) until a lock goes away, or EINTR. */
  private void waitForChange(Request req, long deadline) throws FuseError {
    long left = deadline - System.currentTimeMillis();
    if (left <= 0) {
      throw new FuseError(FuseError.EAGAIN, "lock wait bound reached");
    }
    try {
      wait(Math.min(left, 100));
    } catch (InterruptedException e) {
      record("interrupted");
      throw new FuseError(FuseError.EINTR, "interrupted");
    }
    if (req.interrupted()) {
      record("interrupted");
      throw new FuseError(FuseError.EINTR, "interrupted");
    }
  }

  @Override
  public void flock(Request req, long ino, long fh, long lockOwner, int op) throws FuseError {
    record("flock", ino, op);
    synchronized (this) {
      Node n = node(ino);
      int kind = op & ~4;
      if (kind == 8) {
        n.flocks.remove(lockOwner);
        notifyAll();
        return;
      }
      long deadline = System.currentTimeMillis() + LOCK_WAIT_MAX_MS;
      while (true) {
        boolean conflict = false;
        for (Map.Entry<Long, Integer> e : n.flocks.entrySet()) {
          if (e.getKey() != lockOwner && (e.getValue() == 2 || kind == 2)) {
            conflict = true;
          }
        }
        if (!conflict) {
          break;
        }
        if ((op & 4) != 0) {
          throw new FuseError(FuseError.EAGAIN, "flocked");
        }
        waitForChange(req, deadline);
      }
      n.flocks.put(lockOwner, kind);
    }
  }

  @Override
  public synchronized void fallocate(Request req, long ino, long fh, int mode, long offset, long length)
      throws FuseError {
    record("fallocate", ino, mode, offset, length);
    Node n = node(ino);
    long end = offset + length;
    switch (mode) {
      case 0 -> {
        if (end > n.size) {
          truncate(n, end);
        }
      }
      case 1 -> { }
      case 3 -> { // PUNCH_HOLE | KEEP_SIZE
        java.util.Arrays.fill(n.data, (int) Math.min(offset, n.size), (int) Math.min(end, n.size), (byte) 0);
      }
      default -> throw new FuseError(FuseError.EOPNOTSUPP, "fallocate mode " + mode);
    }
  }

  /** Removes the first recorded call matching {@code prefix} (so a test can wait for a specific one). */
  boolean seen(String prefix) {
    for (Iterator<String> it = calls.iterator(); it.hasNext(); ) {
      if (it.next().startsWith(prefix)) {
        return true;
      }
    }
    return false;
  }
}
