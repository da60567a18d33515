package io.shoalfs.fuse;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.fuse.core.Namespace;
import io.shoalfs.fuse.ll.FuseError;
import io.shoalfs.fuse.ll.LowLevelFs;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.GetAttrRequest;
import io.shoalfs.proto.meta.GetChunksRequest;
import io.shoalfs.proto.meta.GetXattrRequest;
import io.shoalfs.proto.meta.ListXattrRequest;
import io.shoalfs.proto.meta.LookupRequest;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.ReadDirRequest;
import io.shoalfs.proto.meta.ReadLinkRequest;
import io.shoalfs.proto.meta.Snapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The {@code .snap} directory at the volume's root (as CephFS users know it), in front of {@link ShoalLowLevelFs}:
 * {@code .snap/NAME} is snapshot NAME of this volume, read-only (every write is EROFS). {@code .snap} is not
 * listed by readdir of the root, but lookup finds it (so {@code ls .snap} and {@code cd .snap} work).
 *
 * <p>Kernel node ids: the snapshot world uses ids with bit 63 set, which no Shoal inode has (they stay below bit
 * 62, see the metadata service's IdLayout), handed out from a counter and mapped to (snapshot seq, Shoal inode)
 * while the kernel holds them (until forget). So a snapshot's files never share a node id (st_ino) with the live
 * files or with another snapshot's. Every metadata request for them carries the snapshot (as_of_volume,
 * as_of_seq): the metadata service answers as of that snapshot. A snapshot never changes, so attributes,
 * entries and pages are cached for {@link #IMMUTABLE_SEC}.
 *
 * <p>Bounds: nodes as many as the kernel holds (it forgets under pressure and at unmount); at most
 * {@link #MAX_OPEN} open handles (ENFILE beyond); a directory handle holds that directory's listing.
 */
final class SnapshotFs implements LowLevelFs {
  static final long SNAP_BIT = 1L << 63;
  static final long SNAP_DIR_ID = SNAP_BIT | 1;
  static final String SNAP_DIR = ".snap";
  static final int MAX_OPEN = 65_536;
  static final double IMMUTABLE_SEC = 60;
  /** The listing of .snap changes when snapshots are made: short timeouts, no negative caching. */
  static final double SNAP_DIR_SEC = 1;
  private static final int EROFS = 30;
  private static final int ENFILE = 23;
  private static final int O_ACCMODE = 03;
  private static final int O_TRUNC = 01000;
  private static final int CHUNK = Layout.CHUNK_SIZE;
  private static final int REF_WINDOW = 64;

  private final ShoalLowLevelFs inner;
  private final MetaClient meta;
  private final StorageClient storage;
  private final long volumeRoot;

  /** (snapshot seq, Shoal inode) of one node the kernel holds. */
  record Key(long seq, long ino) {}

  private static final class Node {
    final long id;
    final Key key;
    long lookups;

    Node(long id, Key key) {
      this.id = id;
      this.key = key;
    }
  }

  private final Object nodeLock = new Object();
  private final Map<Long, Node> byId = new HashMap<>();
  private final Map<Key, Node> byKey = new HashMap<>();
  private final AtomicLong nextId = new AtomicLong(1);

  private record Item(String name, long id, int type) {}

  private static final class FileHandle {
    final Key key;
    final long size;
    final Map<Integer, ChunkRef> refs = new ConcurrentHashMap<>();
    final java.util.Set<Integer> holes = ConcurrentHashMap.newKeySet();

    FileHandle(Key key, long size) {
      this.key = key;
      this.size = size;
    }
  }

  private final Map<Long, Object> handles = new ConcurrentHashMap<>();
  private final AtomicLong nextFh = new AtomicLong(1);

  SnapshotFs(ShoalLowLevelFs inner, MetaClient meta, StorageClient storage, long volumeRoot) {
    this.inner = inner;
    this.meta = meta;
    this.storage = storage;
    this.volumeRoot = volumeRoot;
  }

  static boolean isSnap(long nodeId) {
    return (nodeId & SNAP_BIT) != 0;
  }

  // ---- nodes ----

  /** The node of {@code key}, created with no kernel reference if new. */
  private Node node(Key key) {
    synchronized (nodeLock) {
      Node n = byKey.get(key);
      if (n == null) {
        n = new Node(SNAP_BIT | nextId.incrementAndGet(), key);
        byKey.put(key, n);
        byId.put(n.id, n);
      }
      return n;
    }
  }

  private void taken(Node n) {
    synchronized (nodeLock) {
      n.lookups++;
      if (byId.get(n.id) != n) { // forgotten meanwhile: back in
        byId.put(n.id, n);
        byKey.put(n.key, n);
      }
    }
  }

  private void dropIfUnused(Node n) {
    synchronized (nodeLock) {
      if (n.lookups <= 0) {
        byId.remove(n.id, n);
        byKey.remove(n.key, n);
      }
    }
  }

  private Key keyOf(long nodeId) throws FuseError {
    synchronized (nodeLock) {
      Node n = byId.get(nodeId);
      if (n == null) {
        throw new FuseError(FuseError.ENOENT, "snapshot node " + Long.toUnsignedString(nodeId) + " is not known");
      }
      return n.key;
    }
  }

  int nodeCount() {
    synchronized (nodeLock) {
      return byId.size();
    }
  }

  // ---- metadata as of a snapshot ----

  private io.shoalfs.proto.meta.MetaReply asOf(long seq, MetaRequest r) throws MetaException {
    return meta.callAsOf(r, volumeRoot, seq);
  }

  private io.shoalfs.proto.meta.Attr getAttr(Key k) throws MetaException {
    return asOf(k.seq(), MetaRequest.newBuilder().setGetAttr(GetAttrRequest.newBuilder().setIno(k.ino())).build())
        .getAttr();
  }

  private List<Snapshot> snapshots() throws MetaException {
    return meta.listSnapshots(volumeRoot);
  }

  private Stat stat(long id, io.shoalfs.proto.meta.Attr a) {
    Stat s = ShoalLowLevelFs.stat(a);
    return new Stat(id, s.mode(), s.nlink(), s.uid(), s.gid(), s.rdev(), s.size(), s.blocks(), s.blksize(),
        s.atimeNs(), s.mtimeNs(), s.ctimeNs());
  }

  private Stat snapDirStat() throws MetaException {
    io.shoalfs.proto.meta.Attr root = meta.getAttr(volumeRoot);
    return new Stat(SNAP_DIR_ID, Namespace.S_IFDIR | 0555, 2, root.getUid(), root.getGid(), 0, 0, 0,
        ShoalLowLevelFs.IO_BLOCK, root.getAtimeNs(), root.getMtimeNs(), root.getCtimeNs());
  }

  private Entry entryFor(Key k, io.shoalfs.proto.meta.Attr a) {
    Node n = node(k);
    taken(n);
    return new Entry(n.id, 0, stat(n.id, a), IMMUTABLE_SEC, IMMUTABLE_SEC);
  }

  // ---- names and attributes ----

  @Override
  public void init(ConnInfo conn) {
    inner.init(conn);
  }

  @Override
  public void destroy() {
    inner.destroy();
  }

  @Override
  public Entry lookup(Request req, long parent, String name) throws FuseError {
    try {
      if (parent == ROOT_ID && name.equals(SNAP_DIR)) {
        return new Entry(SNAP_DIR_ID, 0, snapDirStat(), SNAP_DIR_SEC, SNAP_DIR_SEC);
      }
      if (parent == SNAP_DIR_ID) {
        for (Snapshot s : snapshots()) {
          if (s.getName().equals(name)) {
            Key k = new Key(s.getSeq(), volumeRoot);
            return entryFor(k, getAttr(k));
          }
        }
        return new Entry(0, 0, new Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0, 0);
      }
      if (isSnap(parent)) {
        Key p = keyOf(parent);
        io.shoalfs.proto.meta.Attr a;
        try {
          a = asOf(p.seq(), MetaRequest.newBuilder().setLookup(LookupRequest.newBuilder().setParent(p.ino())
              .setName(name)).build()).getAttr();
        } catch (MetaException e) {
          if (e.code() == io.shoalfs.proto.meta.Code.ENOENT) {
            return new Entry(0, 0, new Stat(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0, IMMUTABLE_SEC);
          }
          throw e;
        }
        return entryFor(new Key(p.seq(), a.getIno()), a);
      }
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
    return inner.lookup(req, parent, name);
  }

  @Override
  public void forget(long ino, long nlookup) {
    if (!isSnap(ino)) {
      inner.forget(ino, nlookup);
      return;
    }
    if (ino == SNAP_DIR_ID) {
      return;
    }
    synchronized (nodeLock) {
      Node n = byId.get(ino);
      if (n != null) {
        n.lookups -= nlookup;
        dropIfUnused(n);
      }
    }
  }

  @Override
  public Attr getattr(Request req, long ino, long fh) throws FuseError {
    if (!isSnap(ino)) {
      return inner.getattr(req, ino, fh);
    }
    try {
      if (ino == SNAP_DIR_ID) {
        return new Attr(snapDirStat(), SNAP_DIR_SEC);
      }
      return new Attr(stat(ino, getAttr(keyOf(ino))), IMMUTABLE_SEC);
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  @Override
  public Attr setattr(Request req, long ino, SetAttr changes, long fh) throws FuseError {
    if (isSnap(ino)) {
      throw readOnly();
    }
    return inner.setattr(req, ino, changes, fh);
  }

  @Override
  public byte[] readlink(Request req, long ino) throws FuseError {
    if (!isSnap(ino)) {
      return inner.readlink(req, ino);
    }
    Key k = keyOf(ino);
    try {
      return asOf(k.seq(), MetaRequest.newBuilder().setReadLink(ReadLinkRequest.newBuilder().setIno(k.ino()))
          .build()).getLinkTarget().toByteArray();
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  private static FuseError readOnly() {
    return new FuseError(EROFS, "a snapshot is read-only");
  }

  /** The names the root reserves: creating one is EEXIST, removing or renaming it is EROFS. */
  private static boolean reserved(long parent, String name) {
    return parent == ROOT_ID && name.equals(SNAP_DIR);
  }

  private static void checkCreate(long parent, String name) throws FuseError {
    if (isSnap(parent)) {
      throw readOnly();
    }
    if (reserved(parent, name)) {
      throw new FuseError(FuseError.EEXIST, ".snap is the snapshot directory");
    }
  }

  private static void checkRemove(long parent, String name) throws FuseError {
    if (isSnap(parent) || reserved(parent, name)) {
      throw readOnly();
    }
  }

  @Override
  public Entry mknod(Request req, long parent, String name, int mode, long rdev) throws FuseError {
    checkCreate(parent, name);
    return inner.mknod(req, parent, name, mode, rdev);
  }

  @Override
  public Entry mkdir(Request req, long parent, String name, int mode) throws FuseError {
    checkCreate(parent, name);
    return inner.mkdir(req, parent, name, mode);
  }

  @Override
  public void unlink(Request req, long parent, String name) throws FuseError {
    checkRemove(parent, name);
    inner.unlink(req, parent, name);
  }

  @Override
  public void rmdir(Request req, long parent, String name) throws FuseError {
    checkRemove(parent, name);
    inner.rmdir(req, parent, name);
  }

  @Override
  public Entry symlink(Request req, byte[] target, long parent, String name) throws FuseError {
    checkCreate(parent, name);
    return inner.symlink(req, target, parent, name);
  }

  @Override
  public void rename(Request req, long parent, String name, long newParent, String newName, int flags)
      throws FuseError {
    checkRemove(parent, name);
    checkRemove(newParent, newName);
    inner.rename(req, parent, name, newParent, newName, flags);
  }

  @Override
  public Entry link(Request req, long ino, long newParent, String newName) throws FuseError {
    if (isSnap(ino)) {
      throw readOnly();
    }
    checkCreate(newParent, newName);
    return inner.link(req, ino, newParent, newName);
  }

  @Override
  public StatFs statfs(Request req, long ino) throws FuseError {
    return inner.statfs(req, isSnap(ino) ? ROOT_ID : ino);
  }

  @Override
  public void setxattr(Request req, long ino, String name, byte[] value, int flags) throws FuseError {
    if (isSnap(ino)) {
      throw readOnly();
    }
    inner.setxattr(req, ino, name, value, flags);
  }

  @Override
  public byte[] getxattr(Request req, long ino, String name) throws FuseError {
    if (!isSnap(ino)) {
      return inner.getxattr(req, ino, name);
    }
    if (ino == SNAP_DIR_ID) {
      throw new FuseError(FuseError.ENODATA, "no attribute " + name);
    }
    Key k = keyOf(ino);
    try {
      return asOf(k.seq(), MetaRequest.newBuilder().setGetXattr(GetXattrRequest.newBuilder().setIno(k.ino())
          .setName(name)).build()).getXattrValue().toByteArray();
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  @Override
  public List<String> listxattr(Request req, long ino) throws FuseError {
    if (!isSnap(ino)) {
      return inner.listxattr(req, ino);
    }
    if (ino == SNAP_DIR_ID) {
      return List.of();
    }
    Key k = keyOf(ino);
    try {
      List<String> names = asOf(k.seq(), MetaRequest.newBuilder().setListXattr(ListXattrRequest.newBuilder()
          .setIno(k.ino())).build()).getXattrNames().getNamesList();
      return req.uid() == 0 ? names : names.stream().filter(n -> !n.startsWith("trusted.")).toList();
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  @Override
  public void removexattr(Request req, long ino, String name) throws FuseError {
    if (isSnap(ino)) {
      throw readOnly();
    }
    inner.removexattr(req, ino, name);
  }

  // ---- files ----

  private long addHandle(Object h) throws FuseError {
    if (handles.size() >= MAX_OPEN) {
      throw new FuseError(ENFILE, "more than " + MAX_OPEN + " open snapshot handles");
    }
    long fh = nextFh.getAndIncrement();
    handles.put(fh, h);
    return fh;
  }

  @Override
  public Open open(Request req, long ino, int flags) throws FuseError {
    if (!isSnap(ino)) {
      return inner.open(req, ino, flags);
    }
    if ((flags & O_ACCMODE) != 0 || (flags & O_TRUNC) != 0) {
      throw readOnly();
    }
    Key k = keyOf(ino);
    try {
      io.shoalfs.proto.meta.Attr a = getAttr(k);
      if (a.getType() == FileType.DIRECTORY) {
        throw new FuseError(FuseError.EISDIR, "a directory");
      }
      return new Open(addHandle(new FileHandle(k, a.getSize())), true, false);
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  @Override
  public Created create(Request req, long parent, String name, int mode, int flags) throws FuseError {
    checkCreate(parent, name);
    return inner.create(req, parent, name, mode, flags);
  }

  @Override
  public int read(Request req, long ino, long fh, long offset, int size, ByteBuffer dst) throws FuseError {
    if (!isSnap(ino)) {
      return inner.read(req, ino, fh, offset, size, dst);
    }
    if (!(handles.get(fh) instanceof FileHandle h)) {
      throw new FuseError(FuseError.EBADF, "no open snapshot file " + fh);
    }
    if (offset >= h.size) {
      return 0;
    }
    int want = (int) Math.min(size, h.size - offset);
    try {
      int done = 0;
      while (done < want) {
        long pos = offset + done;
        int index = (int) (pos / CHUNK);
        int inChunk = (int) (pos % CHUNK);
        int len = Math.min(want - done, CHUNK - inChunk);
        ChunkRef ref = ref(h, index);
        if (ref == null) {
          for (int i = 0; i < len; i++) {
            dst.put(done + i, (byte) 0);
          }
        } else {
          ByteString data = storage.read(ref, inChunk, len);
          data.copyTo(dst.duplicate().position(done));
        }
        done += len;
      }
      return done;
    } catch (MetaException | IOException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  /** The chunk at {@code index} of the snapshot's file (null: a hole), from a window read once (immutable). */
  private ChunkRef ref(FileHandle h, int index) throws MetaException {
    ChunkRef r = h.refs.get(index);
    if (r != null || h.holes.contains(index)) {
      return r;
    }
    List<ChunkRef> got = asOf(h.key.seq(), MetaRequest.newBuilder().setGetChunks(GetChunksRequest.newBuilder()
        .setIno(h.key.ino()).setFirstIndex(index).setCount(REF_WINDOW)).build()).getChunks().getChunksList();
    if (h.refs.size() + h.holes.size() > 4 * REF_WINDOW * REF_WINDOW) {
      h.refs.clear(); // bound of one handle's map: 1 GiB of a huge file's refs at most is kept
      h.holes.clear();
    }
    for (int i = index; i < index + REF_WINDOW && i >= 0; i++) {
      h.holes.add(i);
    }
    for (ChunkRef c : got) {
      h.holes.remove(c.getIndex());
      h.refs.put(c.getIndex(), c);
    }
    return h.refs.get(index);
  }

  @Override
  public int write(Request req, long ino, long fh, long offset, ByteBuffer data, int flags) throws FuseError {
    if (isSnap(ino)) {
      throw readOnly();
    }
    return inner.write(req, ino, fh, offset, data, flags);
  }

  @Override
  public void flush(Request req, long ino, long fh, long lockOwner) throws FuseError {
    if (!isSnap(ino)) {
      inner.flush(req, ino, fh, lockOwner);
    }
  }

  @Override
  public void release(Request req, long ino, long fh, int flags, long lockOwner, boolean flockRelease) {
    if (!isSnap(ino)) {
      inner.release(req, ino, fh, flags, lockOwner, flockRelease);
      return;
    }
    handles.remove(fh);
  }

  @Override
  public void fsync(Request req, long ino, long fh, boolean dataOnly) throws FuseError {
    if (!isSnap(ino)) {
      inner.fsync(req, ino, fh, dataOnly);
    }
  }

  // ---- directories ----

  @Override
  public Open opendir(Request req, long ino, int flags) throws FuseError {
    if (!isSnap(ino)) {
      return inner.opendir(req, ino, flags);
    }
    List<Item> items = new ArrayList<>();
    try {
      if (ino == SNAP_DIR_ID) {
        items.add(new Item(".", SNAP_DIR_ID, Namespace.S_IFDIR));
        items.add(new Item("..", ROOT_ID, Namespace.S_IFDIR));
        for (Snapshot s : snapshots()) {
          items.add(new Item(s.getName(), 0, Namespace.S_IFDIR));
        }
      } else {
        Key k = keyOf(ino);
        items.add(new Item(".", ino, Namespace.S_IFDIR));
        items.add(new Item("..", k.ino() == volumeRoot ? SNAP_DIR_ID : ino, Namespace.S_IFDIR));
        String after = "";
        while (true) {
          ReadDirReply page = asOf(k.seq(), MetaRequest.newBuilder().setReadDir(ReadDirRequest.newBuilder()
              .setIno(k.ino()).setAfter(after).setLimit(1000)).build()).getDir();
          for (DirEntry e : page.getEntriesList()) {
            items.add(new Item(e.getName(), e.getIno(), Namespace.typeBits(e.getType())));
            after = e.getName();
          }
          if (!page.getMore() || page.getEntriesCount() == 0) {
            break;
          }
        }
      }
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
    return new Open(addHandle(items), false, false);
  }

  @SuppressWarnings("unchecked")
  private List<Item> dirHandle(long fh) throws FuseError {
    if (!(handles.get(fh) instanceof List<?> l)) {
      throw new FuseError(FuseError.EBADF, "no open snapshot directory " + fh);
    }
    return (List<Item>) l;
  }

  @Override
  public void readdir(Request req, long ino, long fh, long offset, DirFiller filler) throws FuseError {
    if (!isSnap(ino)) {
      inner.readdir(req, ino, fh, offset, filler);
      return;
    }
    List<Item> items = dirHandle(fh);
    for (int i = (int) offset; i < items.size(); i++) {
      Item it = items.get(i);
      // d_ino is informational here: the node id comes with the lookup.
      if (!filler.add(it.name(), it.id() == 0 ? SNAP_BIT | (i + 2) : SNAP_BIT ^ it.id(), it.type(), i + 1)) {
        return;
      }
    }
  }

  @Override
  public void readdirplus(Request req, long ino, long fh, long offset, DirPlusFiller filler) throws FuseError {
    if (!isSnap(ino)) {
      inner.readdirplus(req, ino, fh, offset, filler);
      return;
    }
    List<Item> items = dirHandle(fh);
    try {
      for (int i = (int) offset; i < items.size(); i++) {
        Item it = items.get(i);
        if (it.name().equals(".") || it.name().equals("..")) {
          Stat s = new Stat(it.id(), it.type() | 0555, 2, 0, 0, 0, 0, 0, ShoalLowLevelFs.IO_BLOCK, 0, 0, 0);
          if (!filler.add(it.name(), new Entry(0, 0, s, 0, 0), i + 1)) {
            return;
          }
          continue;
        }
        Key k;
        if (ino == SNAP_DIR_ID) {
          Snapshot snap = null;
          for (Snapshot s : snapshots()) {
            if (s.getName().equals(it.name())) {
              snap = s;
            }
          }
          if (snap == null) {
            continue; // deleted since the listing
          }
          k = new Key(snap.getSeq(), volumeRoot);
        } else {
          k = new Key(keyOf(ino).seq(), it.id());
        }
        io.shoalfs.proto.meta.Attr a = getAttr(k);
        Node n = node(k);
        if (!filler.add(it.name(), new Entry(n.id, 0, stat(n.id, a), IMMUTABLE_SEC, IMMUTABLE_SEC), i + 1)) {
          dropIfUnused(n);
          return;
        }
        taken(n);
      }
    } catch (MetaException e) {
      throw ShoalLowLevelFs.error(e);
    }
  }

  @Override
  public void releasedir(Request req, long ino, long fh) throws FuseError {
    if (!isSnap(ino)) {
      inner.releasedir(req, ino, fh);
      return;
    }
    handles.remove(fh);
  }

  @Override
  public void fsyncdir(Request req, long ino, long fh, boolean dataOnly) throws FuseError {
    if (!isSnap(ino)) {
      inner.fsyncdir(req, ino, fh, dataOnly);
    }
  }

  // ---- locks, fallocate ----

  @Override
  public Lock getlk(Request req, long ino, long fh, long lockOwner, Lock lock) throws FuseError {
    if (!isSnap(ino)) {
      return inner.getlk(req, ino, fh, lockOwner, lock);
    }
    return new Lock(Lock.F_UNLCK, lock.start(), lock.end(), 0); // nobody writes a snapshot: no conflict
  }

  @Override
  public void setlk(Request req, long ino, long fh, long lockOwner, Lock lock, boolean sleep) throws FuseError {
    if (!isSnap(ino)) {
      inner.setlk(req, ino, fh, lockOwner, lock, sleep);
    }
    // A snapshot's file cannot change, so a lock on it guards nothing: granted at once, held nowhere.
  }

  @Override
  public void flock(Request req, long ino, long fh, long lockOwner, int op) throws FuseError {
    if (!isSnap(ino)) {
      inner.flock(req, ino, fh, lockOwner, op);
    }
  }

  @Override
  public void fallocate(Request req, long ino, long fh, int mode, long offset, long length) throws FuseError {
    if (isSnap(ino)) {
      throw readOnly();
    }
    inner.fallocate(req, ino, fh, mode, offset, length);
  }
}
