package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.records.InodeRecord;

/**
 * set_attr: mode, owner, size and times. Setting the size moves the chunk records wholly beyond the new end to
 * orphan_chunks (the FUSE client truncates the chunk that straddles it on its storage daemon) and sets mtime
 * unless an explicit mtime is given. "now" is the leader's clock from the log entry. ctime is always set.
 */
final class SetAttr {
  private SetAttr() {}

  static MetaReply apply(Tx tx, WriteContext ctx, SetAttrRequest r) throws FsError {
    long now = ctx.nowNs();
    InodeRecord inode = Inodes.require(tx, r.getIno());
    if (r.hasSize() && Inodes.isDir(inode)) {
      throw FsError.of(Code.EISDIR, "cannot set the size of directory %d", r.getIno());
    }
    if (r.hasSize() && r.getSize() < 0) {
      throw FsError.of(Code.EFBIG, "size %s is too large", Long.toUnsignedString(r.getSize()));
    }
    InodeRecord.Builder b = inode.toBuilder().setCtimeNs(now).setVersion(inode.getVersion() + 1);
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
      Inodes.orphanChunksFrom(tx, r.getIno(), Inodes.chunksFor(newSize));
      Inodes.adjustUsage(tx, inode.getSubvolumeRoot(), newSize - inode.getSize(), 0);
      b.setSize(newSize).setMtimeNs(now);
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
