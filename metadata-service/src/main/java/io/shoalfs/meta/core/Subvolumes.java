package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.Subvolume;
import io.shoalfs.proto.meta.SubvolumeList;
import io.shoalfs.proto.records.SubvolumeRecord;

/** Reads of subvolumes: get_subvolume and list_subvolumes. */
final class Subvolumes {
  private Subvolumes() {}

  static Subvolume toWire(SubvolumeRecord r) {
    return Subvolume.newBuilder().setName(r.getName()).setRootIno(r.getRootIno())
        .setCapacityBytes(r.getCapacityBytes()).setCreatedNs(r.getCreatedNs()).setCloneOf(r.getCloneOf()).build();
  }

  static SubvolumeRecord require(Tx tx, String name) throws FsError {
    Names.checkSafe("subvolume", name);
    SubvolumeRecord r = tx.get(MetaTables.SUBVOLUMES, name);
    if (r == null) {
      throw FsError.of(Code.ENOENT, "no subvolume '%s'", name);
    }
    return r;
  }

  static MetaReply get(Tx tx, String name) throws FsError {
    return MetaReply.newBuilder().setSubvolume(toWire(require(tx, name))).build();
  }

  static MetaReply list(Tx tx) {
    SubvolumeList.Builder out = SubvolumeList.newBuilder();
    tx.scan(MetaTables.SUBVOLUMES, new byte[0], null, (k, v) -> {
      out.addSubvolumes(toWire(v));
      return true;
    });
    return MetaReply.newBuilder().setSubvolumes(out).build();
  }
}
