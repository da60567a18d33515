package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.UnlinkRequest;
import io.shoalfs.proto.records.DentryRecord;
import io.shoalfs.proto.records.InodeRecord;

/**
 * unlink(parent, name, caller_uid): removes a non-directory entry (EISDIR for a directory, and for "." or "..").
 * In a sticky parent only root, the parent's owner or the inode's owner may do it (EPERM). The parent gets
 * mtime and ctime; the inode loses a link through {@link Inodes#dropLink}, which reclaims it at nlink 0.
 */
final class Unlink {
  private Unlink() {}

  static MetaReply apply(Tx tx, WriteContext ctx, UnlinkRequest r) throws FsError {
    Names.checkEntry(r.getName(), Code.EISDIR, Code.EISDIR);
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    DentryRecord d = Inodes.requireEntry(tx, r.getParent(), r.getName());
    InodeRecord inode = Inodes.require(tx, d.getIno());
    Inodes.checkSticky(parent, inode, r.getCallerUid(), r.getName());
    if (Inodes.isDir(inode)) {
      throw FsError.of(Code.EISDIR, "'%s' is a directory", r.getName());
    }
    long now = ctx.nowNs();
    tx.delete(MetaTables.DENTRIES, new DentryKey(r.getParent(), r.getName()));
    Inodes.dropLink(tx, d.getIno(), inode, now);
    tx.put(MetaTables.INODES, r.getParent(), Inodes.dirChanged(parent, now, 0));
    return Inodes.empty();
  }
}
