package io.shoalfs.storage.grpc;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.grpc.Metadata;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.shoalfs.common.metrics.MeterGroup;
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
import io.shoalfs.proto.storage.JoinGroupReply;
import io.shoalfs.proto.storage.JoinGroupRequest;
import io.shoalfs.proto.storage.StorageLogEntry;
import io.shoalfs.proto.storage.StorageLogReply;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.storage.core.StorageException;
import io.shoalfs.storage.core.WriteAuthority;
import io.shoalfs.storage.raft.Replies;
import io.shoalfs.storage.raft.StorageGroups;
import io.shoalfs.storage.store.ChunkStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage wire API over a {@link ChunkStore}: widen the wire's unsigned fields, call the store, map its typed
 * errors to status codes, after checking each mutation's chunk token ({@link WriteAuthority}). No logic of its own;
 * nothing leaves as UNKNOWN.
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
  /** Trailer of a DATA_LOSS for bytes that changed in transit (the writer's CRC32C did not match): "write". */
  public static final Metadata.Key<String> TRANSIT_KEY =
      Metadata.Key.of("shoal-transit", Metadata.ASCII_STRING_MARSHALLER);

  private final String daemonId;
  private final ChunkStore store;
  /** This daemon's storage groups (null: it serves none, only its own chunks). */
  private final StorageGroups groups;

  /** Which mutations carry the metadata service's authority (chunk tokens). */
  private final WriteAuthority authority;

  private volatile Counter written;
  private volatile Counter read;

  public StorageGrpcService(String daemonId, ChunkStore store, WriteAuthority authority) {
    this(daemonId, store, null, authority);
  }

  public StorageGrpcService(String daemonId, ChunkStore store, StorageGroups groups, WriteAuthority authority) {
    this.daemonId = daemonId;
    this.store = store;
    this.groups = groups;
    this.authority = authority;
  }

  /**
   * Answers the refusal and returns false unless {@code token} allows the mutation (checked before anything
   * reaches the store or a group's log: the members that apply a logged entry trust the one that took it).
   */
  /** Counts bytes written and read in {@code shoal_storage_written_bytes_total} / {@code _read_bytes_total}. */
  public StorageGrpcService countedBy(MeterGroup metrics) {
    this.written = metrics.bytes("shoal.storage.written", "bytes of chunk data written through this daemon's API");
    this.read = metrics.bytes("shoal.storage.read", "bytes of chunk data read through this daemon's API");
    return this;
  }

  private boolean allowed(StreamObserver<?> out, String what, ChunkTokens.Op op, long chunkId, long epoch,
      com.google.protobuf.ByteString token) {
    try {
      authority.check(what, op, chunkId, epoch, token.toByteArray());
      return true;
    } catch (StorageException e) {
      if (e instanceof StorageException.Unauthorized) {
        LOG.warn("{}", e.getMessage());
      }
      out.onError(toStatus(e).asRuntimeException(trailers(e)));
      return false;
    }
  }

  /** Requests naming a replicated group go through its log (or its read index); the reply when applied. */
  private <T> boolean viaGroup(String groupId, StreamObserver<T> out,
      java.util.function.Supplier<java.util.concurrent.CompletableFuture<StorageLogReply>> call,
      java.util.function.Function<StorageLogReply, T> ok) {
    if (groupId.isEmpty()) {
      return false;
    }
    if (noGroups(out)) {
      return true;
    }
    call.get().whenComplete((reply, t) -> {
      if (t != null) {
        Throwable c = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
        out.onError(c instanceof io.grpc.StatusRuntimeException sre ? sre
            : Status.UNAVAILABLE.withDescription(String.valueOf(c)).asRuntimeException());
        return;
      }
      io.grpc.StatusRuntimeException err = Replies.toError(reply);
      if (err != null) {
        out.onError(err);
        return;
      }
      out.onNext(ok.apply(reply));
      out.onCompleted();
    });
    return true;
  }

  /** Answers FAILED_PRECONDITION when this daemon runs no Raft server (started without --raft-listen). */
  private boolean noGroups(StreamObserver<?> out) {
    if (groups != null) {
      return false;
    }
    out.onError(Status.FAILED_PRECONDITION.withDescription("daemon " + daemonId
        + " serves no storage groups (started without --raft-listen)").asRuntimeException());
    return true;
  }

  /** Joins a storage group (the metadata leader's group former asks every member before recording it). */
  @Override
  public void joinGroup(JoinGroupRequest req, StreamObserver<JoinGroupReply> out) {
    if (noGroups(out)) {
      return;
    }
    try {
      groups.join(req.getGroupId(), req.getMembersList());
    } catch (java.io.IOException | RuntimeException e) {
      out.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    out.onNext(JoinGroupReply.getDefaultInstance());
    out.onCompleted();
  }

  /** Re-replication: the group's leader changes its members (asked by the metadata leader's group former). */
  @Override
  public void changeGroup(io.shoalfs.proto.storage.ChangeGroupRequest req,
      StreamObserver<io.shoalfs.proto.storage.ChangeGroupReply> out) {
    if (noGroups(out)) {
      return;
    }
    try {
      groups.changeMembers(req.getGroupId(), req.getMembersList());
    } catch (io.grpc.StatusRuntimeException e) {
      out.onError(e);
      return;
    } catch (java.io.IOException | RuntimeException e) {
      out.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
      return;
    }
    out.onNext(io.shoalfs.proto.storage.ChangeGroupReply.getDefaultInstance());
    out.onCompleted();
  }

  /** Another member of a group repairs a damaged block from this member's copy. */
  @Override
  public void fetchBlock(io.shoalfs.proto.storage.FetchBlockRequest req,
      StreamObserver<io.shoalfs.proto.storage.FetchBlockReply> out) {
    if (noGroups(out)) {
      return;
    }
    respond(out, () -> {
      try {
        return groups.fetchBlock(req);
      } catch (java.io.IOException | IllegalArgumentException e) {
        throw new StorageException.Unavailable("no such group here: " + e.getMessage());
      }
    });
  }

  @Override
  public void writeChunk(WriteChunkRequest req, StreamObserver<WriteChunkReply> out) {
    if (!allowed(out, "write", ChunkTokens.Op.WRITE, req.getChunkId(), req.getEpoch(), req.getToken())) {
      return;
    }
    count(written, req.getData().size());
    if (req.hasDataCrc32C() && crc32c(req.getData()) != req.getDataCrc32C()) {
      // Checked before the store or a group's log sees it: a corrupted write changes nothing on any member.
      LOG.warn("write of chunk {} at {}: {} bytes do not match the writer's CRC32C (changed in transit); refused",
          Long.toUnsignedString(req.getChunkId()), Integer.toUnsignedLong(req.getOffset()), req.getData().size());
      Metadata m = new Metadata();
      m.put(TRANSIT_KEY, "write");
      out.onError(Status.DATA_LOSS.withDescription("the " + req.getData().size() + " bytes received for chunk "
          + Long.toUnsignedString(req.getChunkId()) + " do not match the writer's CRC32C: changed in transit, "
          + "nothing written; send the write again").asRuntimeException(m));
      return;
    }
    if (!req.getGroupId().isEmpty() && !store.hasRoomFor(req.getData().size())) {
      // The group's members apply alike whatever their capacity: the member that takes the write checks its own.
      out.onError(Status.RESOURCE_EXHAUSTED.withDescription("storage daemon " + daemonId + " is full: "
          + store.usedBytes() + " of " + store.capacityBytes() + " bytes used; reads go on").asRuntimeException());
      return;
    }
    if (viaGroup(req.getGroupId(), out, () -> groups.submit(req.getGroupId(),
        StorageLogEntry.newBuilder().setWrite(req.toBuilder().clearData().clearToken()).build(), req.getData()),
        r -> WriteChunkReply.getDefaultInstance())) {
      return;
    }
    respond(out, () -> {
      // A read-only view: no copy of the payload before the store cuts it into blocks.
      store.write(req.getChunkId(), req.getEpoch(), Integer.toUnsignedLong(req.getOffset()),
          req.getData().asReadOnlyByteBuffer(), req.getSync());
      return WriteChunkReply.getDefaultInstance();
    });
  }

  @Override
  public void readChunk(ReadChunkRequest req, StreamObserver<ReadChunkReply> out) {
    count(read, Integer.toUnsignedLong(req.getLength()));
    if (viaGroup(req.getGroupId(), out, () -> groups.read(req.getGroupId(), req),
        r -> ReadChunkReply.newBuilder().setData(r.getData()).setDataCrc32C(crc32c(r.getData())).build())) {
      return;
    }
    respond(out, () -> {
      long length = Integer.toUnsignedLong(req.getLength());
      if (length > Integer.MAX_VALUE) {
        throw new StorageException.InvalidRange("read length " + length + " is larger than a chunk");
      }
      byte[] data = store.read(req.getChunkId(), Integer.toUnsignedLong(req.getOffset()), (int) length);
      // The array is ours alone and never changes again: wrap it instead of copying it. Its CRC32C travels
      // with it, so the reader can tell bytes that changed on the way from bytes the blocks' CRCs passed.
      ByteString bytes = UnsafeByteOperations.unsafeWrap(data);
      return ReadChunkReply.newBuilder().setData(bytes).setDataCrc32C(crc32c(bytes)).build();
    });
  }

  @Override
  public void truncateChunk(TruncateChunkRequest req, StreamObserver<TruncateChunkReply> out) {
    if (!allowed(out, "truncate", ChunkTokens.Op.WRITE, req.getChunkId(), req.getEpoch(), req.getToken())) {
      return;
    }
    if (viaGroup(req.getGroupId(), out, () -> groups.submit(req.getGroupId(),
        StorageLogEntry.newBuilder().setTruncate(req.toBuilder().clearToken()).build(),
        com.google.protobuf.ByteString.EMPTY),
        r -> TruncateChunkReply.getDefaultInstance())) {
      return;
    }
    respond(out, () -> {
      store.truncate(req.getChunkId(), req.getEpoch(), Integer.toUnsignedLong(req.getLength()));
      return TruncateChunkReply.getDefaultInstance();
    });
  }

  @Override
  public void deleteChunk(DeleteChunkRequest req, StreamObserver<DeleteChunkReply> out) {
    if (!allowed(out, "delete", ChunkTokens.Op.DELETE, req.getChunkId(), 0, req.getToken())) {
      return;
    }
    if (viaGroup(req.getGroupId(), out, () -> groups.submit(req.getGroupId(),
        StorageLogEntry.newBuilder().setDelete(req.toBuilder().clearToken()).build(),
        com.google.protobuf.ByteString.EMPTY),
        r -> DeleteChunkReply.getDefaultInstance())) {
      return;
    }
    respond(out, () -> {
      store.delete(req.getChunkId());
      return DeleteChunkReply.getDefaultInstance();
    });
  }

  @Override
  public void fenceChunk(FenceChunkRequest req, StreamObserver<FenceChunkReply> out) {
    if (!allowed(out, "fence", ChunkTokens.Op.FENCE, req.getChunkId(), 0, req.getToken())) {
      return;
    }
    if (viaGroup(req.getGroupId(), out, () -> groups.submit(req.getGroupId(),
        StorageLogEntry.newBuilder().setFence(req.toBuilder().clearToken()).build(),
        com.google.protobuf.ByteString.EMPTY),
        r -> FenceChunkReply.newBuilder().setFence(r.getFence()).build())) {
      return;
    }
    respond(out, () -> FenceChunkReply.newBuilder().setFence(store.fence(req.getChunkId(), req.getEpoch())).build());
  }

  /** Every write acknowledged before this call is durable when it returns (the chunk ids are not needed). */
  @Override
  public void sync(SyncRequest req, StreamObserver<SyncReply> out) {
    if (!req.getGroupId().isEmpty()) {
      // A replicated write is acknowledged only once a majority synced its bytes: nothing left to do.
      out.onNext(SyncReply.getDefaultInstance());
      out.onCompleted();
      return;
    }
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
    if (!allowed(out, "copy into", ChunkTokens.Op.WRITE, req.getToChunkId(), req.getEpoch(), req.getToken())) {
      return;
    }
    if (viaGroup(req.getGroupId(), out, () -> groups.submit(req.getGroupId(),
        StorageLogEntry.newBuilder().setCopy(req.toBuilder().clearToken()).build(),
        com.google.protobuf.ByteString.EMPTY),
        r -> CopyChunkReply.getDefaultInstance())) {
      return;
    }
    respond(out, () -> {
      store.copy(req.getFromChunkId(), req.getToChunkId(), Integer.toUnsignedLong(req.getOffset()),
          Integer.toUnsignedLong(req.getLength()));
      return CopyChunkReply.getDefaultInstance();
    });
  }

  private interface Call<T> {
    T run() throws StorageException;
  }

  /** CRC32C of a message's bytes, without copying them (hardware-accelerated: a few GB/s per core). */
  public static int crc32c(ByteString bytes) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    for (java.nio.ByteBuffer b : bytes.asReadOnlyByteBufferList()) {
      crc.update(b);
    }
    return (int) crc.getValue();
  }

  private static void count(Counter c, long bytes) {
    if (c != null) {
      c.increment(bytes);
    }
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
  public static Status toStatus(StorageException e) {
    Status status = switch (e) {
      case StorageException.InvalidRange r -> Status.INVALID_ARGUMENT;
      case StorageException.CorruptBlock c -> Status.DATA_LOSS;
      case StorageException.OutOfSpace s -> Status.RESOURCE_EXHAUSTED;
      case StorageException.Unavailable u -> Status.UNAVAILABLE;
      case StorageException.Stale st -> Status.FAILED_PRECONDITION;
      case StorageException.StoreFailure f -> Status.INTERNAL;
      case StorageException.Unauthorized u -> Status.PERMISSION_DENIED;
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
