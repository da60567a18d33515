package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;

/**
 * The operations of the namespace, one small class each: which are reads and which are writes, what a write
 * needs decided on the leader, and the dispatch by request case. Unknown cases fail loudly.
 */
public final class MetaOps {
  private MetaOps() {}

  /** Reads are served by linearizable queries and never enter the log. */
  public static boolean isRead(MetaRequest.OpCase op) {
    return switch (op) {
      case LOOKUP, GET_ATTR, READ_DIR, GET_CHUNKS, STAT_FS, GET_LAYOUT, GET_SUBVOLUME, LIST_SUBVOLUMES,
           READ_LINK, GET_XATTR, LIST_XATTR, GET_LOCK, LIST_SNAPSHOTS, GET_SNAPSHOT -> true;
      case MKDIR, CREATE, UNLINK, RMDIR, RENAME, SET_ATTR, ALLOC_CHUNK, COMMIT_WRITE, REGISTER_DAEMON,
           CREATE_SUBVOLUME, DELETE_SUBVOLUME, SYMLINK, LINK, MKNOD, SET_XATTR, REMOVE_XATTR, FALLOCATE,
           OPEN_SESSION, RENEW_SESSION, CLOSE_SESSION, EXPIRE_SESSIONS, OPEN_FILE, CLOSE_FILE, SET_LOCK,
           CANCEL_LOCK, RELEASE_LOCKS, RESERVE, RESIZE_SUBVOLUME, RELEASE_ORPHANS, CREATE_SNAPSHOT, DELETE_SNAPSHOT,
           CLONE_SUBVOLUME, PURGE_HISTORY, CREATE_GROUP_SNAPSHOT, FORM_STORAGE_GROUP -> false;
      case OP_NOT_SET -> throw new IllegalArgumentException("request has no operation");
    };
  }

  /** How many fresh ids the leader allocates for a write (a new inode or a new chunk). */
  public static int idsNeeded(MetaRequest.OpCase op) {
    return switch (op) {
      // FALLOCATE needs none: it reserves chunk records with chunk id 0, placed later by ALLOC_CHUNK.
      case MKDIR, CREATE, ALLOC_CHUNK, CREATE_SUBVOLUME, SYMLINK, MKNOD, OPEN_SESSION -> 1;
      default -> 0;
    };
  }

  /** The cluster's write key (chunk tokens), or null before the first daemon registered. */
  public static byte[] writeKey(io.shoalfs.meta.store.Tx tx) {
    return RegisterDaemon.writeKey(tx);
  }

  /** Whether the leader must choose a storage group for the write. */
  public static boolean needsPlacement(MetaRequest.OpCase op) {
    return op == MetaRequest.OpCase.ALLOC_CHUNK;
  }

