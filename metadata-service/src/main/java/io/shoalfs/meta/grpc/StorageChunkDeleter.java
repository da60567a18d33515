package io.shoalfs.meta.grpc;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.ChunkTokens;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.meta.raft.ChunkDeleter;
import io.shoalfs.proto.storage.DeleteChunkRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The collector's calls to storage daemons: DeleteChunk over one channel per daemon address (as many as there
 * are daemons), each call bounded by {@link #CALL_TIMEOUT}, each with its delete token ({@link ChunkTokens}).
 */
public final class StorageChunkDeleter implements ChunkDeleter {
  /** A delete is one synced RocksDB batch on the daemon; longer means the daemon is in trouble. */
  static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
  /** Channels kept at most; past it they are all closed and opened again as needed (daemons are few). */
  static final int MAX_CHANNELS = 4096;

  private final Map<String, ManagedChannel> channels = new ConcurrentHashMap<>();
  /** The cluster's write key (the daemons take a delete only with its token); null before any registration. */
  private final Supplier<byte[]> writeKey;

  public StorageChunkDeleter(Supplier<byte[]> writeKey) {
    this.writeKey = writeKey;
  }

  @Override
  public void delete(io.shoalfs.proto.meta.StorageGroup group, long chunkId) throws IOException {
    if (!group.getReplicated()) {
      delete(group.getMembers(0).getAddress(), "", chunkId);
      return;
    }
    // A replicated group: its leader takes the delete; the other members answer UNAVAILABLE.
    IOException last = null;
    for (io.shoalfs.proto.meta.StorageDaemon m : group.getMembersList()) {
      try {
        delete(m.getAddress(), group.getGroupId(), chunkId);
        return;
      } catch (IOException e) {
        last = e;
      }
    }
    throw last != null ? last : new IOException("storage group " + group.getGroupId() + " has no members");
  }

  private void delete(String address, String groupId, long chunkId) throws IOException {
    byte[] key = writeKey.get();
    if (key == null) {
      throw new IOException("DeleteChunk " + Long.toUnsignedString(chunkId) + ": the cluster has no write key yet");
    }
    ManagedChannel ch = channel(address);
    try {
      StorageServiceGrpc.newBlockingStub(ch).withDeadlineAfter(CALL_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
          .deleteChunk(DeleteChunkRequest.newBuilder().setChunkId(chunkId).setGroupId(groupId)
              .setToken(ByteString.copyFrom(ChunkTokens.sign(key, ChunkTokens.Op.DELETE, chunkId, 0))).build());
    } catch (StatusRuntimeException e) {
      // The next attempt (after the collector's back-off) must connect anew, not wait out gRPC's own back-off.
      ch.resetConnectBackoff();
      String d = e.getStatus().getDescription();
      throw new IOException("DeleteChunk " + Long.toUnsignedString(chunkId) + " at " + address + ": "
          + e.getStatus().getCode() + (d == null ? "" : " " + d.lines().findFirst().orElse("")), e);
    }
  }

  private ManagedChannel channel(String address) throws IOException {
    ManagedChannel ch = channels.get(address);
    if (ch != null) {
      return ch;
    }
    HostPort hp;
    try {
      hp = HostPort.parse(address);
    } catch (IllegalArgumentException e) {
      throw new IOException("bad daemon address '" + address + "': " + e.getMessage(), e);
    }
    if (channels.size() >= MAX_CHANNELS) {
      close();
    }
    return channels.computeIfAbsent(address,
        a -> io.shoalfs.common.net.Tls.channel(hp.host(), hp.port()).build());
  }

  @Override
  public void close() {
    channels.values().forEach(ManagedChannel::shutdownNow);
    channels.clear();
  }
}
