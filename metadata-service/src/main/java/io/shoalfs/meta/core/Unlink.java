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
 * unlink(parent, name): removes a non-directory entry. When the inode's last link goes, the inode goes at
 * once (there are no open-file references on the metadata service yet) and its chunks become orphans.
 */
final class Unlink {
  private Unlink() {}

  static MetaReply apply(Tx tx, WriteContext ctx, UnlinkRequest r) throws FsError {
    Names.checkEntry(r.getName());
    InodeRecord parent = Inodes.requireDir(tx, r.getParent());
    DentryRecord d = Inodes.requireEntry(tx, r.getParent(), r.getName());
    InodeRecord inode = Inodes.require(tx, d.getIno());
    if (Inodes.isDir(inode)) {
      throw FsError.of(Code.EISDIR, "'%s' is a directory", r.getName());
    }
    tx.delete(MetaTables.DENTRIES, new DentryKey(r.getParent(), r.getName()));
    if (inode.getNlink() <= 1) {
      Inodes.dropFile(tx, d.getIno(), inode);
    } else {
      tx.put(MetaTables.INODES, d.getIno(), inode.toBuilder().setNlink(inode.getNlink() - 1)
          .setCtimeNs(ctx.nowNs()).setVersion(inode.getVersion() + 1).build());
    }
    tx.put(MetaTables.INODES, r.getParent(), Inodes.dirChanged(parent, ctx.nowNs(), 0));
    return Inodes.empty();
  }
}