  /**
   * Applies a write to {@code tx}. Deterministic: it reads only {@code tx} and {@code ctx} (no clock, no
   * randomness, no network), so every replica computes the same writes and the same reply.
   *
   * @throws FsError the request is invalid in this state; {@code tx} must then be discarded
   */
  public static MetaReply applyWrite(Tx tx, WriteContext ctx, MetaRequest r) throws FsError {
    if (r.getAsOfSeq() != 0) {
      throw FsError.of(Code.EROFS, "a snapshot is read-only");
    }
    Genesis.stampRoot(tx, ctx.nowNs());
    ctx = Clones.forRequest(ctx, r);
    return switch (r.getOpCase()) {
      case MKDIR -> Mkdir.apply(tx, ctx, r.getMkdir());
      case CREATE -> OpenFiles.afterCreate(tx, r.getCreate(), Create.apply(tx, ctx, r.getCreate()));
      case UNLINK -> Unlink.apply(tx, ctx, r.getUnlink());
      case RMDIR -> Rmdir.apply(tx, ctx, r.getRmdir());
      case RENAME -> Rename.apply(tx, ctx, r.getRename());
      case SET_ATTR -> SetAttr.apply(tx, ctx, r.getSetAttr());
      case ALLOC_CHUNK -> AllocChunk.apply(tx, ctx, r.getAllocChunk());
      case COMMIT_WRITE -> CommitWrite.apply(tx, ctx, r.getCommitWrite());
      case REGISTER_DAEMON -> RegisterDaemon.apply(tx, ctx, r.getRegisterDaemon());
      case CREATE_SUBVOLUME -> CreateSubvolume.apply(tx, ctx, r.getCreateSubvolume());
      case DELETE_SUBVOLUME -> DeleteSubvolume.apply(tx, ctx, r.getDeleteSubvolume());
      case SYMLINK -> Symlink.apply(tx, ctx, r.getSymlink());
      case LINK -> Link.apply(tx, ctx, r.getLink());
      case MKNOD -> Mknod.apply(tx, ctx, r.getMknod());
      case SET_XATTR -> Xattrs.set(tx, ctx, r.getSetXattr());
      case REMOVE_XATTR -> Xattrs.remove(tx, ctx, r.getRemoveXattr());
      case FALLOCATE -> Fallocate.apply(tx, ctx, r.getFallocate());
      case OPEN_SESSION -> Sessions.open(tx, ctx, r.getOpenSession());
      case RENEW_SESSION -> Sessions.renew(tx, ctx, r.getRenewSession());
      case CLOSE_SESSION -> Sessions.close(tx, ctx, r.getCloseSession());
      case EXPIRE_SESSIONS -> Sessions.expire(tx, ctx, r.getExpireSessions());
      case OPEN_FILE -> OpenFiles.open(tx, ctx, r.getOpenFile());
      case CLOSE_FILE -> OpenFiles.close(tx, ctx, r.getCloseFile());
      case SET_LOCK -> Locks.set(tx, ctx, r.getSetLock());
      case CANCEL_LOCK -> Locks.cancel(tx, ctx, r.getCancelLock());
      case RELEASE_LOCKS -> Locks.release(tx, ctx, r.getReleaseLocks());
      case RESERVE -> Quotas.reserve(tx, ctx, r.getReserve());
      case RESIZE_SUBVOLUME -> Quotas.resize(tx, ctx, r.getResizeSubvolume());
      case RELEASE_ORPHANS -> OrphanChunks.release(tx, ctx, r.getReleaseOrphans());
      case FORM_STORAGE_GROUP -> Daemons.formGroup(tx, ctx, r.getFormStorageGroup());
      case CREATE_SNAPSHOT -> Snapshots.create(tx, ctx, r.getCreateSnapshot());
      case DELETE_SNAPSHOT -> Snapshots.delete(tx, ctx, r.getDeleteSnapshot());
      case CLONE_SUBVOLUME -> Clones.clone(tx, ctx, r.getCloneSubvolume());
      case PURGE_HISTORY -> Snapshots.purge(tx, ctx, r.getPurgeHistory());
      case CREATE_GROUP_SNAPSHOT -> Snapshots.createGroup(tx, ctx, r.getCreateGroupSnapshot());
      default -> throw new IllegalStateException("not a write operation: " + r.getOpCase());
    };
  }

  /** Serves a read from the current state. */
  public static MetaReply read(Tx tx, MetaRequest r) throws FsError {
    if (r.getAsOfSeq() != 0) {
      tx = Snapshots.view(tx, r); // a .snap/NAME read: the versioned tables as of the snapshot
    }
    return switch (r.getOpCase()) {
      case LOOKUP -> Lookup.read(tx, r.getLookup());
      case GET_ATTR -> GetAttr.read(tx, r.getGetAttr());
      case READ_DIR -> ReadDir.read(tx, r.getReadDir());
      case GET_CHUNKS -> GetChunks.read(tx, r.getGetChunks());
      case STAT_FS -> StatFs.read(tx, r.getStatFs());
      case GET_LAYOUT -> GetLayout.read(tx, r.getGetLayout());
      case GET_SUBVOLUME -> Subvolumes.get(tx, r.getGetSubvolume().getName());
      case LIST_SUBVOLUMES -> Subvolumes.list(tx);
      case READ_LINK -> ReadLink.read(tx, r.getReadLink());
      case GET_XATTR -> Xattrs.get(tx, r.getGetXattr());
      case LIST_XATTR -> Xattrs.list(tx, r.getListXattr());
      case GET_LOCK -> Locks.get(tx, r.getGetLock());
      case LIST_SNAPSHOTS -> Snapshots.list(tx, r.getListSnapshots());
      case GET_SNAPSHOT -> Snapshots.get(tx, r.getGetSnapshot());
      default -> throw new IllegalStateException("not a read operation: " + r.getOpCase());
    };
  }
}
