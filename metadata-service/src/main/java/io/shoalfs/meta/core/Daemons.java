package io.shoalfs.meta.core;

import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.records.DaemonRecord;
import java.util.ArrayList;
import java.util.List;

/** Registered storage daemons and the storage groups they form (for now each daemon is its own group). */
public final class Daemons {
  private Daemons() {}

  public static String groupOf(String daemonId) {
    return "g-" + daemonId;
  }

  /** Every registered daemon, in id order. */
  public static List<DaemonRecord> all(Tx tx) {
    List<DaemonRecord> out = new ArrayList<>();
    tx.scan(MetaTables.DAEMONS, new byte[0], null, (k, v) -> out.add(v));
    return out;
  }
}
