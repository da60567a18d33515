package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaStore;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.records.DentryRecord;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The per-call overlay of group commit on a real RocksDB: children see parents, merge or vanish. */
class TxOverlayTest {
  @TempDir Path tmp;

  @Test
  void childrenSeeTheBatchAndMergeOrVanish() throws Exception {
    try (MetaStore store = MetaStore.open(tmp.resolve("db"))) {
      Tx committed = store.begin();
      committed.put(MetaTables.DENTRIES, new DentryKey(7, "b"), dentry(1));
      committed.put(MetaTables.DENTRIES, new DentryKey(7, "d"), dentry(2));
      committed.put(MetaTables.DENTRIES, new DentryKey(8, "a"), dentry(3));
      store.commit(committed, null);

      Tx batch = store.begin();
      Tx first = batch.child();
      first.put(MetaTables.DENTRIES, new DentryKey(7, "a"), dentry(10));
      first.delete(MetaTables.DENTRIES, new DentryKey(7, "d"));
      first.mergeIntoParent();

      Tx failed = batch.child();
      failed.put(MetaTables.DENTRIES, new DentryKey(7, "c"), dentry(11));
      failed.delete(MetaTables.DENTRIES, new DentryKey(7, "b"));
      assertEquals(List.of("a", "c"), names(failed, 7), "a child sees its own writes over the batch");
      // not merged: its writes vanish

      Tx later = batch.child();
      assertEquals(List.of("a", "b"), names(later, 7), "the batch's view: first merged, failed dropped");
      assertEquals(10, later.get(MetaTables.DENTRIES, new DentryKey(7, "a")).getIno());
      assertNull(later.get(MetaTables.DENTRIES, new DentryKey(7, "d")));
      assertEquals(List.of("b"), names(later, 7, "a"), "scan from a key skips what is before it");
      later.put(MetaTables.DENTRIES, new DentryKey(7, "e"), dentry(12));
      later.mergeIntoParent();

      store.commit(batch, null);
      assertEquals(List.of("a", "b", "e"), names(store.begin(), 7));
      assertEquals(List.of("a"), names(store.begin(), 8));
    }
  }

  private static DentryRecord dentry(long ino) {
    return DentryRecord.newBuilder().setIno(ino).build();
  }

  private static List<String> names(Tx tx, long dir) {
    return names(tx, dir, null);
  }

  private static List<String> names(Tx tx, long dir, String after) {
    List<String> out = new ArrayList<>();
    byte[] from = after == null ? null : DentryKey.CODEC.encode(new DentryKey(dir, after + "\0"));
    tx.scan(MetaTables.DENTRIES, DentryKey.prefix(dir), from, (k, v) -> out.add(k.name()));
    return out;
  }
}
