package io.shoalfs.client;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.net.GrpcServers;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.LayoutReply;
import io.shoalfs.proto.meta.StorageDaemon;
import io.shoalfs.proto.meta.StorageGroup;
import io.shoalfs.proto.storage.*;
import java.io.IOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Reads and writes chunk data on storage daemons. Resolves a chunk's group to daemon addresses through the
 * metadata service's layout, refreshed when a group is unknown.
 *
 * <p>A group is a daemon alone (unreplicated) or a replicated group (a Ratis group of 2 or 3 daemons): the
 * client sends mutations to its leader and reads to any member, and the group replicates. Either way the
 * client never copies data to several daemons itself.
 */
public final class StorageClient implements AutoCloseable {
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(StorageClient.class);
  private static final long CALL_TIMEOUT_SECONDS = 30;
  /** How long the retry after UNAVAILABLE waits for a fresh connection to the daemon. */
  static final long RECONNECT_WAIT_MILLIS = 3000;
  /** Replicated groups: one attempt on one member (a hung member is left after this). */
  static final long ATTEMPT_MILLIS = 5000;
  /** Replicated groups: the whole call, across members and elections. */
  static final long REPLICATED_DEADLINE_MILLIS = 60_000;
  /** Trailer of UNAVAILABLE from a member that is not the leader: the leader's storage address. */
  static final Metadata.Key<String> LEADER_KEY = Metadata.Key.of("shoal-leader", Metadata.ASCII_STRING_MARSHALLER);

  private final MetaClient meta;
  private final Map<String, StorageGroup> groups = new ConcurrentHashMap<>();
  /** Replicated groups: the member that last took a mutation (its leader, as far as this client knows). */
  private final Map<String, String> leaders = new ConcurrentHashMap<>();
  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  private volatile int chunkSize;

  public StorageClient(MetaClient meta) {
    this.meta = meta;
  }

  /** Chunk size of the cluster (bytes); fetched with the layout. */
  public int chunkSize() throws MetaException {
    if (chunkSize == 0) {
      refreshLayout();
    }
    return chunkSize;
  }

  public void refreshLayout() throws MetaException {
    LayoutReply layout = meta.getLayout();
    for (StorageGroup g : layout.getGroupsList()) {
      groups.put(g.getGroupId(), g);
    }
    chunkSize = layout.getChunkSize();
  }

  /** Trailer the daemon sets on a fenced refusal (see storage.proto): the fence, or "deleted". */
  static final Metadata.Key<String> STALE_KEY = Metadata.Key.of("shoal-stale", Metadata.ASCII_STRING_MARSHALLER);

  /**
   * Writes at {@code offset} of the chunk, carrying the ref's epoch. A {@link StaleChunkException} means the
   * daemon refused it as fenced: nothing was written.
   */
  public void write(ChunkRef chunk, int offset, ByteString data, boolean sync) throws IOException {
    // The writer's CRC32C travels with the bytes; the daemon refuses bytes that changed on the way (DATA_LOSS,
    // trailer shoal-transit) before anything is stored, and the write is sent again from this buffer.
    WriteChunkRequest.Builder req = WriteChunkRequest.newBuilder().setChunkId(chunk.getChunkId())
        .setEpoch(chunk.getEpoch()).setToken(chunk.getToken()).setOffset(offset).setData(data).setSync(sync)
        .setDataCrc32C(crc32c(data));
    resent("write", chunk, (st, g) -> st.writeChunk(req.setGroupId(g).build()));
  }

