package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.ReadLinkRequest;
import io.shoalfs.proto.records.InodeRecord;

/** read_link(ino): the target bytes of a symlink; EINVAL for any other type (as readlink(2)). */
final class ReadLink {
  private ReadLink() {}

  static MetaReply read(Tx tx, ReadLinkRequest r) throws FsError {
    InodeRecord inode = Inodes.require(tx, r.getIno());
    if (inode.getType() != FileType.SYMLINK_VALUE) {
      throw FsError.of(Code.EINVAL, "inode %d is not a symlink", r.getIno());
    }
    return MetaReply.newBuilder().setLinkTarget(inode.getSymlinkTarget()).build();
  }
}
