package io.shoalfs.meta.raft;

import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.metalog.MetaLogEntry;
import java.util.List;
import java.util.function.Supplier;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.MemoizedSupplier;

/**
 * Messages that cross the Ratis boundary inside one JVM as objects. The gRPC layer already parsed the client's
 * request; serializing it for Ratis and parsing it again on the same replica (and the same for the reply) is
 * what cost about six copies per request. These carry the parsed objects; {@link Message#getContent()} is
 * serialized lazily, once, only if Ratis needs bytes (the log entry of a batch; a read request forwarded to
 * another server never happens with read index, but would still work).
 */
final class LocalMessages {
  private LocalMessages() {}

  private abstract static class Lazy implements Message {
    private final Supplier<ByteString> content = MemoizedSupplier.valueOf(this::serialize);

    abstract ByteString serialize();

    @Override
    public ByteString getContent() {
      return content.get();
    }

    @Override
    public String toString() {
      return getClass().getSimpleName();
    }
  }

  /** A read request of a session; {@code MetaStateMachine.query} uses the object (bytes: a MetaCall). */
  static final class Read extends Lazy {
    final MetaRequest request;
    final long sessionId;

    Read(MetaRequest request, long sessionId) {
      this.request = request;
      this.sessionId = sessionId;
    }

    @Override
    ByteString serialize() {
      return UnsafeByteOperations.unsafeWrap(io.shoalfs.proto.meta.MetaCall.newBuilder().setSessionId(sessionId)
          .setRequest(request).build().toByteArray());
    }
  }

  /** A reply from {@code query}; the gRPC layer uses the object. */
  static final class Reply extends Lazy {
    final MetaReply reply;

    Reply(MetaReply reply) {
      this.reply = reply;
    }

    @Override
    ByteString serialize() {
      return UnsafeByteOperations.unsafeWrap(reply.toByteArray());
    }
  }

  /**
   * One group-commit batch: the log entry (serialized once, as the entry's log data) and the pending calls it
   * answers, which apply on this leader completes directly.
   */
  static final class Batch extends Lazy {
    final MetaLogEntry entry;
    final List<GroupCommit.Pending> calls;
    final GroupCommit owner;

    Batch(MetaLogEntry entry, List<GroupCommit.Pending> calls, GroupCommit owner) {
      this.entry = entry;
      this.calls = calls;
      this.owner = owner;
    }

    @Override
    ByteString serialize() {
      return UnsafeByteOperations.unsafeWrap(entry.toByteArray());
    }
  }
}
