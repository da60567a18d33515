package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.GetAttrRequest;
import io.shoalfs.proto.meta.MetaReply;

/** get_attr(ino). */
final class GetAttr {
  private GetAttr() {}

  static MetaReply read(Tx tx, GetAttrRequest r) throws FsError {
    return Inodes.attrReply(r.getIno(), Inodes.require(tx, r.getIno()));
  }
}
