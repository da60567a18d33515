package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.LayoutReply;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.StorageGroup;
import io.shoalfs.proto.records.DaemonRecord;
import io.shoalfs.proto.records.StorageGroupRecord;

/** get_layout: the storage groups with their members (each daemon alone, then the replicated groups). */
final class GetLayout {
  private GetLayout() {}

  static MetaReply read(Tx tx) {
    LayoutReply.Builder out = LayoutReply.newBuilder().setChunkSize(Layout.CHUNK_SIZE);
    for (DaemonRecord d : Daemons.all(tx)) {
      out.addGroups(StorageGroup.newBuilder().setGroupId(Daemons.groupOf(d.getId())).addMembers(Daemons.member(d)));
    }
    for (StorageGroupRecord g : Daemons.groups(tx)) {
      out.addGroups(Daemons.view(tx, g));
    }
    return MetaReply.newBuilder().setLayout(out).build();
  }
}
