package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.meta.store.XattrKey;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.ChunkRecord;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.UsageRecord;
import java.util.ArrayList;
import java.util.List;

/** Shared steps of the namespace operations: lookups that fail with an errno, and bookkeeping on change. */
final class Inodes {
  static final int PERMISSION_BITS = 07777;
  static final int S_ISUID = 04000;
  static final int S_ISGID = 02000;
  static final int S_ISVTX = 01000;
  static final int S_IXGRP = 00010;
  /** Most hard links of one inode (ext4's limit is 65000 too): link past it is EMLINK. */
  static final int LINK_MAX = 65_000;
  /** Allocation granularity reported in st_blocks: 4 KiB, as a local filesystem with 4 KiB blocks reports. */
  static final int ALLOC_UNIT = 4096;
  /** Chunk indexes are u32, so no file reaches past 2^32 chunks (16 PiB): EFBIG beyond. */
  static final long MAX_FILE_SIZE = (1L << 32) * Layout.CHUNK_SIZE;
  /** Bound of a walk up the parent pointers; deeper means the tree is corrupt. */
  private static final int MAX_DEPTH = 1 << 16;

  private Inodes() {}

  static InodeRecord require(Tx tx, long ino) throws FsError {
    InodeRecord r = tx.get(MetaTables.INODES, ino);
    if (r == null) {
      throw FsError.of(Code.ENOENT, "no inode %d", ino);
    }
    return r;
  }

  static InodeRecord requireDir(Tx tx, long ino) throws FsError {
    InodeRecord r = require(tx, ino);
    if (!isDir(r)) {
      throw FsError.of(Code.ENOTDIR, "inode %d is not a directory", ino);
    }
    return r;
  }

  static InodeRecord requireFile(Tx tx, long ino) throws FsError {
    InodeRecord r = require(tx, ino);
    if (isDir(r)) {
      throw FsError.of(Code.EISDIR, "inode %d is a directory", ino);
    }
    return r;
  }

  /** A regular file: EISDIR for a directory, EINVAL for any other type (no data map). */
  static InodeRecord requireRegular(Tx tx, long ino) throws FsError {
    InodeRecord r = requireFile(tx, ino);
    if (r.getType() != FileType.REGULAR_VALUE) {
      throw FsError.of(Code.EINVAL, "inode %d is not a regular file", ino);
    }
    return r;
  }

  static DentryRecord requireEntry(Tx tx, long parent, String name) throws FsError {
    DentryRecord d = tx.get(MetaTables.DENTRIES, new DentryKey(parent, name));
    if (d == null) {
      throw FsError.of(Code.ENOENT, "no entry '%s' in directory %d", name, parent);
    }
    return d;
  }

  static boolean isDir(InodeRecord r) {
    return r.getType() == FileType.DIRECTORY_VALUE;
  }

  static boolean isEmptyDir(Tx tx, long ino) {
    boolean[] empty = {true};
    tx.scan(MetaTables.DENTRIES, DentryKey.prefix(ino), null, (k, v) -> empty[0] = false);
    return empty[0];
  }

  /** True if directory {@code ancestor} is {@code dir} or lies on the path from {@code dir} up to its volume root. */
  static boolean isAncestorOrSelf(Tx tx, long ancestor, long dir) {
    long cur = dir;
    for (int depth = 0; depth < MAX_DEPTH; depth++) {
      if (cur == ancestor) {
        return true;
      }
      InodeRecord r = tx.get(MetaTables.INODES, cur);
      if (r == null) {
        throw new IllegalStateException("directory " + cur + " on the path up from " + dir + " is missing");
      }
      if (r.getParent() == cur) {
        return false;
      }
      cur = r.getParent();
    }
    throw new IllegalStateException("parent chain of " + dir + " is deeper than " + MAX_DEPTH + ": a cycle?");
  }

