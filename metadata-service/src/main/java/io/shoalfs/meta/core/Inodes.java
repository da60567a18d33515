package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.ChunkKey;
import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
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

  static void adjustUsage(Tx tx, long volume, long bytesDelta, long inodesDelta) {
    UsageRecord u = tx.get(MetaTables.USAGE, volume);
    if (u == null) {
      throw new IllegalStateException("volume " + volume + " has no usage record");
    }
    long bytes = u.getUsedBytes() + bytesDelta;
    long inodes = u.getInodes() + inodesDelta;
    if (bytes < 0 || inodes < 0) {
      throw new IllegalStateException("usage of volume " + volume + " would become negative: " + bytes + " bytes, "
          + inodes + " inodes");
    }
    tx.put(MetaTables.USAGE, volume, UsageRecord.newBuilder().setUsedBytes(bytes).setInodes(inodes).build());
  }

  /**
   * Removes a file inode whose last name is gone: its chunk records move to orphan_chunks (their data stays on
   * the storage daemons until a GC deletes it) and its volume's usage drops.
   */
  static void dropFile(Tx tx, long ino, InodeRecord r) {
    if (OpenFiles.isOpen(tx, ino)) { // meta-sessions: an open inode stays (nlink 0) until its last close
      OpenFiles.keepUnlinked(tx, ino, r);
      return;
    }
    orphanChunksFrom(tx, ino, 0);
    tx.delete(MetaTables.INODES, ino);
    adjustUsage(tx, r.getSubvolumeRoot(), -r.getSize(), -1);
  }

  /** Moves the chunk records of {@code ino} with index >= {@code firstIndex} (unsigned) to orphan_chunks. */
  static void orphanChunksFrom(Tx tx, long ino, long firstIndex) {
    if (firstIndex > 0xFFFF_FFFFL) {
      return;
    }
    List<ChunkKey> keys = new ArrayList<>();
    List<ChunkRecord> values = new ArrayList<>();
    tx.scan(MetaTables.CHUNKS, ChunkKey.prefix(ino), ChunkKey.CODEC.encode(new ChunkKey(ino, (int) firstIndex)),
        (k, v) -> {
          keys.add(k);
          values.add(v);
          return true;
        });
    for (int i = 0; i < keys.size(); i++) {
      tx.delete(MetaTables.CHUNKS, keys.get(i));
      tx.put(MetaTables.ORPHAN_CHUNKS, values.get(i).getChunkId(), values.get(i));
    }
  }

  /** Number of chunks that hold bytes below {@code size}. */
  static long chunksFor(long size) {
    return (size + Layout.CHUNK_SIZE - 1) / Layout.CHUNK_SIZE;
  }

  static Attr toAttr(long ino, InodeRecord r) {
    return Attr.newBuilder()
        .setIno(ino)
        .setType(FileType.forNumber(r.getType()) == null ? FileType.FILE_TYPE_UNSPECIFIED : FileType.forNumber(r.getType()))
        .setMode(r.getMode())
        .setUid(r.getUid())
        .setGid(r.getGid())
        .setSize(r.getSize())
        .setNlink(r.getNlink())
        .setAtimeNs(r.getAtimeNs())
        .setMtimeNs(r.getMtimeNs())
        .setCtimeNs(r.getCtimeNs())
        .setVersion(r.getVersion())
        .build();
  }

  static MetaReply attrReply(long ino, InodeRecord r) {
    return MetaReply.newBuilder().setAttr(toAttr(ino, r)).build();
  }

  static MetaReply empty() {
    return MetaReply.newBuilder().setEmpty(io.shoalfs.proto.meta.Empty.getDefaultInstance()).build();
  }
}