  /**
   * {@link #call} on the chunk's group, sent again (up to {@link #TRANSIT_ATTEMPTS} in all) while its bytes
   * arrive changed, a transit CRC mismatch either way; any other failure, or the last one, is final.
   */
  private <T> T resent(String what, ChunkRef chunk, Rpc<T> rpc) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        return call(chunk.getGroupId(), rpc);
      } catch (StatusRuntimeException e) {
        if (attempt < TRANSIT_ATTEMPTS && inTransit(e)) {
          LOG.warn("{} of chunk {}: bytes changed in transit (attempt {}); sending it again", what,
              Long.toUnsignedString(chunk.getChunkId()), attempt);
          continue;
        }
        throw failed(what, chunk, e);
      }
    }
  }

  /** Sends of one request whose bytes arrive changed (a transit CRC mismatch) before the error is final. */
  static final int TRANSIT_ATTEMPTS = 3;
  static final Metadata.Key<String> TRANSIT_KEY = Metadata.Key.of("shoal-transit", Metadata.ASCII_STRING_MARSHALLER);

  private static boolean inTransit(StatusRuntimeException e) {
    Metadata t = e.getTrailers();
    return e.getStatus().getCode() == io.grpc.Status.Code.DATA_LOSS && t != null && t.get(TRANSIT_KEY) != null;
  }

  /** CRC32C (Castagnoli) of the bytes, without copying them. */
  static int crc32c(ByteString bytes) {
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    for (java.nio.ByteBuffer b : bytes.asReadOnlyByteBufferList()) {
      crc.update(b);
    }
    return (int) crc.getValue();
  }

  /** A reply whose bytes do not match the CRC32C the daemon sent with them: DATA_LOSS, read again. */
  private static io.shoalfs.proto.storage.ReadChunkReply verified(io.shoalfs.proto.storage.ReadChunkReply r,
      ChunkRef chunk) {
    if (r.hasDataCrc32C() && crc32c(r.getData()) != r.getDataCrc32C()) {
      Metadata m = new Metadata();
      m.put(TRANSIT_KEY, "read");
      throw io.grpc.Status.DATA_LOSS.withDescription("the " + r.getData().size() + " bytes read of chunk "
          + Long.toUnsignedString(chunk.getChunkId()) + " do not match the daemon's CRC32C: changed in transit")
          .asRuntimeException(m);
    }
    return r;
  }

  /**
   * Raises the chunk's fence on its daemon to {@code epoch} and returns the fence in force: writes with an older
   * epoch are refused from then on (freezing a chunk for copy-on-write). {@code chunk}'s token must be the fence
   * token (ChunkRef.copy_from_token of the alloc_chunk answer that replaces it).
   */
  public long fence(ChunkRef chunk, long epoch) throws IOException {
    FenceChunkRequest.Builder req = FenceChunkRequest.newBuilder().setChunkId(chunk.getChunkId()).setEpoch(epoch)
        .setToken(chunk.getToken());
    try {
      return call(chunk.getGroupId(), (st, g) -> st.fenceChunk(req.setGroupId(g).build())).getFence();
    } catch (StatusRuntimeException e) {
      throw failed("fence", chunk, e);
    }
  }

  /** The status of a storage group's daemon (capacity, used bytes, disk bytes). */
  public DaemonStatusReply status(String groupId) throws IOException {
    try {
      return call(groupId, (st, g) -> st.status(DaemonStatusRequest.getDefaultInstance()));
    } catch (StatusRuntimeException e) {
      throw new IOException("status of storage group " + groupId + " failed: " + describe(e), e);
    }
  }

  /** A fenced refusal as {@link StaleChunkException}; anything else as a plain IOException. */
  private static IOException failed(String what, ChunkRef chunk, StatusRuntimeException e) {
    String message = what + " of chunk " + Long.toUnsignedString(chunk.getChunkId()) + " failed: " + describe(e);
    Metadata trailers = e.getTrailers();
    String stale = trailers == null ? null : trailers.get(STALE_KEY);
    if (e.getStatus().getCode() == io.grpc.Status.Code.FAILED_PRECONDITION && stale != null) {
      return new StaleChunkException(chunk.getChunkId(), stale.equals("deleted"), message, e);
    }
    return new IOException(message, e);
  }

  public ByteString read(ChunkRef chunk, int offset, int length) throws IOException {
    ReadChunkRequest.Builder req = ReadChunkRequest.newBuilder()
        .setChunkId(chunk.getChunkId()).setOffset(offset).setLength(length);
    // A member whose reply fails its CRC32C is DATA_LOSS like a damaged copy: a replicated group's next member
    // is asked; a daemon alone is asked again.
    return resent("read", chunk, (st, g) -> verified(st.readChunk(req.setGroupId(g).build()), chunk)).getData();
  }

  /**
   * Copies [offset, offset + length) of chunk {@code fromChunkId} into {@code to} inside its group's daemons
   * (copy-on-write of snapshots and clones; both chunks must live in {@code to}'s group).
   */
  public void copy(long fromChunkId, ChunkRef to, int offset, int length) throws IOException {
    CopyChunkRequest.Builder req = CopyChunkRequest.newBuilder().setFromChunkId(fromChunkId)
        .setToChunkId(to.getChunkId()).setEpoch(to.getEpoch()).setToken(to.getToken()).setOffset(offset)
        .setLength(length);
    try {
      call(to.getGroupId(), (st, g) -> st.copyChunk(req.setGroupId(g).build()));
    } catch (StatusRuntimeException e) {
      throw new IOException("copy of chunk " + fromChunkId + " into " + to.getChunkId() + " failed: " + describe(e),
          e);
    }
  }

  public void truncate(ChunkRef chunk, int length) throws IOException {
    try {
      TruncateChunkRequest.Builder req = TruncateChunkRequest.newBuilder().setChunkId(chunk.getChunkId())
          .setEpoch(chunk.getEpoch()).setToken(chunk.getToken()).setLength(length);
      call(chunk.getGroupId(), (st, g) -> st.truncateChunk(req.setGroupId(g).build()));
    } catch (StatusRuntimeException e) {
      throw failed("truncate", chunk, e);
    }
  }

  /**
   * Makes every write the daemons of {@code groupId} acknowledged so far durable (an fsync of their logs) before
   * it returns: what fsync(2) needs, once per group written. {@code chunkIds} names the chunks written (a hint
   * for stores that keep chunks apart; today's daemons sync everything).
   */
  public void sync(String groupId, Collection<Long> chunkIds) throws IOException {
    SyncRequest.Builder req = SyncRequest.newBuilder().addAllChunkIds(chunkIds);
    try {
      call(groupId, (st, g) -> st.sync(req.setGroupId(g).build()));
    } catch (StatusRuntimeException e) {
      throw new IOException("sync of storage group " + groupId + " failed: " + describe(e), e);
    }
  }

  /** One line: the gRPC code and description, without the cause's stack trace that Status.toString() carries. */
  private static String describe(StatusRuntimeException e) {
    String d = e.getStatus().getDescription();
    return e.getStatus().getCode() + (d == null ? "" : ": " + d.lines().findFirst().orElse(""));
  }

  private interface Rpc<T> {
    /** One attempt on {@code stub}; {@code groupId} goes into the request ("" for a daemon alone). */
    T run(StorageServiceGrpc.StorageServiceBlockingStub stub, String groupId);
  }

  /** The group of a chunk, from the layout (fetched again once when the group is not known yet). */
  private StorageGroup group(String groupId) throws IOException {
    StorageGroup g = groups.get(groupId);
    if (g == null) {
      try {
        refreshLayout();
      } catch (MetaException e) {
        throw new IOException("cannot resolve storage group " + groupId + ": " + e.getMessage(), e);
      }
      g = groups.get(groupId);
    }
    if (g == null || g.getMembersCount() == 0) {
      throw new IOException("storage group " + groupId + " has no daemons");
    }
    return g;
  }

  private <T> T call(String groupId, Rpc<T> rpc) throws IOException {
    StorageGroup g = group(groupId);
    return g.getReplicated() ? callReplicated(g, rpc) : callSingle(g.getMembers(0).getAddress(), rpc);
  }

  /**
   * One call to a daemon alone, tried a second time after UNAVAILABLE (every storage call is idempotent): gRPC
   * keeps a channel whose connection failed in a back-off of up to two minutes during which calls fail at once,
   * so a daemon that restarted would stay unreachable long after it is back. Resetting the back-off makes the
   * second try connect anew, waiting (bounded by {@link #RECONNECT_WAIT_MILLIS}) for the connection instead of
   * failing on the stale state; if the daemon is still down it fails after that wait.
   */
  private <T> T callSingle(String address, Rpc<T> rpc) {
    ManagedChannel ch = channel(address);
    try {
      return rpc.run(stub(ch), "");
    } catch (StatusRuntimeException e) {
      if (e.getStatus().getCode() != io.grpc.Status.Code.UNAVAILABLE) {
        throw e;
      }
      ch.resetConnectBackoff();
      return rpc.run(StorageServiceGrpc.newBlockingStub(ch).withWaitForReady()
          .withDeadlineAfter(RECONNECT_WAIT_MILLIS, TimeUnit.MILLISECONDS), "");
    }
  }

  /**
   * A call to a replicated group: to the member this client last saw lead it, then to the one a member names as
   * leader, then to each other member in turn, each attempt bounded by {@link #ATTEMPT_MILLIS} (a hung daemon
   * costs one attempt, not the whole call). A dead member, an election in progress and a member that is not the
   * leader are retried (every storage call is idempotent: a write carries its offset and bytes) until
   * {@link #REPLICATED_DEADLINE_MILLIS}; any other answer is final.
   */
  private <T> T callReplicated(StorageGroup g, Rpc<T> rpc) {
    List<String> members = new java.util.ArrayList<>();
    g.getMembersList().forEach(m -> members.add(m.getAddress()));
    String target = leaders.getOrDefault(g.getGroupId(), members.get(0));
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(REPLICATED_DEADLINE_MILLIS);
    StatusRuntimeException last = null;
    int attempt = 0;
    int damaged = 0;
    while (true) {
      ManagedChannel ch = channel(target);
      if (ch.getState(false) == io.grpc.ConnectivityState.TRANSIENT_FAILURE) {
        ch.resetConnectBackoff();
      }
      try {
        T reply = rpc.run(StorageServiceGrpc.newBlockingStub(ch)
            .withDeadlineAfter(ATTEMPT_MILLIS, TimeUnit.MILLISECONDS), g.getGroupId());
        leaders.put(g.getGroupId(), target);
        return reply;
      } catch (StatusRuntimeException e) {
        io.grpc.Status.Code c = e.getStatus().getCode();
        if (c == io.grpc.Status.Code.DATA_LOSS && ++damaged < members.size()) {
          // That member's copy is damaged (it repairs itself from another): read another member's copy.
          last = e;
          target = members.get((members.indexOf(target) + 1) % members.size());
          continue;
        }
        if (c != io.grpc.Status.Code.UNAVAILABLE && c != io.grpc.Status.Code.DEADLINE_EXCEEDED) {
          throw e;
        }
        last = e;
      }
      attempt++;
      if (System.nanoTime() >= deadline) {
        throw last;
      }
      Metadata trailers = last.getTrailers();
      String hint = trailers == null ? null : trailers.get(LEADER_KEY);
      if (hint != null && members.contains(hint) && !hint.equals(target)) {
        target = hint;
      } else {
        target = members.get((members.indexOf(target) + 1) % members.size());
        if (attempt % members.size() == 0) {
          // A whole round without a leader: an election is running; wait a little before the next round.
          try {
            Thread.sleep(Math.min(1000, 100L * attempt / members.size()));
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw last;
          }
        }
      }
    }
  }

  private static StorageServiceGrpc.StorageServiceBlockingStub stub(ManagedChannel ch) {
    return StorageServiceGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS);
  }

  private ManagedChannel channel(String address) {
    return channels.computeIfAbsent(address, a -> {
      HostPort hp = HostPort.parse(a);
      return io.shoalfs.common.net.Tls.channel(hp.host(), hp.port())
          .maxInboundMessageSize(GrpcServers.MAX_MESSAGE_BYTES).flowControlWindow(GrpcServers.FLOW_CONTROL_WINDOW)
          .build();
    });
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
  }
}