  /**
   * The sticky-directory rule (S_ISVTX, as Linux's check_sticky): in a sticky directory only root, the owner of
   * the directory or the owner of the entry's inode may remove or rename the entry. {@code callerUid} 0 is root
   * (also what clients send that do not fill the field).
   */
  static void checkSticky(InodeRecord dir, InodeRecord victim, int callerUid, String name) throws FsError {
    if ((dir.getMode() & S_ISVTX) != 0 && callerUid != 0 && callerUid != dir.getUid()
        && callerUid != victim.getUid()) {
      throw FsError.of(Code.EPERM, "'%s' is in a sticky directory and owned by another user", name);
    }
  }

  static InodeRecord newInode(FileType type, int mode, int uid, int gid, long parent, long volume, long now) {
    return InodeRecord.newBuilder()
        .setType(type.getNumber())
        .setMode(mode & PERMISSION_BITS)
        .setUid(uid)
        .setGid(gid)
        .setNlink(type == FileType.DIRECTORY ? 2 : 1)
        .setAtimeNs(now)
        .setMtimeNs(now)
        .setCtimeNs(now)
        .setVersion(1)
        .setParent(type == FileType.DIRECTORY ? parent : 0)
        .setSubvolumeRoot(volume)
        .build();
  }

  /**
   * A new inode to be linked into {@code parentDir}, with the setgid-directory rule (as Linux's
   * inode_init_owner): in a directory with S_ISGID the new inode takes the directory's group, and a new
   * subdirectory keeps S_ISGID. (Linux also drops S_ISGID from a new non-directory whose creator is not in the
   * group; the service does not know the caller's groups, so that part is the client's.)
   */
  static InodeRecord.Builder newChild(FileType type, int mode, int uid, int gid, long parent, InodeRecord parentDir,
      long now) {
    int m = mode & PERMISSION_BITS;
    int g = gid;
    if ((parentDir.getMode() & S_ISGID) != 0) {
      g = parentDir.getGid();
      if (type == FileType.DIRECTORY) {
        m |= S_ISGID;
      }
    }
    return newInode(type, m, uid, g, parent, parentDir.getSubvolumeRoot(), now).toBuilder();
  }

  /**
   * Links the new inode {@code ino} as {@code name} in {@code parent}: dentry, inode, the parent's times and
   * nlink, the volume's inode count. The caller has checked that the name is free.
   */
  static void insertNew(Tx tx, long parent, InodeRecord parentDir, String name, long ino, InodeRecord inode,
      long now) throws FsError {
    Quotas.checkNewInode(tx, parentDir.getSubvolumeRoot());
    boolean dir = isDir(inode);
    tx.put(MetaTables.INODES, ino, inode);
    tx.put(MetaTables.DENTRIES, new DentryKey(parent, name),
        DentryRecord.newBuilder().setIno(ino).setType(inode.getType()).build());
    tx.put(MetaTables.INODES, parent, dirChanged(parentDir, now, dir ? +1 : 0));
    adjustUsage(tx, parentDir.getSubvolumeRoot(), 0, +1);
  }

  /** EEXIST if {@code name} is taken in {@code parent}. */
  static void requireFree(Tx tx, long parent, String name) throws FsError {
    if (tx.get(MetaTables.DENTRIES, new DentryKey(parent, name)) != null) {
      throw FsError.of(Code.EEXIST, "'%s' exists", name);
    }
  }

  /** A directory whose entries changed: mtime and ctime now, version bumped, nlink adjusted for subdirs. */
  static InodeRecord dirChanged(InodeRecord dir, long now, int subdirDelta) {
    return dir.toBuilder()
        .setMtimeNs(now)
        .setCtimeNs(now)
        .setVersion(dir.getVersion() + 1)
        .setNlink(dir.getNlink() + subdirDelta)
        .build();
  }

