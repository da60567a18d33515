package io.shoalfs.storage.raft;

import io.grpc.Metadata;
import io.grpc.Status;
import io.shoalfs.proto.storage.StorageLogReply;
import io.shoalfs.storage.core.StorageException;
import io.shoalfs.storage.grpc.StorageGrpcService;

/** A storage group's replies: domain errors carried in the applied result, and back to a gRPC status. */
public final class Replies {
  private Replies() {}

  static StorageLogReply error(Status.Code code, String message) {
    return StorageLogReply.newBuilder().setStatus(code.value()).setMessage(message).build();
  }

  /** A domain error as the reply every member computes alike. */
  static StorageLogReply of(StorageException e) {
    Status st = StorageGrpcService.toStatus(e);
    StorageLogReply.Builder b = StorageLogReply.newBuilder().setStatus(st.getCode().value())
        .setMessage(String.valueOf(st.getDescription()));
    if (e instanceof StorageException.Stale s) {
      b.setChunkId(s.chunkId()).setStale(s.fence() == -1L ? "deleted" : Long.toUnsignedString(s.fence()));
    }
    if (e instanceof StorageException.CorruptBlock c) {
      b.setChunkId(c.chunkId());
    }
    return b.build();
  }

  /** The gRPC error of a reply that is not OK, with the trailers the direct path sends (null when OK). */
  public static io.grpc.StatusRuntimeException toError(StorageLogReply r) {
    if (r.getStatus() == 0) {
      return null;
    }
    Metadata m = new Metadata();
    if (!r.getStale().isEmpty()) {
      m.put(StorageGrpcService.CHUNK_ID_KEY, Long.toUnsignedString(r.getChunkId()));
      m.put(StorageGrpcService.STALE_KEY, r.getStale());
    }
    return Status.fromCodeValue(r.getStatus()).withDescription(r.getMessage()).asRuntimeException(m);
  }
}
