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
    return read(tx, io.shoalfs.proto.meta.GetLayoutRequest.getDefaultInstance());
  }

  static MetaReply read(Tx tx, io.shoalfs.proto.meta.GetLayoutRequest r) {
    java.util.Map<String, Long> counts = new java.util.HashMap<>();
    if (r.getChunkCounts()) {
      tx.scan(io.shoalfs.meta.store.MetaTables.CHUNKS, new byte[0], null, (k, v) -> {
        if (v.getChunkId() != 0) {
          counts.merge(v.getGroupId(), 1L, Long::sum);
        }
        return true;
      });
    }
    LayoutReply.Builder out = LayoutReply.newBuilder().setChunkSize(Layout.CHUNK_SIZE);
    String cluster = RegisterDaemon.clusterId(tx);
    if (cluster != null) {
      out.setClusterId(cluster);
    }
    for (DaemonRecord d : Daemons.all(tx)) {
      String id = Daemons.groupOf(d.getId());
      out.addGroups(StorageGroup.newBuilder().setGroupId(id).addMembers(Daemons.member(d))
          .setChunks(counts.getOrDefault(id, 0L)));
    }
    for (StorageGroupRecord g : Daemons.groups(tx)) {
      out.addGroups(Daemons.view(tx, g).toBuilder().setChunks(counts.getOrDefault(g.getGroupId(), 0L)));
    }
    return MetaReply.newBuilder().setLayout(out).build();
  }
}
