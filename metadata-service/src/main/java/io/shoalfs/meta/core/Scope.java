package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.records.InodeRecord;
import io.shoalfs.proto.records.SessionRecord;

/**
 * Isolation (DESIGN decisions 10 and 11): THE one place that decides whether a call may touch what its request
 * names. Both paths use it: reads before {@link MetaOps#read}, writes at apply before {@link MetaOps#applyWrite}
 * (against the state the call applies to, so it is deterministic and sees earlier calls of the same entry).
 *
 * <p>The rules, by the call's session (MetaCall.session_id):
 * <ul>
 *   <li><b>No session (0)</b>: only what a client needs before it has one or that is not about files: open,
 *       renew and close a session (they name their session in the request), the leader's expiry, register a
 *       daemon, the layout, and subvolume administration (create, delete, get, list, resize). Anything else:
 *       EACCES. (Clients that administer, such as the CLI and the CSI driver, open an admin session for
 *       namespace calls: {@code MetaClient} does that by itself.)</li>
 *   <li><b>A session that does not exist</b> (expired, closed): ESTALE for every call that needs one.</li>
 *   <li><b>An admin session</b> (scope 0): everything.</li>
 *   <li><b>A session scoped to a volume</b> (scope = the volume's root inode): every inode the request names
 *       (ino, parent, both rename parents, the link target and directory, ...) must exist with
 *       {@code subvolume_root == scope}; one that does not answers <b>ENOENT</b> (as if it did not exist: a
 *       scoped client cannot even learn which numbers are in use elsewhere). A session id inside the request
 *       (opens, locks) must be the call's own (EACCES). Subvolume administration, daemon registration and any
 *       operation this class does not know (new ones fail closed until they are listed here): EACCES.</li>
 * </ul>
 *
 * <p>What this does not do: authenticate. Any process that reaches the metadata port may open a session with
 * any scope, also an admin one; mutual TLS with identities bound to scopes is the step after this one. What it
 * does guarantee is that a mount (or a buggy or hostile client using a scoped session) cannot reach another
 * volume's inodes whatever numbers it sends.
 */
public final class Scope {
  private Scope() {}

