package io.shoalfs.meta.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.meta.core.Changes;
import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.Genesis;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.meta.core.Placement;
import io.shoalfs.meta.core.Scope;
import io.shoalfs.meta.core.WriteContext;
import io.shoalfs.meta.store.MetaStore;
import io.shoalfs.meta.store.StoreException;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.metalog.BatchedCall;
import io.shoalfs.proto.metalog.MetaLogEntry;
import io.shoalfs.proto.records.AppliedIndexRecord;
import io.shoalfs.raft.SnapshotStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftConfigurationProto;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientRequest;
import org.apache.ratis.protocol.RaftGroupId;
import org.apache.ratis.protocol.RaftGroupMemberId;
import org.apache.ratis.protocol.RaftPeerId;
import org.apache.ratis.server.RaftServer;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.raftlog.RaftLog;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.TransactionContext;
import org.apache.ratis.statemachine.impl.BaseStateMachine;
import com.google.protobuf.ByteString;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The namespace as a Ratis state machine over RocksDB.
 *
 * <p>Writes: {@link GroupCommit} gathers client calls on the leader into one {@link MetaLogEntry} (clock and
 * chunk placement fixed there); {@link #applyTransaction} runs on every replica and applies the entry's calls
 * in order in one RocksDB batch together with the applied term and index and each call's exactly-once record.
 * Reads: {@link #query}, after Ratis's read index (on the leader or a follower).
 *
 * <p>Durability and restart: RocksDB runs without its WAL; the Raft log is the write-ahead log. The live
 * database is therefore never trusted after a start: every start (and every snapshot installed from the
 * leader) rebuilds it from the latest snapshot, a RocksDB checkpoint whose applied index equals the snapshot
 * index, and Ratis replays the log from the entry after that index. Ratis takes a snapshot on a clean stop,
 * so a clean restart replays nothing; after a crash it replays what the memtables lost. An entry at or below
 * the applied index is never applied again (apply fails loudly if Ratis ever offered one).
 */
public final class MetaStateMachine extends BaseStateMachine {
  private static final Logger LOG = LoggerFactory.getLogger(MetaStateMachine.class);

  private final String name;
  private final Path dbDir;
  private final SnapshotStore snapshots = new SnapshotStore();
  private final Placement placement = new Placement();
  /** Apply and snapshot take it exclusively; reads and leader-side validation share it. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /** Guarded by {@link #lock}; null while closed or being rebuilt. */
  private MetaStore store;
  private final AtomicInteger installedSnapshots = new AtomicInteger();
  /** Gets the changes of every applied entry (the watch hub); null = nobody listens. */
  private volatile ChangeListener changeListener;

  /** Receives what each applied entry changed, in log order, on the apply thread, after the commit. */
  public interface ChangeListener {
    /** True if anybody watches here (only then are changes collected). */
    boolean active();

    void applied(List<Changes.Routed> changes);
  }

  public MetaStateMachine(String name, Path dbDir) {
    this.name = name;
    this.dbDir = dbDir;
  }

  /** Where applied changes go (the watch hub). */
  public void setChangeListener(ChangeListener listener) {
    this.changeListener = listener;
  }

  /**
   * Runs a read against this replica's current state under the state lock, without any consistency protocol
   * (the leader's session timer and watch service); null while the store is closed.
   */
  public <T> T readState(Function<Tx, T> read) {
    lock.readLock().lock();
    try {
      return store == null ? null : read.apply(store.begin());
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The current store's database (metrics); null while closed or being replaced. */
  public org.rocksdb.RocksDB database() {
    MetaStore s = store;
    return s == null ? null : s.db();
  }

  @Override
  public void initialize(RaftServer server, RaftGroupId groupId, RaftStorage raftStorage) throws IOException {
    getLifeCycle().startAndTransition(() -> {
      super.initialize(server, groupId, raftStorage);
      snapshots.init(raftStorage);
      rebuildFromLatestSnapshot();
    }, IOException.class);
  }

  @Override
  public void pause() {
    getLifeCycle().transition(LifeCycle.State.PAUSING);
    getLifeCycle().transition(LifeCycle.State.PAUSED);
  }

  /** After Ratis installed a snapshot from the leader into the state machine directory. */
  @Override
  public void reinitialize() throws IOException {
    snapshots.reload();
    rebuildFromLatestSnapshot();
    installedSnapshots.incrementAndGet();
    if (getLifeCycleState() == LifeCycle.State.PAUSED) {
      getLifeCycle().transition(LifeCycle.State.STARTING);
      getLifeCycle().transition(LifeCycle.State.RUNNING);
    }
  }

  private void rebuildFromLatestSnapshot() throws IOException {
    lock.writeLock().lock();
    try {
      closeStore();
      SnapshotStore.Snapshot s = snapshots.latest();
      if (s != null) {
        SnapshotStore.restore(s.dir(), dbDir);
      } else {
        SnapshotStore.deleteRecursively(dbDir);
      }
      store = MetaStore.open(dbDir);
      Tx tx = store.begin();
      if (Genesis.needed(tx)) {
        if (s != null) {
          throw new IOException("snapshot " + s.dir() + " has no root directory");
        }
        Genesis.write(tx);
        store.commit(tx, null);
      }
      AppliedIndexRecord a = store.appliedIndex();
      TermIndex applied = a == null ? TermIndex.INITIAL_VALUE : TermIndex.valueOf(a.getTerm(), a.getIndex());
      if (s != null && !s.termIndex().equals(applied)) {
        throw new IOException("snapshot " + s.dir() + " records applied index " + applied);
      }
      setLastAppliedTermIndex(applied);
      LOG.info("meta {}: state rebuilt from {} (applied {})", name, s == null ? "nothing" : s.dir().getFileName(),
          applied);
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public StateMachineStorage getStateMachineStorage() {
    return snapshots;
  }

  // ---- writes ----

  /**
   * On the leader, before the log. Writes arrive only as group-commit batches from {@link GroupCommit}, already
   * carrying the clock and placement; the batch becomes the entry's log data (serialized once) and stays in the
   * transaction's context, so apply on this leader neither parses it again nor serializes the replies.
   *
   * <p>No dry run here: each call is validated at apply against the batch's view, which a dry run against the
   * current state could not see (the calls ahead of it in this and in other in-flight entries), and a dry run
   * would double the work per call. A call that fails costs its slot in the entry and nothing else.
   */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) {
    if (!(request.getMessage() instanceof LocalMessages.Batch batch)) {
      TransactionContext trx = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request).build();
      trx.setException(new FsError(Code.EINVAL, "writes are submitted through this replica's group commit"));
      return trx;
    }
    return TransactionContext.newBuilder()
        .setStateMachine(this)
        .setClientRequest(request)
        .setLogData(batch.getContent())
        .setStateMachineContext(batch)
        .build();
  }

  /**
   * Applies one committed entry: its calls in order, in ONE RocksDB batch together with the applied index.
   * Deterministic: it reads only the entry and RocksDB (the clock and placement come from the entry, ids from
   * the entry's index and each call's position, see {@link IdLayout}), so all replicas reach the same state and
   * the same replies.
   *
   * <p>Each call runs in its own child of the entry's {@link Tx}: it sees the effects of the calls before it;
   * if it fails (an {@link FsError}, its errno is its reply) its partial writes are dropped and the others are
   * unaffected. Exactly-once: a call whose client id and call id are in the client_calls table gets the
   * recorded reply and is not applied again ({@link ClientCalls}). Any other failure propagates, which stops
   * this replica (Ratis closes the server) rather than skip an entry.
   */
  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto le = trx.getLogEntry();
    TermIndex ti = TermIndex.valueOf(le);
    LocalMessages.Batch local = trx.getStateMachineContext() instanceof LocalMessages.Batch b ? b : null;
    MetaLogEntry entry;
    if (local != null) {
      entry = local.entry;
    } else {
      try {
        entry = MetaLogEntry.parseFrom(le.getStateMachineLogEntry().getLogData().asReadOnlyByteBuffer());
      } catch (InvalidProtocolBufferException e) {
        throw new IllegalStateException("meta " + name + ": log entry " + ti + " is unreadable", e);
      }
    }
    MetaReply[] replies;
    List<Changes.Routed> changes = null;
    ChangeListener listener = changeListener;
    lock.writeLock().lock();
    try {
      if (store == null) {
        throw new IllegalStateException("meta " + name + ": apply of " + ti + " while the store is closed");
      }
      TermIndex applied = getLastAppliedTermIndex();
      if (applied != null && ti.getIndex() <= applied.getIndex()) {
        throw new IllegalStateException("meta " + name + ": entry " + ti + " is at or below the applied index "
            + applied + "; it must not be applied twice");
      }
      Tx batch = store.begin();
      replies = entry.getCallsCount() == 0 && entry.hasRequest()
          ? new MetaReply[] {applyLegacy(batch, entry)}
          : applyCalls(batch, entry, ti.getIndex());
      if (listener != null && listener.active()) {
        changes = Changes.collect(batch); // before the commit, while the state before the entry is readable
      }
      store.commit(batch, appliedRecord(ti));
      updateLastAppliedTermIndex(ti);
    } catch (RuntimeException e) {
      LOG.error("meta {}: applying entry {} failed; stopping this replica", name, ti, e);
      throw e;
    } finally {
      lock.writeLock().unlock();
    }
    if (local != null && replies.length == local.calls.size()) {
      local.owner.deliver(local.calls, replies);
    }
    if (changes != null && !changes.isEmpty()) {
      listener.applied(changes); // the watch hub, after the commit and outside the lock
    }
    return CompletableFuture.completedFuture(Message.EMPTY);
  }

  private static MetaReply[] applyCalls(Tx batch, MetaLogEntry entry, long index) {
    int n = entry.getCallsCount();
    if (n > IdLayout.MAX_CALLS_PER_ENTRY) {
      throw new IllegalStateException("entry " + index + " holds " + n + " calls, more than the id layout allows");
    }
    MetaReply[] replies = new MetaReply[n];
    for (int i = 0; i < n; i++) {
      replies[i] = applyCall(batch, entry.getNowNs(), entry.getCalls(i), index, i);
    }
    return replies;
  }

  private static MetaReply applyCall(Tx batch, long nowNs, BatchedCall c, long index, int position) {
    ByteString clientId = c.getClientId();
    boolean exactlyOnce = clientId.size() == ClientCalls.CLIENT_ID_BYTES;
    MetaReply reply;
    if (exactlyOnce && ClientCalls.isAcknowledged(batch, clientId, c.getCallId())) {
      // A late copy of a call whose reply the client already has: never apply it a second time.
      return new FsError(Code.EINVAL, "call " + c.getCallId() + " was acknowledged already").toReply();
    }
    MetaReply recorded = exactlyOnce ? ClientCalls.recorded(batch, clientId, c.getCallId()) : null;
    if (recorded != null) {
      reply = recorded;
    } else {
      reply = applyOne(batch, new WriteContext(nowNs, List.of(), c.getGroupId(), c.getSessionId(), c.getSecret()),
          c.getRequest(), index, position);
      if (exactlyOnce) {
        ClientCalls.record(batch, clientId, c.getCallId(), reply, nowNs);
      }
    }
    if (exactlyOnce && c.getAckedCallId() > 0) {
      ClientCalls.acknowledge(batch, clientId, Math.min(c.getAckedCallId(), c.getCallId() - 1));
    }
    return reply;
  }

  /**
   * One write in a child of {@code batch}: merged if it succeeds, dropped (errno reply) if it fails. The scope
   * check ({@link Scope}) runs first, against the state this call applies to.
   */
  private static MetaReply applyOne(Tx batch, WriteContext call, MetaRequest req, long index, int position) {
    MetaRequest.OpCase op = req.getOpCase();
    if (op == MetaRequest.OpCase.OP_NOT_SET || MetaOps.isRead(op)) {
      return new FsError(Code.EINVAL, "not a write operation: " + op).toReply();
    }
    int n = MetaOps.idsNeeded(op);
    List<Long> ids = n == 0 ? List.of() : new ArrayList<>(n);
    for (int k = 0; k < n; k++) {
      ids.add(IdLayout.id(index, position, k));
    }
    Tx tx = batch.child();
    try {
      Scope.check(tx, call.sessionId(), req);
      MetaReply reply = MetaOps.applyWrite(tx,
          new WriteContext(call.nowNs(), ids, call.groupId(), call.sessionId(), call.secret()), req);
      tx.mergeIntoParent();
      return reply;
    } catch (FsError e) {
      return e.toReply();
    }
  }

  /** An entry of the single-request layout of earlier versions (ids carried in the entry, no client record). */
  private static MetaReply applyLegacy(Tx batch, MetaLogEntry e) {
    Tx tx = batch.child();
    try {
      MetaReply reply = MetaOps.applyWrite(tx, new WriteContext(e.getNowNs(), e.getNewIdsList(), e.getGroupId()),
          e.getRequest());
      tx.mergeIntoParent();
      return reply;
    } catch (FsError err) {
      return err.toReply();
    }
  }

  /** The storage group of a new chunk, chosen on the leader when a batch is formed. */
  String choosePlacement(io.shoalfs.proto.meta.MetaRequest request) {
    lock.readLock().lock();
    try {
      return store == null ? "" : placement.choose(store.begin(), request);
    } finally {
      lock.readLock().unlock();
    }
  }

  /** The leader's placement policy (its default replication is set by the server's configuration). */
  public Placement placement() {
    return placement;
  }

  /** Entries without a state machine part (configuration, leader start) still move the applied index. */
  @Override
  public void notifyTermIndexUpdated(long term, long index) {
    recordApplied(TermIndex.valueOf(term, index));
  }

  @Override
  public void notifyConfigurationChanged(long term, long index, RaftConfigurationProto newConf) {
    recordApplied(TermIndex.valueOf(term, index));
  }

  private void recordApplied(TermIndex ti) {
    lock.writeLock().lock();
    try {
      TermIndex applied = getLastAppliedTermIndex();
      if (applied != null && ti.getIndex() <= applied.getIndex()) {
        return;
      }
      if (store != null && getLifeCycleState() == LifeCycle.State.RUNNING) {
        store.commit(store.begin(), appliedRecord(ti));
      }
      updateLastAppliedTermIndex(ti);
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---- reads ----

  /**
   * A linearizable read: Ratis calls it once this replica (leader or follower) has applied up to the leader's
   * read index. Requests from this JVM's gRPC layer arrive as objects ({@link LocalMessages.Read}); anything else
   * is parsed from its bytes without a copy.
   */
  @Override
  public CompletableFuture<Message> query(Message request) {
    MetaReply reply;
    if (request instanceof LocalMessages.Read r) {
      reply = readAs(r.sessionId, r.request);
    } else {
      try {
        MetaCall call = MetaCall.parseFrom(request.getContent().asReadOnlyByteBuffer());
        reply = readAs(call.getSessionId(), call.getRequest());
      } catch (InvalidProtocolBufferException e) {
        reply = new FsError(Code.EINVAL, "unreadable request: " + e.getMessage()).toReply();
      }
    }
    return CompletableFuture.completedFuture(new LocalMessages.Reply(reply));
  }

  /**
   * Serves a read from this replica's current state, without any consistency protocol and without a scope
   * (this process's own diagnostics and tests; clients' reads go through {@link #query} and {@link Scope}).
   */
  public MetaReply readLocal(MetaRequest req) {
    return read(req, false, 0);
  }

  /** A client's read as session {@code sessionId}: {@link Scope} first, then the read. */
  MetaReply readAs(long sessionId, MetaRequest req) {
    return read(req, true, sessionId);
  }

  private MetaReply read(MetaRequest req, boolean scoped, long sessionId) {
    MetaRequest.OpCase op = req.getOpCase();
    if (op == MetaRequest.OpCase.OP_NOT_SET || !MetaOps.isRead(op)) {
      return new FsError(Code.EINVAL, "not a read operation: " + op).toReply();
    }
    lock.readLock().lock();
    try {
      if (store == null) {
        return new FsError(Code.UNAVAILABLE, "state machine is not open").toReply();
      }
      Tx tx = store.begin();
      if (scoped) {
        Scope.check(tx, sessionId, req);
      }
      return MetaOps.read(tx, req);
    } catch (FsError e) {
      return e.toReply();
    } catch (StoreException e) {
      LOG.warn("meta {}: read {} failed", name, op, e);
      return new FsError(Code.EIO, e.getMessage()).toReply();
    } finally {
      lock.readLock().unlock();
    }
  }

  /**
   * Up to {@code limit} entries of {@code table} on this replica, in key order, without any consistency
   * protocol (diagnostics and tests, e.g. the orphan chunks a GC would see).
   */
  public <K, V> Map<K, V> dump(TableDef<K, V> table, int limit) {
    Map<K, V> out = new LinkedHashMap<>();
    lock.readLock().lock();
    try {
      if (store == null) {
        throw new IllegalStateException("meta " + name + ": store is closed");
      }
      store.begin().scan(table, new byte[0], null, (k, v) -> {
        out.put(k, v);
        return out.size() < limit;
      });
      return out;
    } finally {
      lock.readLock().unlock();
    }
  }

  /** How many snapshots from the leader this replica installed since it started (diagnostics and tests). */
  public int installedSnapshots() {
    return installedSnapshots.get();
  }

  // ---- snapshots ----

  /**
   * Flushes RocksDB and writes a checkpoint at the last applied index. Runs on Ratis's apply thread between
   * entries, so the checkpoint is a consistent state; a failure throws and Ratis keeps the log.
   */
  @Override
  public long takeSnapshot() throws IOException {
    lock.writeLock().lock();
    try {
      if (store == null) {
        throw new IOException("meta " + name + ": cannot snapshot a closed store");
      }
      TermIndex last = getLastAppliedTermIndex();
      if (last == null || last.getIndex() < 0) {
        return RaftLog.INVALID_LOG_INDEX;
      }
      SnapshotStore.Snapshot current = snapshots.latest();
      if (current != null && current.termIndex().equals(last)) {
        return last.getIndex();
      }
      // The checkpoint's own applied index must equal the snapshot's: restore relies on it.
      store.commit(store.begin(), appliedRecord(last));
      Path tmp = snapshots.tempDir(last);
      store.checkpoint(tmp);
      snapshots.publish(tmp, last);
      LOG.info("meta {}: snapshot at {}", name, last);
      return last.getIndex();
    } finally {
      lock.writeLock().unlock();
    }
  }

  // ---- events ----

  @Override
  public void notifyLeaderChanged(RaftGroupMemberId member, RaftPeerId leaderId) {
    LOG.info("meta {}: leader is now {}", name, leaderId == null ? "unknown" : leaderId);
  }

  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      closeStore();
    } finally {
      lock.writeLock().unlock();
    }
  }

  private void closeStore() {
    if (store != null) {
      store.close();
      store = null;
    }
  }

  // ---- helpers ----

  private static AppliedIndexRecord appliedRecord(TermIndex ti) {
    return AppliedIndexRecord.newBuilder().setTerm(ti.getTerm()).setIndex(ti.getIndex()).build();
  }

}
