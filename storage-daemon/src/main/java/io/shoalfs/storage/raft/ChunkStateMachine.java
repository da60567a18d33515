package io.shoalfs.storage.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.shoalfs.proto.storage.ReadChunkRequest;
import io.shoalfs.proto.storage.StorageLogEntry;
import io.shoalfs.proto.storage.StorageLogReply;
import io.shoalfs.proto.storage.WriteChunkRequest;
import io.shoalfs.storage.core.StorageException;
import io.shoalfs.storage.store.ChunkStore;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.zip.CRC32C;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One storage group's state machine on one member: the group's chunks in the daemon's shared {@link ChunkStore}
 * (chunk ids are unique cluster-wide, so groups never collide in it).
 *
 * <p>The bytes of a write never enter the Raft log (DESIGN decision 1): the leader's {@link #startTransaction}
 * puts the request without its bytes in the log data and the bytes in the entry's state-machine data. Each member
 * {@linkplain #write stages} those bytes, synced, when the entry reaches its log; only then does Ratis count the
 * entry as written there, so a committed write's bytes are durable on a majority. {@link #applyTransaction}
 * applies the staged bytes to the chunk and records the applied index with dropping them.
 *
 * <p>Deterministic: apply reads only the entry, its staged bytes and the store, so every member reaches the same
 * chunk contents and the same replies (a stale epoch is refused on each alike). The store's applied index is
 * written after the change, so a restart replays at most the last entry again, and every operation here gives
 * the same result applied twice in a row.
 */
public final class ChunkStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(ChunkStateMachine.class);

  private final ChunkStore store;
  private final Executor stagingPool;
  private String key = "";
  private volatile long appliedInStore = -1;
  /** Bytes of entries written to this member's log and not applied yet, by index (the leader re-sends them). */
  private final java.util.concurrent.ConcurrentHashMap<Long, byte[]> pending =
      new java.util.concurrent.ConcurrentHashMap<>();

  /** Told of a damaged block this member found (a read met it): the daemon repairs it from another member. */
  interface CorruptionListener {
    void corrupt(RaftGroupId group, long chunkId, int block);
  }

  private final CorruptionListener onCorrupt;
  /** Held while an entry is applied, and while a block is read or repaired against the applied index. */
  private final java.util.concurrent.locks.ReentrantLock applyLock = new java.util.concurrent.locks.ReentrantLock();
  private RaftGroupId gid;

  ChunkStateMachine(ChunkStore store, Executor stagingPool, CorruptionListener onCorrupt) {
    this.store = store;
    this.stagingPool = stagingPool;
    this.onCorrupt = onCorrupt;
  }

  /** This member's stored copy of a block with the applied index it is at (another member repairs from it). */
  record BlockCopy(byte[] value, long appliedIndex) {}

  BlockCopy copyOf(long chunkId, int block) throws StorageException {
    applyLock.lock();
    try {
      return new BlockCopy(store.rawBlock(chunkId, block), appliedInStore);
    } finally {
      applyLock.unlock();
    }
  }

  /** Replaces this member's block with another's copy if both stand at the same applied index; true if done. */
  boolean repairIfAt(long appliedIndex, long chunkId, int block, byte[] value) throws StorageException {
    applyLock.lock();
    try {
      if (appliedInStore != appliedIndex) {
        return false;
      }
      store.repairBlock(chunkId, block, value);
      return true;
    } finally {
      applyLock.unlock();
    }
  }

  /** The local submission of a write: the log entry's header and the bytes that go beside the log. */
  static final class Op implements Message {
    final StorageLogEntry entry;
    final com.google.protobuf.ByteString data;

    Op(StorageLogEntry entry, com.google.protobuf.ByteString data) {
      this.entry = entry;
      this.data = data;
    }

    @Override
    public ByteString getContent() {
      return UnsafeByteOperations.unsafeWrap(entry.toByteString().asReadOnlyByteBuffer());
    }
  }

  /** The store key of a group: its Raft group id. */
  static String keyOf(RaftGroupId gid) {
    return gid.getUuid().toString();
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    super.initialize(server, groupId, raftStorage);
    gid = groupId;
    key = keyOf(groupId);
    try {
      appliedInStore = store.appliedIndex(key);
    } catch (StorageException e) {
      throw new IOException(e.getMessage(), e);
    }
    // The log is replayed from its start; entries up to appliedInStore are skipped in apply.
    LOG.info("storage group {}: applied up to index {} in the chunk store", key, appliedInStore);
  }

  @Override
  public TransactionContext startTransaction(RaftClientRequest request) throws IOException {
    if (!(request.getMessage() instanceof Op op)) {
      TransactionContext trx = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request)
          .build();
      trx.setException(new IOException("storage group writes are submitted by the member's storage service"));
      return trx;
    }
    StorageLogEntry header = op.entry;
    ByteString data = ByteString.EMPTY;
    if (op.entry.hasWrite()) {
      int crc;
      if (op.entry.getWrite().hasDataCrc32C()) {
        crc = op.entry.getWrite().getDataCrc32C(); // the writer's, which the service checked against these bytes
      } else {
        CRC32C c = new CRC32C();
        c.update(op.data.asReadOnlyByteBuffer());
        crc = (int) c.getValue();
      }
      header = op.entry.toBuilder().setDataCrc32C(crc).setDataLength(op.data.size()).build();
      data = UnsafeByteOperations.unsafeWrap(op.data.asReadOnlyByteBuffer());
    }
    TransactionContext.Builder b = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request)
        .setStateMachineContext(op)
        .setLogData(UnsafeByteOperations.unsafeWrap(header.toByteString().asReadOnlyByteBuffer()));
    if (!data.isEmpty()) {
      b.setStateMachineData(data);
    }
    return b.build();
  }

  /**
   * Whether this member is the group's witness (a voter that holds no bytes: priority 0 in the configuration,
   * read each time since re-replication may change it).
   */
  boolean witness() {
    try {
      RaftServer server = getServer().getNow(null);
      if (server == null) {
        return false;
      }
      RaftServer.Division d = server.getDivision(gid);
      org.apache.ratis.protocol.RaftPeer self = d.getGroup().getPeer(d.getId());
      return self != null && self.getPriority() == StorageGroups.WITNESS_PRIORITY;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  /** A member writes the entry to its log: the bytes are staged, synced, before Ratis counts it written. */
  @Override
  public CompletableFuture<?> write(LogEntryProto entry, TransactionContext context) {
    ByteString data = entry.getStateMachineLogEntry().getStateMachineEntry().getStateMachineData();
    if (data.isEmpty() || witness()) {
      // A witness votes on the entry without keeping its bytes.
      return CompletableFuture.completedFuture(null);
    }
    long index = entry.getIndex();
    // Copied now: the entry may sit in a buffer Ratis reuses once this call returns (zero-copy appends).
    byte[] copy = data.toByteArray();
    pending.put(index, copy);
    return CompletableFuture.runAsync(() -> {
      try {
        store.stage(key, index, ByteBuffer.wrap(copy));
      } catch (StorageException e) {
        throw new java.util.concurrent.CompletionException(new IOException(e.getMessage(), e));
      }
    }, stagingPool);
  }

  /** The leader re-sends an entry whose bytes are no longer cached: staged, or read back (see readForReplay). */
  @Override
  public CompletableFuture<ByteString> read(LogEntryProto entry, TransactionContext context) {
    if (witness()) {
      return CompletableFuture.failedFuture(new IOException("this member is the witness of group " + key
          + ": it holds no bytes to send"));
    }
    try {
      byte[] mem = pending.get(entry.getIndex());
      if (mem != null) {
        return CompletableFuture.completedFuture(UnsafeByteOperations.unsafeWrap(mem));
      }
      byte[] staged = store.staged(key, entry.getIndex());
      if (staged != null) {
        return CompletableFuture.completedFuture(UnsafeByteOperations.unsafeWrap(staged));
      }
      if (entry.getIndex() > appliedInStore) {
        // Neither applied nor staged here: reading the chunk back would give older bytes than the entry's.
        return CompletableFuture.failedFuture(new IOException("entry " + entry.getIndex() + " of group " + key
            + " is not staged here"));
      }
      StorageLogEntry e = StorageLogEntry.parseFrom(
          entry.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      WriteChunkRequest w = e.getWrite();
      byte[] now = store.readForReplay(w.getChunkId(), Integer.toUnsignedLong(w.getOffset()), e.getDataLength());
      return CompletableFuture.completedFuture(UnsafeByteOperations.unsafeWrap(now));
    } catch (StorageException | InvalidProtocolBufferException e) {
      return CompletableFuture.failedFuture(new IOException("entry " + entry.getIndex() + " of group " + key
          + ": its bytes cannot be read: " + e.getMessage(), e));
    }
  }

  /** Ratis dropped uncommitted entries from {@code index} on: their staged bytes go too. */
  @Override
  public CompletableFuture<Void> truncate(long index) {
    pending.keySet().removeIf(i -> i >= index);
    try {
      store.dropStaged(key, index);
      return CompletableFuture.completedFuture(null);
    } catch (StorageException e) {
      return CompletableFuture.failedFuture(new IOException(e.getMessage(), e));
    }
  }

  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto le = trx.getLogEntry();
    long index = le.getIndex();
    if (index <= appliedInStore) {
      updateLastAppliedTermIndex(le.getTerm(), index);
      return CompletableFuture.completedFuture(reply(StorageLogReply.getDefaultInstance()));
    }
    StorageLogEntry e;
    try {
      e = StorageLogEntry.parseFrom(le.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
    } catch (InvalidProtocolBufferException ex) {
      throw new IllegalStateException("storage group " + key + ": log entry " + index + " is unreadable", ex);
    }
    StorageLogReply r;
    applyLock.lock();
    try {
      // A witness keeps no chunks: it only moves its applied index (its replies are never sent to a client).
      r = witness() ? StorageLogReply.getDefaultInstance() : apply(e, index, trx);
      store.applied(key, index);
      appliedInStore = index;
    } catch (StorageException.StoreFailure | StorageException.Unavailable ex) {
      // The store itself failed: this member cannot go on (Ratis stops it) rather than skip an entry.
      throw new IllegalStateException("storage group " + key + ": entry " + index + ": " + ex.getMessage(), ex);
    } catch (StorageException ex) {
      throw new IllegalStateException(ex);
    } finally {
      applyLock.unlock();
    }
    pending.remove(index);
    updateLastAppliedTermIndex(le.getTerm(), index);
    return CompletableFuture.completedFuture(reply(r));
  }

  private StorageLogReply apply(StorageLogEntry e, long index, TransactionContext trx)
      throws StorageException.StoreFailure, StorageException.Unavailable, StorageException {
    try {
      switch (e.getOpCase()) {
        case WRITE -> {
          ByteBuffer data = bytesOf(e, index, trx);
          WriteChunkRequest w = e.getWrite();
          store.write(w.getChunkId(), w.getEpoch(), Integer.toUnsignedLong(w.getOffset()), data, false, false);
          store.noteGroupChunk(key, w.getChunkId(), true);
        }
        case TRUNCATE -> store.truncate(e.getTruncate().getChunkId(), e.getTruncate().getEpoch(),
            Integer.toUnsignedLong(e.getTruncate().getLength()));
        case DELETE -> {
          store.delete(e.getDelete().getChunkId());
          store.noteGroupChunk(key, e.getDelete().getChunkId(), false);
        }
        case FENCE -> {
          return StorageLogReply.newBuilder()
              .setFence(store.fence(e.getFence().getChunkId(), e.getFence().getEpoch())).build();
        }
        case COPY -> {
          store.copy(e.getCopy().getFromChunkId(), e.getCopy().getToChunkId(),
              Integer.toUnsignedLong(e.getCopy().getOffset()), Integer.toUnsignedLong(e.getCopy().getLength()), false);
          store.noteGroupChunk(key, e.getCopy().getToChunkId(), true);
        }
        case OP_NOT_SET -> {
          return Replies.error(io.grpc.Status.Code.INVALID_ARGUMENT, "entry without an operation");
        }
      }
      return StorageLogReply.getDefaultInstance();
    } catch (StorageException.StoreFailure | StorageException.Unavailable fatal) {
      throw fatal;
    } catch (StorageException domain) {
      // The same on every member (same entries, same state): the reply, not a failure of the member.
      return Replies.of(domain);
    }
  }

  /** A write's bytes: the leader still holds its own submission; every member has them staged. */
  private ByteBuffer bytesOf(StorageLogEntry e, long index, TransactionContext trx) throws StorageException {
    ByteBuffer data;
    byte[] mem = pending.get(index);
    if (trx.getStateMachineContext() instanceof Op op) {
      data = op.data.asReadOnlyByteBuffer();
    } else if (mem != null) {
      data = ByteBuffer.wrap(mem);
    } else {
      byte[] staged = store.staged(key, index);
      if (staged == null) {
        throw new IllegalStateException("storage group " + key + ": the bytes of committed entry " + index
            + " are neither in the entry nor staged");
      }
      data = ByteBuffer.wrap(staged);
    }
    CRC32C crc = new CRC32C();
    crc.update(data.duplicate());
    if ((int) crc.getValue() != e.getDataCrc32C() || data.remaining() != e.getDataLength()) {
      throw new IllegalStateException("storage group " + key + ": the bytes of entry " + index
          + " do not match the CRC32C the leader computed (" + data.remaining() + " bytes, crc "
          + Integer.toHexString((int) crc.getValue()) + "; the leader's: " + e.getDataLength() + " bytes, crc "
          + Integer.toHexString(e.getDataCrc32C()) + ")");
    }
    return data;
  }

  /** A read on this member, after Ratis's read index made it current (linearizable). */
  @Override
  public CompletableFuture<Message> query(Message request) {
    try {
      ReadChunkRequest r = ReadChunkRequest.parseFrom(request.getContent().asReadOnlyByteBuffer());
      byte[] data = store.read(r.getChunkId(), Integer.toUnsignedLong(r.getOffset()), r.getLength());
      return CompletableFuture.completedFuture(reply(StorageLogReply.newBuilder()
          .setData(com.google.protobuf.UnsafeByteOperations.unsafeWrap(data)).build()));
    } catch (InvalidProtocolBufferException e) {
      return CompletableFuture.completedFuture(
          reply(Replies.error(io.grpc.Status.Code.INVALID_ARGUMENT, "unreadable read request")));
    } catch (StorageException e) {
      if (e instanceof StorageException.CorruptBlock c) {
        onCorrupt.corrupt(gid, c.chunkId(), c.block());
      }
      return CompletableFuture.completedFuture(reply(Replies.of(e)));
    }
  }

  @Override
  public long takeSnapshot() {
    // No snapshot: the log holds only headers and is kept, so a member that falls behind is sent entries, never
    // a snapshot (and the chunk store is its own durable state).
    return -1;
  }

  private static Message reply(StorageLogReply r) {
    return Message.valueOf(UnsafeByteOperations.unsafeWrap(r.toByteString().asReadOnlyByteBuffer()));
  }

  /** Checks every block of this group's chunks here; a damaged one is repaired like one a read met. */
  int scrub(java.util.concurrent.atomic.AtomicLong checked) throws StorageException {
    List<ChunkStore.Damage> damaged = store.scrub(key, 1024, checked);
    for (ChunkStore.Damage d : damaged) {
      onCorrupt.corrupt(gid, d.chunkId(), d.block());
    }
    return damaged.size();
  }

  TermIndex applied() {
    return getLastAppliedTermIndex();
  }
}