  /** Applies {@code dirChanged} to the directory {@code ino} as currently staged. */
  static void touchDir(Tx tx, long ino, long now, int subdirDelta) throws FsError {
    tx.put(MetaTables.INODES, ino, dirChanged(require(tx, ino), now, subdirDelta));
  }

  /** An inode whose own attributes changed (not its data): ctime now, version bumped. */
  static InodeRecord.Builder changed(InodeRecord r, long now) {
    return r.toBuilder().setCtimeNs(now).setVersion(r.getVersion() + 1);
  }

  static void adjustUsage(Tx tx, long volume, long bytesDelta, long inodesDelta) {
    UsageRecord u = tx.get(MetaTables.USAGE, volume);
    if (u == null) {
      // The volume was deleted (subvolume delete --force) while a file of it stayed open: its last close still
      // reclaims the inode, and there is no usage left to count. Throwing here would stop the replica.
      return;
    }
    // Bytes never below 0: a database of a build that counted logical sizes may hold less than the allocations.
    long bytes = Math.max(0, u.getUsedBytes() + bytesDelta);
    long inodes = u.getInodes() + inodesDelta;
    if (inodes < 0) {
      throw new IllegalStateException("usage of volume " + volume + " would become negative: " + bytes + " bytes, "
          + inodes + " inodes");
    }
    tx.put(MetaTables.USAGE, volume, u.toBuilder().setUsedBytes(bytes).setInodes(inodes).build());
  }

  /**
   * A non-directory inode loses one name (unlink, rename over it). THE place where "the last link is gone"
   * decides reclamation: at nlink 0 the inode goes (see {@link #reclaim}); otherwise nlink - 1 and ctime now.
   * Open files that must outlive their last name hook in here.
   */
  static void dropLink(Tx tx, long ino, InodeRecord r, long now) {
    if (r.getNlink() > 1) {
      tx.put(MetaTables.INODES, ino, changed(r, now).setNlink(r.getNlink() - 1).build());
    } else if (OpenFiles.isOpen(tx, ino)) {
      // An open inode stays (nlink 0, in no directory) until its last close; OpenFiles reclaims it then.
      OpenFiles.keepUnlinked(tx, ino, changed(r, now).build());
    } else {
      reclaim(tx, ino, r);
    }
  }

  /**
   * Removes a non-directory inode that has no name left: its chunk records move to orphan_chunks (their data
   * stays on the storage daemons until a GC deletes it), its xattrs go, its volume's usage drops.
   */
  static void reclaim(Tx tx, long ino, InodeRecord r) {
    orphanChunksFrom(tx, ino, 0);
    deleteXattrs(tx, ino);
    tx.delete(MetaTables.INODES, ino);
    adjustUsage(tx, r.getSubvolumeRoot(), -usedBytes(r), -1);
  }

  /** Removes an empty directory's inode (rmdir, rename over it) with its xattrs. */
  static void dropDir(Tx tx, long ino, InodeRecord dir) {
    deleteXattrs(tx, ino);
    tx.delete(MetaTables.INODES, ino);
    adjustUsage(tx, dir.getSubvolumeRoot(), 0, -1);
  }

  /** What an inode counts in its volume's used bytes: its allocated bytes in whole 4 KiB units (core Quotas). */
  static long usedBytes(InodeRecord r) {
    return Quotas.charged(r.getAllocatedBytes());
  }

  static void deleteXattrs(Tx tx, long ino) {
    List<XattrKey> keys = new ArrayList<>();
    tx.scan(MetaTables.XATTRS, XattrKey.prefix(ino), null, (k, v) -> keys.add(k));
    for (XattrKey k : keys) {
      tx.delete(MetaTables.XATTRS, k);
    }
  }

