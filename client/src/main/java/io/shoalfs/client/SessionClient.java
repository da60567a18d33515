package io.shoalfs.client;

import io.grpc.Context;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.CancelLockRequest;
import io.shoalfs.proto.meta.CloseFileRequest;
import io.shoalfs.proto.meta.CloseSessionRequest;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.EntryChanged;
import io.shoalfs.proto.meta.GetLockRequest;
import io.shoalfs.proto.meta.InodeChanged;
import io.shoalfs.proto.meta.Lock;
import io.shoalfs.proto.meta.LockGranted;
import io.shoalfs.proto.meta.LockKind;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MetaServiceGrpc;
import io.shoalfs.proto.meta.OpenFileRequest;
import io.shoalfs.proto.meta.OpenSessionRequest;
import io.shoalfs.proto.meta.ReleaseLocksRequest;
import io.shoalfs.proto.meta.RenewSessionRequest;
import io.shoalfs.proto.meta.SetLockRequest;
import io.shoalfs.proto.meta.WatchEvent;
import io.shoalfs.proto.meta.WatchRequest;
import java.time.Duration;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client session with the metadata service (DESIGN decisions 7 and 11): it owns this client's open files
 * and locks, and its watch stream carries the cache-coherence events.
 *
 * <ul>
 *   <li>The session is renewed every {@link #RENEW_EVERY} through the log (the service's lease is 5 s, so a
 *       new leader knows every renewal).</li>
 *   <li>A lost session (expired: the client could not renew for a lease, e.g. a long pause or a partition; or
 *       closed by the service) is replaced by a new one at once. <b>What is lost with it:</b> every open
 *       counted for it (an unlinked file this client had open may be reclaimed) and every lock it held or
 *       waited for (another client may have taken them). {@link Listener#onSessionLost} reports it; waits in
 *       {@link #lock} fail with ESTALE.</li>
 *   <li>The watch stream is kept open to the leader: a replica that is not the leader ends it with its
 *       leader's address, which is tried next; other failures are retried with a backoff from
 *       {@link #WATCH_BACKOFF_MIN} doubling up to {@link #WATCH_BACKOFF_MAX}, rotating through the replicas.
 *       Every (re)opened stream starts with Resync ({@link Listener#onResync}): drop everything cached.</li>
 *   <li>{@link #lock} with {@code wait} does not poll: a queued request completes when its LockGranted event
 *       arrives on the watch. After every Resync the waiting requests are sent again (the service keeps their
 *       place), so a grant that happened while the stream was down is not missed.</li>
 * </ul>
 *
 * <p>Listener methods run on the watch thread, in the service's apply order: they must not block.
 */
public final class SessionClient implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SessionClient.class);
  /** Renewal period: a third of the service's 5 s lease, minus margin for one slow round trip. */
  public static final Duration RENEW_EVERY = Duration.ofMillis(1500);
  public static final Duration WATCH_BACKOFF_MIN = Duration.ofMillis(50);
  public static final Duration WATCH_BACKOFF_MAX = Duration.ofSeconds(2);
  /** Lock requests waiting at once in this client. */
  public static final int MAX_WAITING_LOCKS = 4096;
  private static final Duration STOP_WAIT = Duration.ofSeconds(5);

  /** Receives the events of the session's watch. */
  public interface Listener {
    default void onInode(InodeChanged e) {}

    default void onEntry(EntryChanged e) {}

    /** The stream was (re)opened: events may have been missed; drop every cached inode and name. */
    default void onResync() {}

    default void onLockGranted(LockGranted e) {}

    /** The session ended on the service and {@code newSession} replaced it: its opens and locks are gone. */
    default void onSessionLost(long lostSession, long newSession) {}
  }

  private record WaitKey(long session, long ino, long owner, LockKind kind) {}

  private record Waiting(SetLockRequest request, CompletableFuture<Boolean> granted) {}

  private final MetaClient meta;
  private final String clientName;
  private final long scopeRoot;
  private final Listener listener;
  private final Map<WaitKey, Waiting> waiting = new ConcurrentHashMap<>();
  private final Object sessionLock = new Object();
  private volatile long session;
  private volatile boolean closed;
  private volatile boolean watching;
  private volatile Context.CancellableContext watchContext;
  private volatile HostPort watchTarget;
  /** Counted down by close: the threads wait on it instead of sleeping, and are never interrupted (an
   *  interrupted MetaClient call would retry at once until its deadline). */
  private final CountDownLatch stop = new CountDownLatch(1);
  private final Thread renewer;
  private final Thread watcher;

  private SessionClient(MetaClient meta, String clientName, long scopeRoot, Listener listener, long session) {
    this.meta = meta;
    this.clientName = clientName;
    this.scopeRoot = scopeRoot;
    this.listener = listener;
    this.session = session;
    this.watchTarget = meta.addresses().get(0);
    this.renewer = Thread.ofVirtual().name("session-renew").unstarted(this::renewLoop);
    this.watcher = Thread.ofVirtual().name("session-watch").unstarted(this::watchLoop);
  }

  /**
   * Opens a session and starts renewing and watching it.
   *
   * @param clientName for operators (host and mount point)
   * @param scopeRoot the volume's root inode (events of that volume only); 0 = every volume
   */
  public static SessionClient open(MetaClient meta, String clientName, long scopeRoot, Listener listener)
      throws MetaException {
    long id = openSession(meta, clientName, scopeRoot);
    SessionClient c = new SessionClient(meta, clientName, scopeRoot, listener == null ? new Listener() {} : listener, id);
    // From now on every call of `meta` carries this session, and the service checks it against the scope.
    meta.bindSession(c.binding);
    c.renewer.start();
    c.watcher.start();
    return c;
  }

  /** What binds {@link #meta}'s calls to this session (a lost session is replaced, then the call retried). */
  private final MetaClient.SessionBinding binding = new MetaClient.SessionBinding() {
    @Override
    public long sessionId() {
      return session;
    }

    @Override
    public long lost(long lost) {
      if (closed) {
        return 0;
      }
      replaceLost(lost);
      return session;
    }
  };

  /** The current session id (changes when a lost session is replaced). */
  public long sessionId() {
    return session;
  }

  /** True while the watch stream is open and has delivered its Resync. */
  public boolean isWatching() {
    return watching;
  }

  /** open(2) of an existing inode: counts one open of this session; fresh attributes (close-to-open). */
  public Attr openFile(long ino, int flags) throws MetaException {
    return meta.call(MetaRequest.newBuilder().setOpenFile(OpenFileRequest.newBuilder().setSessionId(session)
        .setIno(ino).setFlags(flags)).build()).getAttr();
  }

  /** create(2): as {@link MetaClient#create} but the file counts one open of this session, in the same entry. */
  public Attr create(CreateRequest request) throws MetaException {
    return meta.call(MetaRequest.newBuilder().setCreate(request.toBuilder().setOpenSession(session)).build())
        .getAttr();
  }

  /** The close of one open: an unlinked inode whose last open this was is reclaimed. */
  public void closeFile(long ino) throws MetaException {
    meta.call(MetaRequest.newBuilder().setCloseFile(CloseFileRequest.newBuilder().setSessionId(session)
        .setIno(ino)).build());
  }

  /**
   * Sets (or with type UNLOCK releases) a lock of this session ({@code lock.session_id} is filled in).
   *
   * @param wait false: F_SETLK / LOCK_NB, answer at once; true: F_SETLKW / blocking flock, wait for the grant
   * @param timeout the longest to wait (null = no limit); after it the request is withdrawn
   * @return true if granted; false on conflict (no wait) or when the timeout ran out
   * @throws InterruptedException the wait was interrupted; the request was withdrawn (if it was granted just
   *     before, true is returned instead with the interrupt flag set again, as the lock is held)
   * @throws MetaException other failures; ESTALE if the session was lost while waiting
   */
  public boolean lock(long ino, Lock lock, boolean wait, Duration timeout) throws MetaException, InterruptedException {
    long sid = session;
    Lock l = lock.toBuilder().setSessionId(sid).build();
    SetLockRequest req = SetLockRequest.newBuilder().setIno(ino).setLock(l).setWait(wait).build();
    if (!wait) {
      MetaReply r = meta.callRaw(MetaRequest.newBuilder().setSetLock(req).build());
      if (r.getCode() == Code.EAGAIN) {
        return false;
      }
      check(r);
      return true;
    }
    if (waiting.size() >= MAX_WAITING_LOCKS) {
      throw new MetaException(Code.ENOLCK, "more than " + MAX_WAITING_LOCKS + " lock requests waiting");
    }
    WaitKey key = new WaitKey(sid, ino, l.getOwner(), l.getKind());
    // Registered before sending: the grant event can overtake the reply that says "queued".
    Waiting w = new Waiting(req, new CompletableFuture<>());
    Waiting previous = waiting.put(key, w);
    if (previous != null) {
      previous.granted.completeExceptionally(new MetaException(Code.EINVAL, "replaced by a newer request"));
    }
    try {
      MetaReply r = setLockUninterruptibly(req);
      if (!r.getLock().getQueued()) {
        return true;
      }
      try {
        if (timeout == null) {
          w.granted.get();
        } else {
          w.granted.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        }
        return true;
      } catch (TimeoutException e) {
        return !withdraw(ino, l);
      } catch (InterruptedException e) {
        if (!withdraw(ino, l)) {
          Thread.currentThread().interrupt();
          return true;
        }
        throw e;
      } catch (ExecutionException e) {
        throw e.getCause() instanceof MetaException me ? me : new MetaException(Code.EIO, String.valueOf(e.getCause()));
      }
    } finally {
      waiting.remove(key, w);
    }
  }

  /**
   * Sends a waiting SetLock to its answer even if the thread is interrupted meanwhile (the interrupt is kept for
   * the wait that follows): an interrupted call leaves it unknown whether the request is queued, and a repeated
   * wait request of the same owner keeps its place, so sending it again is safe.
   */
  private MetaReply setLockUninterruptibly(SetLockRequest req) throws MetaException {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return check(meta.callRaw(MetaRequest.newBuilder().setSetLock(req).build()));
        } catch (MetaException e) {
          if (e.code() != Code.EINTR) {
            throw e;
          }
          interrupted |= Thread.interrupted();
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** CancelLock; true if the request was still waiting and is withdrawn, false if it was granted first. */
  private boolean withdraw(long ino, Lock l) throws MetaException {
    MetaReply r = meta.call(MetaRequest.newBuilder().setCancelLock(CancelLockRequest.newBuilder().setIno(ino)
        .setSessionId(l.getSessionId()).setOwner(l.getOwner()).setKind(l.getKind())).build());
    return r.getLock().getQueued();
  }

  /** F_GETLK: the first lock that conflicts with {@code lock}, or one of type UNLOCK. */
  public Lock getLock(long ino, Lock lock) throws MetaException {
    return meta.call(MetaRequest.newBuilder().setGetLock(GetLockRequest.newBuilder().setIno(ino)
        .setLock(lock.toBuilder().setSessionId(session))).build()).getLock().getConflict();
  }

  /** close(2) of a descriptor: the owner's POSIX locks go, and its flock lock with {@code flock}. */
  public void releaseLocks(long ino, long owner, boolean flock) throws MetaException {
    meta.call(MetaRequest.newBuilder().setReleaseLocks(ReleaseLocksRequest.newBuilder().setIno(ino)
        .setSessionId(session).setOwner(owner).setFlock(flock)).build());
  }

  // ---- session ----

  private static long openSession(MetaClient meta, String name, long scope) throws MetaException {
    return meta.call(MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder().setClientName(name)
        .setScopeRoot(scope)).build()).getSession().getSessionId();
  }

  private void renewLoop() {
    while (!closed) {
      if (!pause(RENEW_EVERY)) {
        return;
      }
      long sid = session;
      try {
        meta.call(MetaRequest.newBuilder().setRenewSession(RenewSessionRequest.newBuilder().setSessionId(sid)).build());
      } catch (MetaException e) {
        if (closed) {
          return;
        }
        if (e.code() == Code.ESTALE) {
          replaceLost(sid);
        } else {
          LOG.warn("session {}: renewal failed: {}", sid, e.getMessage());
        }
      }
    }
  }

  /** The service no longer knows {@code lost}: open a new session (once, however many threads noticed). */
  private void replaceLost(long lost) {
    long fresh;
    synchronized (sessionLock) {
      if (session != lost || closed) {
        return;
      }
      try {
        fresh = openSession(meta, clientName, scopeRoot);
      } catch (MetaException e) {
        LOG.warn("session {} was lost and a new one could not be opened yet: {}", lost, e.getMessage());
        return;
      }
      session = fresh;
    }
    LOG.warn("session {} expired on the metadata service; new session {}: its opens and locks are lost", lost, fresh);
    for (Map.Entry<WaitKey, Waiting> e : waiting.entrySet()) {
      if (e.getKey().session() == lost) {
        e.getValue().granted.completeExceptionally(new MetaException(Code.ESTALE, "session " + lost + " was lost"));
      }
    }
    Context.CancellableContext ctx = watchContext;
    if (ctx != null) {
      ctx.cancel(null); // the watch reopens for the new session
    }
    try {
      listener.onSessionLost(lost, fresh);
    } catch (RuntimeException e) {
      LOG.warn("session listener failed", e);
    }
  }

  // ---- watch ----

  private void watchLoop() {
    int failures = 0;
    while (!closed) {
      long sid = session;
      HostPort target = watchTarget;
      Context.CancellableContext ctx = Context.current().withCancellation();
      watchContext = ctx;
      if (closed) {
        ctx.cancel(null);
        return;
      }
      boolean[] gotEvent = {false};
      try {
        ctx.run(() -> {
          Iterator<WatchEvent> events = MetaServiceGrpc.newBlockingStub(meta.streamChannel(target))
              .watch(WatchRequest.newBuilder().setSessionId(sid).build());
          while (events.hasNext()) {
            gotEvent[0] = true;
            dispatch(events.next());
          }
        });
      } catch (StatusRuntimeException e) {
        if (closed) {
          return;
        }
        Status st = e.getStatus();
        String desc = st.getDescription() == null ? "" : st.getDescription();
        if (st.getCode() == Status.Code.FAILED_PRECONDITION && desc.startsWith("NOT_LEADER ")) {
          watchTarget = HostPort.parse(desc.substring("NOT_LEADER ".length()).trim());
        } else if (st.getCode() == Status.Code.NOT_FOUND && desc.startsWith("ESTALE")) {
          replaceLost(sid);
        } else if (st.getCode() == Status.Code.CANCELLED && session != sid) {
          failures = 0; // cancelled by us for a new session
        } else {
          watchTarget = next(target);
          LOG.debug("watch at {}: {} {}", target, st.getCode(), desc);
        }
      } catch (RuntimeException e) {
        LOG.warn("watch at {} failed", target, e);
        watchTarget = next(target);
      } finally {
        watching = false;
        ctx.cancel(null);
      }
      failures = gotEvent[0] ? 1 : failures + 1;
      if (!closed && !pause(backoff(failures))) {
        return;
      }
    }
  }

  private void dispatch(WatchEvent e) {
    try {
      switch (e.getEventCase()) {
        case RESYNC -> {
          watching = true;
          listener.onResync();
          if (!waiting.isEmpty()) {
            Thread.ofVirtual().name("lock-resend").start(this::resendWaiting);
          }
        }
        case INODE -> listener.onInode(e.getInode());
        case ENTRY -> listener.onEntry(e.getEntry());
        case LOCK_GRANTED -> {
          LockGranted g = e.getLockGranted();
          Lock l = g.getLock();
          Waiting w = waiting.get(new WaitKey(l.getSessionId(), g.getIno(), l.getOwner(), l.getKind()));
          if (w != null) {
            w.granted.complete(true);
          }
          listener.onLockGranted(g);
        }
        case EVENT_NOT_SET -> LOG.debug("empty watch event");
      }
    } catch (RuntimeException ex) {
      LOG.warn("watch listener failed on {}", e.getEventCase(), ex);
    }
  }

  /** After a Resync: a grant may have happened while the stream was down; asking again keeps the place. */
  private void resendWaiting() {
    for (Waiting w : List.copyOf(waiting.values())) {
      if (w.granted.isDone()) {
        continue;
      }
      try {
        MetaReply r = meta.callRaw(MetaRequest.newBuilder().setSetLock(w.request).build());
        if (r.getCode() == Code.OK && !r.getLock().getQueued()) {
          w.granted.complete(true);
        } else if (r.getCode() != Code.OK) {
          w.granted.completeExceptionally(new MetaException(r.getCode(), r.getMessage()));
        }
      } catch (MetaException e) {
        LOG.warn("re-sending a waiting lock request failed: {}", e.getMessage());
      }
    }
  }

  private HostPort next(HostPort current) {
    List<HostPort> all = meta.addresses();
    int i = all.indexOf(current);
    return all.get((i + 1) % all.size());
  }

  private static Duration backoff(int failures) {
    long ms = WATCH_BACKOFF_MIN.toMillis() << Math.min(failures - 1, 10);
    return Duration.ofMillis(Math.min(ms, WATCH_BACKOFF_MAX.toMillis()));
  }

  /** Waits {@code d}; false if close came first. */
  private boolean pause(Duration d) {
    try {
      return !stop.await(d.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      return false;
    }
  }

  private static MetaReply check(MetaReply r) throws MetaException {
    if (r.getCode() != Code.OK) {
      throw new MetaException(r.getCode(), r.getMessage());
    }
    return r;
  }

  /** Stops renewing and watching, then closes the session: its locks and opens are released on the service. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    meta.unbindSession(binding);
    stop.countDown();
    Context.CancellableContext ctx = watchContext;
    if (ctx != null) {
      ctx.cancel(null);
    }
    try {
      renewer.join(STOP_WAIT);
      watcher.join(STOP_WAIT);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (Waiting w : waiting.values()) {
      w.granted.completeExceptionally(new MetaException(Code.ESTALE, "session closed"));
    }
    try {
      meta.call(MetaRequest.newBuilder().setCloseSession(CloseSessionRequest.newBuilder().setSessionId(session))
          .build());
    } catch (MetaException e) {
      LOG.warn("closing session {}: {} (it expires after its lease)", session, e.getMessage());
    }
  }
}
