package io.shoalfs.meta.raft;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.records.ClientCallRecord;
import java.nio.ByteBuffer;

/**
 * The exactly-once table (client_calls): the reply of every write call, keyed by client id and call id, written
 * in the same RocksDB batch as the call's effects. A retried call finds its reply here, on any replica that
 * became leader and after a restart of every replica.
 *
 * <p>Bound: each call carries the client's acknowledged call id (every call up to it got its reply). When it
 * advances, the records up to it go, and a row at call id 0 keeps the acknowledged id, so a stale copy of an
 * acknowledged call that turns up late is refused ({@link #isAcknowledged}) instead of applied a second time.
 * What stays per client is its calls in flight plus one row. A client that goes away for good leaves those rows
 * behind (a few per client process; they are small).
 */
final class ClientCalls {
  static final int CLIENT_ID_BYTES = 16;
  private static final long WATERMARK_CALL = 0;

  private ClientCalls() {}

  static byte[] key(ByteString clientId, long callId) {
    ByteBuffer b = ByteBuffer.allocate(CLIENT_ID_BYTES + Long.BYTES);
    clientId.copyTo(b);
    return b.putLong(callId).array();
  }

  /** The recorded reply of this call, or null if it was never applied. */
  static MetaReply recorded(Tx tx, ByteString clientId, long callId) {
    ClientCallRecord r = tx.get(MetaTables.CLIENT_CALLS, key(clientId, callId));
    if (r == null) {
      return null;
    }
    try {
      return MetaReply.parseFrom(r.getReply());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("client_calls record of call " + callId + " is unreadable", e);
    }
  }

  /** True if the client already acknowledged this call id: a copy that arrives now is stale. */
  static boolean isAcknowledged(Tx tx, ByteString clientId, long callId) {
    return callId <= acknowledged(tx, clientId);
  }

  static void record(Tx tx, ByteString clientId, long callId, MetaReply reply, long nowNs) {
    tx.put(MetaTables.CLIENT_CALLS, key(clientId, callId),
        ClientCallRecord.newBuilder().setReply(reply.toByteString()).setAppliedNs(nowNs).build());
  }

  /** Forgets the records up to {@code acked} (exclusive of calls still in flight, which are above it). */
  static void acknowledge(Tx tx, ByteString clientId, long acked) {
    long before = acknowledged(tx, clientId);
    if (acked <= before) {
      return;
    }
    byte[] prefix = clientId.toByteArray();
    tx.scan(MetaTables.CLIENT_CALLS, prefix, key(clientId, before + 1), (k, v) -> {
      long call = ByteBuffer.wrap(k, CLIENT_ID_BYTES, Long.BYTES).getLong();
      if (call > acked) {
        return false;
      }
      tx.delete(MetaTables.CLIENT_CALLS, k);
      return true;
    });
    tx.put(MetaTables.CLIENT_CALLS, key(clientId, WATERMARK_CALL),
        ClientCallRecord.newBuilder().setAckedCallId(acked).build());
  }

  private static long acknowledged(Tx tx, ByteString clientId) {
    ClientCallRecord w = tx.get(MetaTables.CLIENT_CALLS, key(clientId, WATERMARK_CALL));
    return w == null ? 0 : w.getAckedCallId();
  }
}
