package io.shoalfs.storage.grpc;

import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.shoalfs.proto.storage.CopyChunkReply;
import io.shoalfs.proto.storage.CopyChunkRequest;
import io.shoalfs.proto.storage.DaemonStatusReply;
import io.shoalfs.proto.storage.DaemonStatusRequest;
import io.shoalfs.proto.storage.DeleteChunkReply;
import io.shoalfs.proto.storage.DeleteChunkRequest;
import io.shoalfs.proto.storage.FenceChunkReply;
import io.shoalfs.proto.storage.FenceChunkRequest;
import io.shoalfs.proto.storage.ReadChunkReply;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import io.shoalfs.proto.storage.SyncReply;
import io.shoalfs.proto.storage.SyncRequest;
import io.shoalfs.proto.storage.TruncateChunkReply;
import io.shoalfs.proto.storage.TruncateChunkRequest;
import io.shoalfs.proto.storage.WriteChunkReply;
import io.shoalfs.proto.storage.WriteChunkRequest;
import io.shoalfs.storage.core.StorageException;
import io.shoalfs.storage.store.ChunkStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage wire API over a {@link ChunkStore}: widen the wire's unsigned fields, call the store, map its typed
 * errors to status codes. No logic of its own; nothing leaves as UNKNOWN.
 */
public final class StorageGrpcService extends StorageServiceGrpc.StorageServiceImplBase {
  private static final Logger LOG = LoggerFactory.getLogger(StorageGrpcService.class);

  /** Trailers of a DATA_LOSS reply, so a client can name the damaged block without parsing the message. */
  public static final Metadata.Key<String> CHUNK_ID_KEY =
      Metadata.Key.of("shoal-chunk-id", Metadata.ASCII_STRING_MARSHALLER);
  public static final Metadata.Key<String> BLOCK_KEY =
      Metadata.Key.of("shoal-block", Metadata.ASCII_STRING_MARSHALLER);
  /**
   * Trailer of a FAILED_PRECONDITION reply to a fenced request: the chunk's fence (unsigned decimal; "deleted"
   * for a deleted chunk). Its presence is what tells a stale chunk map from any other failed precondition.
   */
  public static final Metadata.Key<String> STALE_KEY =
      Metadata.Key.of("shoal-stale", Metadata.ASCII_STRING_MARSHALLER);

  private final String daemonId;
  private final ChunkStore store;

  public StorageGrpcService(String daemonId, ChunkStore store) {
    this.daemonId = daemonId;
    this.store = store;
  }

  @Override
  public void writeChunk(WriteChunkRequest req, StreamObserver<WriteChunkReply> out) {
    respond(out, () -> {
      // A read-only view: no copy of the payload before the store cuts it into blocks.
      store.write(req.getChunkId(), req.getEpoch(), Integer.toUnsignedLong(req.getOffset()),
          req.getData().asReadOnlyByteBuffer(), req.getSync());
      return WriteChunkReply.getDefaultInstance();
    });
  }

  @Override
  public void readChunk(ReadChunkRequest req, StreamObserver<ReadChunkReply> out) {
    respond(out, () -> {
      long length = Integer.toUnsignedLong(req.getLength());
      if (length > Integer.MAX_VALUE) {
        throw new StorageException.InvalidRange("read length " + length + " is larger than a chunk");
      }
      byte[] data = store.read(req.getChunkId(), Integer.toUnsignedLong(req.getOffset()), (int) length);
      // The array is ours alone and never changes again: wrap it instead of copying it.
      return ReadChunkReply.newBuilder().setData(UnsafeByteOperations.unsafeWrap(data)).build();
    });
  }

  @Override
  public void truncateChunk(TruncateChunkRequest req, StreamObserver<TruncateChunkReply> out) {
    respond(out, () -> {
      store.truncate(req.getChunkId(), req.getEpoch(), Integer.toUnsignedLong(req.getLength()));
      return TruncateChunkReply.getDefaultInstance();
    });
  }

  @Override
  public void deleteChunk(DeleteChunkRequest req, StreamObserver<DeleteChunkReply> out) {
    respond(out, () -> {
      store.delete(req.getChunkId());
      return DeleteChunkReply.getDefaultInstance();
    });
  }

  @Override
  public void fenceChunk(FenceChunkRequest req, StreamObserver<FenceChunkReply> out) {
    respond(out, () -> FenceChunkReply.newBuilder().setFence(store.fence(req.getChunkId(), req.getEpoch())).build());
  }

  /** Every write acknowledged before this call is durable when it returns (the chunk ids are not needed). */
  @Override
  public void sync(SyncRequest req, StreamObserver<SyncReply> out) {
    respond(out, () -> {
      store.sync();
      return SyncReply.getDefaultInstance();
    });
  }

  @Override
  public void status(DaemonStatusRequest req, StreamObserver<DaemonStatusReply> out) {
    respond(out, () -> DaemonStatusReply.newBuilder()
        .setId(daemonId).setCapacityBytes(store.capacityBytes()).setUsedBytes(store.usedBytes())
        .setDiskBytes(store.diskBytes()).setTombstones(store.tombstones()).build());
  }

  /** Copy-on-write inside the daemon (snapshots and clones): no bytes cross the network. */
  @Override
  public void copyChunk(CopyChunkRequest req, StreamObserver<CopyChunkReply> out) {
    respond(out, () -> {
      store.copy(req.getFromChunkId(), req.getToChunkId(), Integer.toUnsignedLong(req.getOffset()),
          Integer.toUnsignedLong(req.getLength()));
      return CopyChunkReply.getDefaultInstance();
    });
  }

  private interface Call<T> {
    T run() throws StorageException;
  }

  private static <T> void respond(StreamObserver<T> out, Call<T> call) {
    T reply;
    try {
      reply = call.run();
    } catch (StorageException e) {
      if (e instanceof StorageException.CorruptBlock || e instanceof StorageException.StoreFailure) {
        LOG.warn("{}", e.getMessage());
      }
      out.onError(toStatus(e).asRuntimeException(trailers(e)));
      return;
    } catch (RuntimeException e) {
      LOG.error("storage request failed unexpectedly", e);
      out.onError(Status.INTERNAL.withDescription("storage daemon bug: " + e).asRuntimeException());
      return;
    }
    out.onNext(reply);
    out.onCompleted();
  }

  /** The one place domain errors become status codes. */
  static Status toStatus(StorageException e) {
    Status status = switch (e) {
      case StorageException.InvalidRange r -> Status.INVALID_ARGUMENT;
      case StorageException.CorruptBlock c -> Status.DATA_LOSS;
      case StorageException.OutOfSpace s -> Status.RESOURCE_EXHAUSTED;
      case StorageException.Unavailable u -> Status.UNAVAILABLE;
      case StorageException.Stale st -> Status.FAILED_PRECONDITION;
      case StorageException.StoreFailure f -> Status.INTERNAL;
    };
    return status.withDescription(e.getMessage());
  }

  private static Metadata trailers(StorageException e) {
    Metadata m = new Metadata();
    if (e instanceof StorageException.CorruptBlock c) {
      m.put(CHUNK_ID_KEY, Long.toUnsignedString(c.chunkId()));
      m.put(BLOCK_KEY, Integer.toString(c.block()));
    }
    if (e instanceof StorageException.Stale st) {
      m.put(CHUNK_ID_KEY, Long.toUnsignedString(st.chunkId()));
      m.put(STALE_KEY, st.fence() == -1L ? "deleted" : Long.toUnsignedString(st.fence()));
    }
    return m;
  }
}