  /**
   * Moves the chunk records of {@code ino} with index >= {@code firstIndex} (unsigned) to orphan_chunks
   * (reserved, never placed chunks just go). Returns the written bytes they held (for allocated_bytes).
   */
  static long orphanChunksFrom(Tx tx, long ino, long firstIndex) {
    if (firstIndex > 0xFFFF_FFFFL) {
      return 0;
    }
    List<ChunkKey> keys = new ArrayList<>();
    List<ChunkRecord> values = new ArrayList<>();
    tx.scan(MetaTables.CHUNKS, ChunkKey.prefix(ino), ChunkKey.CODEC.encode(new ChunkKey(ino, (int) firstIndex)),
        (k, v) -> {
          keys.add(k);
          values.add(v);
          return true;
        });
    long freed = 0;
    for (int i = 0; i < keys.size(); i++) {
      freed += orphan(tx, keys.get(i), values.get(i));
    }
    return freed;
  }

  /**
   * Drops one chunk record; returns its written bytes. The store's version layer (store Versions) moves the
   * chunk to orphan_chunks when this was its last reference (not when a snapshot or a clone still holds it).
   */
  static long orphan(Tx tx, ChunkKey key, ChunkRecord c) {
    tx.delete(MetaTables.CHUNKS, key);
    return extentBytes(c);
  }

  static long extentBytes(ChunkRecord c) {
    return Math.max(0, Integer.toUnsignedLong(c.getHi()) - Integer.toUnsignedLong(c.getLo()));
  }

  /**
   * The data map after the file's size became {@code newSize}: chunks wholly past it go, the extent of the chunk
   * that straddles it is cut at the new end. Returns the change of allocated bytes (zero or negative).
   */
  static long cutChunksAt(Tx tx, long ino, long newSize) {
    long delta = -orphanChunksFrom(tx, ino, chunksFor(newSize));
    int within = (int) (newSize % Layout.CHUNK_SIZE);
    if (within != 0) {
      ChunkKey key = new ChunkKey(ino, (int) (newSize / Layout.CHUNK_SIZE));
      ChunkRecord c = tx.get(MetaTables.CHUNKS, key);
      if (c != null && c.getHi() > within) {
        int lo = Math.min(c.getLo(), within);
        ChunkRecord cut = c.toBuilder().setLo(lo).setHi(within).build();
        delta += extentBytes(cut) - extentBytes(c);
        tx.put(MetaTables.CHUNKS, key, cut);
      }
    }
    return delta;
  }

  /** Number of chunks that hold bytes below {@code size}. */
  static long chunksFor(long size) {
    return (size + Layout.CHUNK_SIZE - 1) / Layout.CHUNK_SIZE;
  }

  /** st_blocks: allocated bytes in 512-byte units, rounded up to whole 4 KiB allocation units. */
  static long blocks(InodeRecord r) {
    long units = (r.getAllocatedBytes() + ALLOC_UNIT - 1) / ALLOC_UNIT;
    return units * (ALLOC_UNIT / 512);
  }

  static Attr toAttr(long ino, InodeRecord r) {
    FileType type = FileType.forNumber(r.getType());
    return Attr.newBuilder()
        .setIno(ino)
        .setType(type == null ? FileType.FILE_TYPE_UNSPECIFIED : type)
        .setMode(r.getMode())
        .setUid(r.getUid())
        .setGid(r.getGid())
        .setSize(r.getSize())
        .setNlink(r.getNlink())
        .setAtimeNs(r.getAtimeNs())
        .setMtimeNs(r.getMtimeNs())
        .setCtimeNs(r.getCtimeNs())
        .setVersion(r.getVersion())
        .setRdev(r.getRdev())
        .setBlocks(blocks(r))
        .setAllocatedBytes(r.getAllocatedBytes())
        .build();
  }

  static MetaReply attrReply(long ino, InodeRecord r) {
    return MetaReply.newBuilder().setAttr(toAttr(ino, r)).build();
  }

  static MetaReply empty() {
    return MetaReply.newBuilder().setEmpty(io.shoalfs.proto.meta.Empty.getDefaultInstance()).build();
  }
}
