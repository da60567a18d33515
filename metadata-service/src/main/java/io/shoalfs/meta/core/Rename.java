package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.RenameRequest;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * rename(src_parent, src_name, dst_parent, dst_name, flags, caller_uid) with Linux renameat2 semantics. Checks
 * run in the kernel's order (do_renameat2, then vfs_rename and may_delete) so callers see the errno Linux would
 * give:
 * <ol>
 *   <li>EINVAL for unknown flags or RENAME_EXCHANGE together with RENAME_NOREPLACE;</li>
 *   <li>EBUSY for "." or ".." on either side (EEXIST for the target with RENAME_NOREPLACE);</li>
 *   <li>ENOTDIR / ENOENT of the parents and the source, EXDEV across volumes;</li>
 *   <li>EEXIST (RENAME_NOREPLACE and the target exists), ENOENT (RENAME_EXCHANGE and it does not);</li>
 *   <li>EINVAL (a directory into its own subtree), ENOTEMPTY (the target is an ancestor of the source; EINVAL
 *       with RENAME_EXCHANGE);</li>
 *   <li>a no-op success when both names are the same inode (hard links of one file, or the same name);</li>
 *   <li>EPERM by the sticky rule on the source entry, then on the target entry;</li>
 *   <li>without RENAME_EXCHANGE: ENOTDIR (directory over non-directory), EISDIR (non-directory over
 *       directory), ENOTEMPTY (over a non-empty directory).</li>
 * </ol>
 * Effects: ctime of the moved inode(s), mtime and ctime of both parents; a moved directory's parent pointer and
 * the parents' nlink follow (2 + subdirectories). A replaced target loses its name: a directory goes, a file
 * loses a link through {@link Inodes#dropLink}.
 */
final class Rename {
  static final int RENAME_NOREPLACE = 1;
  static final int RENAME_EXCHANGE = 2;

  private Rename() {}

  static MetaReply apply(Tx tx, WriteContext ctx, RenameRequest r) throws FsError {
    int flags = r.getFlags();
    if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) {
      throw FsError.of(Code.EINVAL, "unknown rename flags %d", flags);
    }
    boolean exchange = (flags & RENAME_EXCHANGE) != 0;
    boolean noReplace = (flags & RENAME_NOREPLACE) != 0;
    if (exchange && noReplace) {
      throw FsError.of(Code.EINVAL, "RENAME_EXCHANGE with RENAME_NOREPLACE");
    }
    Names.checkEntry(r.getSrcName(), Code.EBUSY, Code.EBUSY);
    Code dstDots = noReplace ? Code.EEXIST : Code.EBUSY;
    Names.checkEntry(r.getDstName(), dstDots, dstDots);
    long srcParent = r.getSrcParent();
    long dstParent = r.getDstParent();
    InodeRecord srcDir = Inodes.requireDir(tx, srcParent);
    InodeRecord dstDir = Inodes.requireDir(tx, dstParent);
    DentryRecord srcEntry = Inodes.requireEntry(tx, srcParent, r.getSrcName());
    if (srcDir.getSubvolumeRoot() != dstDir.getSubvolumeRoot()) {
      throw FsError.of(Code.EXDEV, "rename across volumes");
    }
    DentryRecord dstEntry = tx.get(MetaTables.DENTRIES, new DentryKey(dstParent, r.getDstName()));
    if (dstEntry != null && noReplace) {
      throw FsError.of(Code.EEXIST, "'%s' exists", r.getDstName());
    }
    if (dstEntry == null && exchange) {
      throw FsError.of(Code.ENOENT, "no entry '%s' to exchange with", r.getDstName());
    }
    long ino = srcEntry.getIno();
    InodeRecord src = Inodes.require(tx, ino);
    boolean srcIsDir = Inodes.isDir(src);
    if (srcIsDir && Inodes.isAncestorOrSelf(tx, ino, dstParent)) {
      throw FsError.of(Code.EINVAL, "cannot move a directory into its own subtree");
    }
    InodeRecord dst = null;
    if (dstEntry != null) {
      dst = Inodes.require(tx, dstEntry.getIno());
      if (Inodes.isDir(dst) && Inodes.isAncestorOrSelf(tx, dstEntry.getIno(), srcParent)) {
        throw FsError.of(exchange ? Code.EINVAL : Code.ENOTEMPTY, "the target is an ancestor of the source");
      }
      if (dstEntry.getIno() == ino) {
        return Inodes.empty();
      }
    }
    Inodes.checkSticky(srcDir, src, r.getCallerUid(), r.getSrcName());
    if (dst != null) {
      Inodes.checkSticky(dstDir, dst, r.getCallerUid(), r.getDstName());
    }
    if (exchange) {
      return exchange(tx, ctx.nowNs(), r, srcEntry, src, dstEntry, dst);
    }
    if (dst != null) {
      if (srcIsDir && !Inodes.isDir(dst)) {
        throw FsError.of(Code.ENOTDIR, "'%s' is not a directory", r.getDstName());
      }
      if (!srcIsDir && Inodes.isDir(dst)) {
        throw FsError.of(Code.EISDIR, "'%s' is a directory", r.getDstName());
      }
      if (Inodes.isDir(dst) && !Inodes.isEmptyDir(tx, dstEntry.getIno())) {
        throw FsError.of(Code.ENOTEMPTY, "'%s' is not empty", r.getDstName());
      }
    }
    long now = ctx.nowNs();
    int srcSubdirDelta = 0;
    int dstSubdirDelta = 0;
    if (dst != null) {
      if (Inodes.isDir(dst)) {
        Inodes.dropDir(tx, dstEntry.getIno(), dst);
        dstSubdirDelta--;
      } else {
        Inodes.dropLink(tx, dstEntry.getIno(), dst, now);
      }
    }
    tx.delete(MetaTables.DENTRIES, new DentryKey(srcParent, r.getSrcName()));
    tx.put(MetaTables.DENTRIES, new DentryKey(dstParent, r.getDstName()), srcEntry);
    InodeRecord.Builder moved = Inodes.changed(src, now);
    if (srcIsDir && srcParent != dstParent) {
      moved.setParent(dstParent);
      srcSubdirDelta--;
      dstSubdirDelta++;
    }
    tx.put(MetaTables.INODES, ino, moved.build());
    touchParents(tx, now, srcParent, srcSubdirDelta, dstParent, dstSubdirDelta);
    return Inodes.empty();
  }

  /** RENAME_EXCHANGE: both names stay, each now names the other's inode. */
  private static MetaReply exchange(Tx tx, long now, RenameRequest r, DentryRecord srcEntry, InodeRecord src,
      DentryRecord dstEntry, InodeRecord dst) throws FsError {
    long srcParent = r.getSrcParent();
    long dstParent = r.getDstParent();
    tx.put(MetaTables.DENTRIES, new DentryKey(srcParent, r.getSrcName()), dstEntry);
    tx.put(MetaTables.DENTRIES, new DentryKey(dstParent, r.getDstName()), srcEntry);
    InodeRecord.Builder a = Inodes.changed(src, now);
    InodeRecord.Builder b = Inodes.changed(dst, now);
    int srcSubdirDelta = 0;
    if (srcParent != dstParent) {
      if (Inodes.isDir(src)) {
        a.setParent(dstParent);
        srcSubdirDelta--;
      }
      if (Inodes.isDir(dst)) {
        b.setParent(srcParent);
        srcSubdirDelta++;
      }
    }
    tx.put(MetaTables.INODES, srcEntry.getIno(), a.build());
    tx.put(MetaTables.INODES, dstEntry.getIno(), b.build());
    touchParents(tx, now, srcParent, srcSubdirDelta, dstParent, -srcSubdirDelta);
    return Inodes.empty();
  }

  private static void touchParents(Tx tx, long now, long srcParent, int srcDelta, long dstParent, int dstDelta)
      throws FsError {
    if (srcParent == dstParent) {
      Inodes.touchDir(tx, srcParent, now, srcDelta + dstDelta);
    } else {
      Inodes.touchDir(tx, srcParent, now, srcDelta);
      Inodes.touchDir(tx, dstParent, now, dstDelta);
    }
  }
}
