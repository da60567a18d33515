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
 * rename(src_parent, src_name, dst_parent, dst_name, flags) with Linux renameat2 semantics. Checks run in the
 * kernel's order so callers see the errno Linux would give: EEXIST (RENAME_NOREPLACE and the target exists),
 * EINVAL (a directory into its own subtree), ENOTEMPTY (the target is an ancestor of the source), then a no-op
 * when both names are the same inode, then ENOTDIR / EISDIR / ENOTEMPTY on the kind of the replaced target.
 */
final class Rename {
  static final int RENAME_NOREPLACE = 1;
  static final int RENAME_EXCHANGE = 2;

  private Rename() {}

  static MetaReply apply(Tx tx, WriteContext ctx, RenameRequest r) throws FsError {
    Names.checkEntry(r.getSrcName());
    Names.checkEntry(r.getDstName());
    if ((r.getFlags() & RENAME_EXCHANGE) != 0) {
      throw FsError.of(Code.EINVAL, "RENAME_EXCHANGE is not supported");
    }
    if ((r.getFlags() & ~RENAME_NOREPLACE) != 0) {
      throw FsError.of(Code.EINVAL, "unknown rename flags %d", r.getFlags());
    }
    long srcParent = r.getSrcParent();
    long dstParent = r.getDstParent();
    InodeRecord srcDir = Inodes.requireDir(tx, srcParent);
    InodeRecord dstDir = Inodes.requireDir(tx, dstParent);
    DentryRecord srcEntry = Inodes.requireEntry(tx, srcParent, r.getSrcName());
    if (srcDir.getSubvolumeRoot() != dstDir.getSubvolumeRoot()) {
      throw FsError.of(Code.EXDEV, "rename across volumes");
    }
    DentryRecord dstEntry = tx.get(MetaTables.DENTRIES, new DentryKey(dstParent, r.getDstName()));
    if (dstEntry != null && (r.getFlags() & RENAME_NOREPLACE) != 0) {
      throw FsError.of(Code.EEXIST, "'%s' exists", r.getDstName());
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
        throw FsError.of(Code.ENOTEMPTY, "the target is an ancestor of the source");
      }
      if (dstEntry.getIno() == ino) {
        return Inodes.empty();
      }
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
      replaceTarget(tx, dstEntry.getIno(), dst, now);
      if (Inodes.isDir(dst)) {
        dstSubdirDelta--;
      }
    }
    tx.delete(MetaTables.DENTRIES, new DentryKey(srcParent, r.getSrcName()));
    tx.put(MetaTables.DENTRIES, new DentryKey(dstParent, r.getDstName()), srcEntry);
    InodeRecord.Builder moved = src.toBuilder().setCtimeNs(now).setVersion(src.getVersion() + 1);
    if (srcIsDir && srcParent != dstParent) {
      moved.setParent(dstParent);
      srcSubdirDelta--;
      dstSubdirDelta++;
    }
    tx.put(MetaTables.INODES, ino, moved.build());
    if (srcParent == dstParent) {
      Inodes.touchDir(tx, srcParent, now, srcSubdirDelta + dstSubdirDelta);
    } else {
      Inodes.touchDir(tx, srcParent, now, srcSubdirDelta);
      Inodes.touchDir(tx, dstParent, now, dstSubdirDelta);
    }
    return Inodes.empty();
  }

  /** The replaced target loses its name: an (empty) directory goes; a file loses a link. */
  private static void replaceTarget(Tx tx, long ino, InodeRecord dst, long now) {
    if (Inodes.isDir(dst)) {
      tx.delete(MetaTables.INODES, ino);
      Inodes.adjustUsage(tx, dst.getSubvolumeRoot(), 0, -1);
    } else if (dst.getNlink() <= 1) {
      Inodes.dropFile(tx, ino, dst);
    } else {
      tx.put(MetaTables.INODES, ino, dst.toBuilder().setNlink(dst.getNlink() - 1).setCtimeNs(now)
          .setVersion(dst.getVersion() + 1).build());
    }
  }
}
