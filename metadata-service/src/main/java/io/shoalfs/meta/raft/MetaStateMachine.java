package io.shoalfs.meta.raft;

import com.google.protobuf.InvalidProtocolBufferException;
import io.shoalfs.common.store.TableDef;
import io.shoalfs.meta.core.Changes;
import io.shoalfs.meta.core.FsError;
import io.shoalfs.meta.core.Genesis;
import io.shoalfs.meta.core.MetaOps;
import io.shoalfs.meta.core.Placement;
import io.shoalfs.meta.core.WriteContext;
import io.shoalfs.meta.store.MetaStore;
import io.shoalfs.meta.store.StoreException;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.metalog.MetaLogEntry;
import io.shoalfs.proto.records.AppliedIndexRecord;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import org.apache.ratis.proto.RaftProtos.LogEntryProto;
import org.apache.ratis.proto.RaftProtos.RaftConfigurationProto;
import org.apache.ratis.protocol.ClientId;
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
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.thirdparty.com.google.protobuf.UnsafeByteOperations;
import org.apache.ratis.util.LifeCycle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The namespace as a Ratis state machine over RocksDB.
 *
 * <p>Writes: {@link #startTransaction} runs on the leader; it fixes everything apply may not compute itself
 * (clock, new ids, chunk placement) in a {@link MetaLogEntry} and rejects a request that already fails against
 * the current state, so it never reaches the log. {@link #applyTransaction} runs on every replica, validates
 * again and applies the entry in one RocksDB batch together with the applied term and index.
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
  private final IdAllocator ids = new IdAllocator();
  private final Placement placement = new Placement();
  /** Apply and snapshot take it exclusively; reads and leader-side validation share it. */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  /** Guarded by {@link #lock}; null while closed or being rebuilt. */
  private MetaStore store;
  private volatile RaftServer.Division division;
  private final AtomicInteger installedSnapshots = new AtomicInteger();
  // ---- meta-sessions: leader-internal submissions and change hook ----
  /**
   * The Raft client id of this replica's own proposals (session expiry). Random per process, so no client can
   * send with it: a client-sent ExpireSessions gets EPERM in {@link #startTransaction}.
   */
  private final ClientId internalClientId = ClientId.randomId();
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

  /** meta-sessions: the client id of this replica's own proposals (see {@link #internalClientId}). */
  public ClientId internalClientId() {
    return internalClientId;
  }

  /** meta-sessions: where applied changes go (the watch hub). */
  public void setChangeListener(ChangeListener listener) {
    this.changeListener = listener;
  }

  /**
   * meta-sessions: runs a read against this replica's current state under the state lock, without any
   * consistency protocol (the leader's session timer and watch service); null while the store is closed.
   */
  public <T> T readState(Function<Tx, T> read) {
    lock.readLock().lock();
    try {
      return store == null ? null : read.apply(store.begin());
    } finally {
      lock.readLock().unlock();
    }
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

  /** On the leader, before the log: fix clock, ids and placement; reject what already fails now. */
  @Override
  public TransactionContext startTransaction(RaftClientRequest request) {
    MetaRequest req;
    try {
      req = MetaRequest.parseFrom(request.getMessage().getContent().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      return reject(request, new FsError(Code.EINVAL, "unreadable request: " + e.getMessage()));
    }
    MetaRequest.OpCase op = req.getOpCase();
    if (op == MetaRequest.OpCase.OP_NOT_SET || MetaOps.isRead(op)) {
      return reject(request, new FsError(Code.EINVAL, "not a write operation: " + op));
    }
    if (op == MetaRequest.OpCase.EXPIRE_SESSIONS && !internalClientId.equals(request.getClientId())) {
      return reject(request, new FsError(Code.EPERM, "sessions are expired by the leader only"));
    }
    MetaLogEntry.Builder entry = MetaLogEntry.newBuilder().setNowNs(clockNs()).setRequest(req);
    lock.readLock().lock();
    try {
      if (store == null) {
        return reject(request, new FsError(Code.UNAVAILABLE, "state machine is not open"));
      }
      for (long id : ids.next(currentTerm(), MetaOps.idsNeeded(op))) {
        entry.addNewIds(id);
      }
      Tx dryRun = store.begin();
      if (MetaOps.needsPlacement(op)) {
        entry.setGroupId(placement.choose(dryRun));
      }
      MetaOps.applyWrite(dryRun, contextOf(entry.build()), req);
    } catch (FsError e) {
      return reject(request, e);
    } catch (RuntimeException e) {
      LOG.warn("meta {}: validating {} failed", name, op, e);
      return reject(request, new FsError(Code.EIO, "validation failed: " + e));
    } finally {
      lock.readLock().unlock();
    }
    return TransactionContext.newBuilder()
        .setStateMachine(this)
        .setClientRequest(request)
        .setLogData(UnsafeByteOperations.unsafeWrap(entry.build().toByteArray()))
        .build();
  }

  private TransactionContext reject(RaftClientRequest request, FsError error) {
    TransactionContext trx = TransactionContext.newBuilder().setStateMachine(this).setClientRequest(request).build();
    trx.setException(error);
    return trx;
  }

  /**
   * Applies one committed entry. Deterministic: it reads only the entry and RocksDB (the clock, ids and
   * placement come from the entry), so all replicas reach the same state and the same reply. A request that is
   * invalid by now gets its errno and changes nothing but the applied index. Any other failure propagates,
   * which stops this replica (Ratis closes the server) rather than skip an entry.
   */
  @Override
  public CompletableFuture<Message> applyTransaction(TransactionContext trx) {
    LogEntryProto le = trx.getLogEntry();
    TermIndex ti = TermIndex.valueOf(le);
    MetaLogEntry entry;
    try {
      entry = MetaLogEntry.parseFrom(le.getStateMachineLogEntry().getLogData().toByteArray());
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException("meta " + name + ": log entry " + ti + " is unreadable", e);
    }
    MetaReply reply;
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
      Tx tx = store.begin();
      try {
        checkIdsOfTerm(entry, ti.getTerm());
        reply = MetaOps.applyWrite(tx, contextOf(entry), entry.getRequest());
      } catch (FsError e) {
        reply = e.toReply();
        tx = store.begin();
      }
      if (listener != null && listener.active()) {
        changes = Changes.collect(tx); // meta-sessions: before the commit, while the old state is readable
      }
      store.commit(tx, appliedRecord(ti));
      updateLastAppliedTermIndex(ti);
    } catch (RuntimeException e) {
      LOG.error("meta {}: applying entry {} failed; stopping this replica", name, ti, e);
      throw e;
    } finally {
      lock.writeLock().unlock();
    }
    if (changes != null && !changes.isEmpty()) {
      listener.applied(changes); // meta-sessions: the watch hub, after the commit and outside the lock
    }
    return CompletableFuture.completedFuture(Message.valueOf(toRatis(reply)));
  }

  /** Ids of an entry must come from the leader of the entry's own term (see {@link IdAllocator}). */
  private static void checkIdsOfTerm(MetaLogEntry entry, long term) throws FsError {
    for (long id : entry.getNewIdsList()) {
      if (IdAllocator.termOf(id) != term) {
        throw new FsError(Code.EAGAIN, "leadership changed while the request was proposed; retry it");
      }
    }
  }

  private static WriteContext contextOf(MetaLogEntry e) {
    return new WriteContext(e.getNowNs(), e.getNewIdsList(), e.getGroupId());
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

  /** A linearizable read: Ratis calls it once this replica has applied up to the leader's read index. */
  @Override
  public CompletableFuture<Message> query(Message request) {
    MetaReply reply;
    try {
      reply = readLocal(MetaRequest.parseFrom(request.getContent().toByteArray()));
    } catch (InvalidProtocolBufferException e) {
      reply = new FsError(Code.EINVAL, "unreadable request: " + e.getMessage()).toReply();
    }
    return CompletableFuture.completedFuture(Message.valueOf(toRatis(reply)));
  }

  /**
   * Serves a read from this replica's current state, without any consistency protocol. {@link #query} uses
   * it after Ratis established linearizability; tests and diagnostics may call it directly.
   */
  public MetaReply readLocal(MetaRequest req) {
    MetaRequest.OpCase op = req.getOpCase();
    if (op == MetaRequest.OpCase.OP_NOT_SET || !MetaOps.isRead(op)) {
      return new FsError(Code.EINVAL, "not a read operation: " + op).toReply();
    }
    lock.readLock().lock();
    try {
      if (store == null) {
        return new FsError(Code.UNAVAILABLE, "state machine is not open").toReply();
      }
      return MetaOps.read(store.begin(), req);
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

  private long currentTerm() {
    RaftServer.Division d = division;
    if (d == null) {
      try {
        d = getServer().join().getDivision(getGroupId());
      } catch (IOException e) {
        throw new IllegalStateException("meta " + name + ": no Raft division: " + e.getMessage(), e);
      }
      division = d;
    }
    return d.getInfo().getCurrentTerm();
  }

  private static long clockNs() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000_000L + now.getNano();
  }

  private static AppliedIndexRecord appliedRecord(TermIndex ti) {
    return AppliedIndexRecord.newBuilder().setTerm(ti.getTerm()).setIndex(ti.getIndex()).build();
  }

  private static ByteString toRatis(MetaReply reply) {
    return UnsafeByteOperations.unsafeWrap(reply.toByteArray());
  }
}
