package io.shoalfs.meta.core;

import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.LookupRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.DentryRecord;

/** lookup(parent, name): the attributes of a directory entry's inode. */
final class Lookup {
  private Lookup() {}

  static MetaReply read(Tx tx, LookupRequest r) throws FsError {
    Names.checkEntry(r.getName());
    Inodes.requireDir(tx, r.getParent());
    DentryRecord d = Inodes.requireEntry(tx, r.getParent(), r.getName());
    return Inodes.attrReply(d.getIno(), Inodes.require(tx, d.getIno()));
  }
}
