package io.shoalfs.fuse.core;

import io.shoalfs.proto.meta.ChunkRef;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The client's state of one regular file while at least one handle has it open: one write buffer, one
 * read-ahead window and the chunk map, shared by every handle of this inode so that all of them see each
 * other's writes. Everything except {@code refs} is guarded by the object's monitor; {@code size} and
 * {@code pendingEnd} are volatile so getattr can report them without waiting behind a slow write.
 */
final class OpenInode {
  /** Marks a chunk index the metadata service said has no chunk (a hole). */
  static final ChunkRef HOLE = ChunkRef.getDefaultInstance();
  /** Bound on remembered chunk refs; past it the map starts over (refs are fetched again on demand). */
  static final int MAX_CHUNK_REFS = 65_536;

  final long ino;
  /** Open handles; guarded by the inode table's lock. */
  int refs;

  /** Size as the metadata service last told us (at open, after our commits and truncates). */
  volatile long size;
  /** Highest end offset written since the last commit, 0 if none. */
  volatile long pendingEnd;
  /** Written since the last commit: the commit must set the size and the mtime. */
  boolean dirty;
  long lastWriteNs;

  byte[] buf;
  long bufStart;
  int bufLen;

  byte[] readAhead;
  long readAheadStart;
  int readAheadLen;

  final Map<Integer, ChunkRef> chunks = new HashMap<>();
  /**
   * Storage groups written without sync since the last fsync, each with the last byte written there: fsync
   * rewrites that byte with sync, which makes the group's log (and so every earlier write) durable.
   */
  final Map<String, SyncPoint> unsynced = new LinkedHashMap<>();
  /** A write failure not yet reported; flush, fsync and release report it once. */
  FsException writeError;

  record SyncPoint(ChunkRef chunk, int offsetInChunk, long fileOffset, byte value) {}

  OpenInode(long ino) {
    this.ino = ino;
  }

  long visibleSize() {
    return Math.max(size, pendingEnd);
  }

  void dropReadAhead() {
    readAheadLen = 0;
  }

  void rememberChunk(int index, ChunkRef ref) {
    if (chunks.size() >= MAX_CHUNK_REFS) {
      chunks.clear();
    }
    chunks.put(index, ref);
  }
}