  /**
   * Throws unless the call of {@code sessionId} may run {@code r} in the state {@code tx}.
   *
   * @throws FsError EACCES (not allowed for this kind of session), ESTALE (no such session), ENOENT (an inode
   *     outside the scope)
   */
  public static void check(Tx tx, long sessionId, MetaRequest r) throws FsError {
    MetaRequest.OpCase op = r.getOpCase();
    switch (op) {
      // Name their own session (or none); a stale call session must not stop a client from opening a new one.
      // The leader's own housekeeping (session expiry, orphan release, history purge) carries no session: the
      // submitter refuses those ops from any client (EPERM) before they reach the log.
      case OPEN_SESSION, RENEW_SESSION, CLOSE_SESSION, EXPIRE_SESSIONS, GET_LAYOUT, RELEASE_ORPHANS,
           PURGE_HISTORY, FORM_STORAGE_GROUP -> {
        return;
      }
      default -> { }
    }
    boolean admin = isAdminOp(op);
    if (sessionId == 0) {
      if (admin) {
        return;
      }
      throw FsError.of(Code.EACCES, "%s needs a session (open one first)", op);
    }
    SessionRecord s = tx.get(MetaTables.SESSIONS, sessionId);
    if (s == null) {
      throw FsError.of(Code.ESTALE, "no session %d (expired or closed)", sessionId);
    }
    long scope = s.getScopeRoot();
    if (scope == 0) {
      return;
    }
    if (r.getAsOfSeq() != 0 && r.getAsOfVolume() != scope) {
      // A snapshot is part of its volume: a scoped session reads only its own volume's snapshots (the inode
      // checks below run on the live state, where a file deleted since the snapshot names nothing).
      throw FsError.of(Code.ENOENT, "no snapshot %d of volume %d in this session's volume", r.getAsOfSeq(),
          r.getAsOfVolume());
    }
    if (op == MetaRequest.OpCase.LIST_SNAPSHOTS || op == MetaRequest.OpCase.GET_SNAPSHOT) {
      // A mount lists and reads its own volume's snapshots (its .snap directory), never another's.
      String sv = op == MetaRequest.OpCase.LIST_SNAPSHOTS ? r.getListSnapshots().getSubvolume()
          : r.getGetSnapshot().getSubvolume();
      long root = op == MetaRequest.OpCase.LIST_SNAPSHOTS ? r.getListSnapshots().getVolumeRoot()
          : r.getGetSnapshot().getVolumeRoot();
      if (!sv.isEmpty()) {
        io.shoalfs.proto.records.SubvolumeRecord rec = tx.get(MetaTables.SUBVOLUMES, sv);
        root = rec == null ? 0 : rec.getRootIno();
      }
      if (root != scope) {
        throw FsError.of(Code.ENOENT, "no such volume in this session's volume %d", scope);
      }
      return;
    }
    if (admin) {
      throw FsError.of(Code.EACCES, "%s is not allowed in a session scoped to volume %d", op, scope);
    }
    switch (op) {
      case LOOKUP -> in(tx, scope, r.getLookup().getParent());
      case GET_ATTR -> in(tx, scope, r.getGetAttr().getIno());
      case READ_DIR -> in(tx, scope, r.getReadDir().getIno());
      case MKDIR -> in(tx, scope, r.getMkdir().getParent());
      case CREATE -> {
        in(tx, scope, r.getCreate().getParent());
        own(sessionId, r.getCreate().getOpenSession(), true);
      }
      case UNLINK -> in(tx, scope, r.getUnlink().getParent());
      case RMDIR -> in(tx, scope, r.getRmdir().getParent());
      case RENAME -> {
        in(tx, scope, r.getRename().getSrcParent());
        in(tx, scope, r.getRename().getDstParent());
      }
      case SET_ATTR -> in(tx, scope, r.getSetAttr().getIno());
      case GET_CHUNKS -> in(tx, scope, r.getGetChunks().getIno());
      case ALLOC_CHUNK -> in(tx, scope, r.getAllocChunk().getIno());
      case COMMIT_WRITE -> in(tx, scope, r.getCommitWrite().getIno());
      case STAT_FS -> in(tx, scope, r.getStatFs().getRootIno());
      case SYMLINK -> in(tx, scope, r.getSymlink().getParent());
      case READ_LINK -> in(tx, scope, r.getReadLink().getIno());
      case LINK -> {
        in(tx, scope, r.getLink().getIno());
        in(tx, scope, r.getLink().getNewParent());
      }
      case MKNOD -> in(tx, scope, r.getMknod().getParent());
      case SET_XATTR -> in(tx, scope, r.getSetXattr().getIno());
      case GET_XATTR -> in(tx, scope, r.getGetXattr().getIno());
      case LIST_XATTR -> in(tx, scope, r.getListXattr().getIno());
      case REMOVE_XATTR -> in(tx, scope, r.getRemoveXattr().getIno());
      case FALLOCATE -> in(tx, scope, r.getFallocate().getIno());
      case OPEN_FILE -> {
        in(tx, scope, r.getOpenFile().getIno());
        own(sessionId, r.getOpenFile().getSessionId(), false);
      }
      case CLOSE_FILE -> {
        in(tx, scope, r.getCloseFile().getIno());
        own(sessionId, r.getCloseFile().getSessionId(), false);
      }
      case SET_LOCK -> {
        in(tx, scope, r.getSetLock().getIno());
        own(sessionId, r.getSetLock().getLock().getSessionId(), false);
      }
      case CANCEL_LOCK -> {
        in(tx, scope, r.getCancelLock().getIno());
        own(sessionId, r.getCancelLock().getSessionId(), false);
      }
      case GET_LOCK -> in(tx, scope, r.getGetLock().getIno());
      case RELEASE_LOCKS -> {
        in(tx, scope, r.getReleaseLocks().getIno());
        own(sessionId, r.getReleaseLocks().getSessionId(), false);
      }
      case RESERVE -> in(tx, scope, r.getReserve().getIno());
      default -> throw FsError.of(Code.EACCES, "%s is not allowed in a session scoped to volume %d", op, scope);
    }
  }

  /** Administration: allowed without a session and in admin sessions, never in a scoped one. */
  private static boolean isAdminOp(MetaRequest.OpCase op) {
    return switch (op) {
      case REGISTER_DAEMON, CREATE_SUBVOLUME, DELETE_SUBVOLUME, GET_SUBVOLUME, LIST_SUBVOLUMES,
           RESIZE_SUBVOLUME, CREATE_SNAPSHOT, DELETE_SNAPSHOT, LIST_SNAPSHOTS, GET_SNAPSHOT, CLONE_SUBVOLUME,
           CREATE_GROUP_SNAPSHOT -> true;
      default -> false;
    };
  }

  /**
   * ENOENT unless {@code ino} is an inode of volume {@code scope}. A number that names no inode at all passes:
   * the operation answers for it (ENOENT too, or EINVAL for 0), so the two cases look the same from outside.
   */
  private static void in(Tx tx, long scope, long ino) throws FsError {
    InodeRecord r = tx.get(MetaTables.INODES, ino);
    if (r != null && r.getSubvolumeRoot() != scope) {
      throw FsError.of(Code.ENOENT, "no inode %d", ino);
    }
  }

  /** A session named inside the request must be the call's own ({@code zeroOk}: 0 = none named). */
  private static void own(long callSession, long named, boolean zeroOk) throws FsError {
    if (named != callSession && !(zeroOk && named == 0)) {
      throw FsError.of(Code.EACCES, "request names session %d, the call comes from session %d", named, callSession);
    }
  }
}
