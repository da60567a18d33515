package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.records.InodeRecord;

/**
 * set_attr: mode, owner, size and times. "now" is the leader's clock from the log entry; ctime is always set
 * (chmod, chown, truncate and utimensat all change it), except for a read's atime update ({@code atime_read}),
 * which changes atime alone.
 *
 * <ul>
 *   <li>Size: regular files only (EISDIR for a directory, EINVAL for other types, EFBIG past the largest
 *       size). The chunk records wholly beyond the new end move to orphan_chunks (the FUSE client truncates the
 *       chunk that straddles it on its storage daemon), the straddling chunk's written extent is cut, and
 *       allocated_bytes follows. mtime is set unless an explicit mtime is given.</li>
 *   <li>Owner: a chown (uid or gid present) of a non-directory clears S_ISUID, and S_ISGID when group-execute
 *       is set (S_ISGID without it marks mandatory locking and stays), as Linux does for every caller, root
 *       included. If the request carries a mode too, that mode wins: the FUSE kernel module (without
 *       handle_killpriv) computes the cleared mode itself and sends it in the same SETATTR.</li>
 * </ul>
 */
final class SetAttr {
  private SetAttr() {}

  static MetaReply apply(Tx tx, WriteContext ctx, SetAttrRequest r) throws FsError {
    long now = ctx.nowNs();
    InodeRecord inode = Inodes.require(tx, r.getIno());
    if (r.getAtimeRead() && !r.hasMode() && !r.hasUid() && !r.hasGid() && !r.hasSize() && !r.hasAtimeNs()
        && !r.hasMtimeNs() && !r.getAtimeNow() && !r.getMtimeNow()) {
      // Reading marks only atime (POSIX); no ctime, and no new version: nobody's cached data is stale.
      InodeRecord touched = inode.toBuilder().setAtimeNs(Math.max(now, inode.getAtimeNs())).build();
      tx.put(MetaTables.INODES, r.getIno(), touched);
      return Inodes.attrReply(r.getIno(), touched);
    }
    if (r.hasSize()) {
      if (Inodes.isDir(inode)) {
        throw FsError.of(Code.EISDIR, "cannot set the size of directory %d", r.getIno());
      }
      if (inode.getType() != FileType.REGULAR_VALUE) {
        throw FsError.of(Code.EINVAL, "cannot set the size of a non-regular file");
      }
      if (r.getSize() < 0 || r.getSize() > Inodes.MAX_FILE_SIZE) {
        throw FsError.of(Code.EFBIG, "size %s is too large", Long.toUnsignedString(r.getSize()));
      }
    }
    InodeRecord.Builder b = Inodes.changed(inode, now);
    if ((r.hasUid() || r.hasGid()) && !Inodes.isDir(inode)) {
      int mode = inode.getMode() & ~Inodes.S_ISUID;
      if ((mode & (Inodes.S_ISGID | Inodes.S_IXGRP)) == (Inodes.S_ISGID | Inodes.S_IXGRP)) {
        mode &= ~Inodes.S_ISGID;
      }
      b.setMode(mode);
    }
    if (r.hasMode()) {
      b.setMode(r.getMode() & Inodes.PERMISSION_BITS);
    }
    if (r.hasUid()) {
      b.setUid(r.getUid());
    }
    if (r.hasGid()) {
      b.setGid(r.getGid());
    }
    if (r.hasSize()) {
      long newSize = r.getSize();
      // Also when growing: a chunk allocated past the old end but never committed holds bytes the file must
      // now read as zeros.
      long allocDelta = Inodes.cutChunksAt(tx, r.getIno(), newSize);
      long allocated = Math.max(0, inode.getAllocatedBytes() + allocDelta);
      Quotas.allocationChanged(tx, ctx.sessionId(), r.getIno(), inode.getSubvolumeRoot(), inode.getAllocatedBytes(),
          allocated);
      b.setSize(newSize).setMtimeNs(now).setAllocatedBytes(allocated);
    }
    if (r.hasAtimeNs()) {
      b.setAtimeNs(r.getAtimeNs());
    } else if (r.getAtimeNow()) {
      b.setAtimeNs(now);
    }
    if (r.hasMtimeNs()) {
      b.setMtimeNs(r.getMtimeNs());
    } else if (r.getMtimeNow()) {
      b.setMtimeNs(now);
    }
    InodeRecord updated = b.build();
    tx.put(MetaTables.INODES, r.getIno(), updated);
    return Inodes.attrReply(r.getIno(), updated);
  }
}
