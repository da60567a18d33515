package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.shoalfs.common.Layout;
import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.Genesis;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.meta.core.WriteContext;
import io.shoalfs.meta.store.MetaStore;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.LinkRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.records.InodeRecord;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rules of the core that would take too many log entries to reach through a cluster, applied to a real RocksDB
 * store exactly as the state machine applies them (MetaOps.applyWrite on a Tx, then commit).
 */
@Timeout(60)
class PosixCoreTest {
  @TempDir Path tmp;

  @Test
  void linkPastTheLimitIsEmlink() throws Exception {
    try (MetaStore store = MetaStore.open(tmp.resolve("db"))) {
      Tx tx = store.begin();
      Genesis.write(tx);
      store.commit(tx, null);
      long ino = apply(store, 1000, List.of(7L << 40), MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder()
          .setParent(Layout.ROOT_INO).setName("f").setMode(0644)).build()).getAttr().getIno();
      // 64,998 more links would be as many log entries: give the inode that many directly.
      tx = store.begin();
      InodeRecord r = tx.get(MetaTables.INODES, ino);
      tx.put(MetaTables.INODES, ino, r.toBuilder().setNlink(64_999).build());
      store.commit(tx, null);

      assertEquals(65_000, apply(store, 2000, List.of(), link(ino, "l65000")).getAttr().getNlink(),
          "the 65,000th link is allowed");
      FsError e = assertThrows(FsError.class, () -> apply(store, 3000, List.of(), link(ino, "l65001")));
      assertEquals(Code.EMLINK, e.code());
      assertEquals(65_000, store.begin().get(MetaTables.INODES, ino).getNlink(), "nothing changed");
    }
  }

  private static MetaRequest link(long ino, String name) {
    return MetaRequest.newBuilder().setLink(LinkRequest.newBuilder().setIno(ino).setNewParent(Layout.ROOT_INO)
        .setNewName(name)).build();
  }

  private static MetaReply apply(MetaStore store, long now, List<Long> ids, MetaRequest req) throws FsError {
    Tx tx = store.begin();
    MetaReply reply = MetaOps.applyWrite(tx, new WriteContext(now, ids, ""), req);
    store.commit(tx, null);
    return reply;
  }
}
