package io.shoalfs.meta;

import static io.shoalfs.proto.meta.LockType.UNLOCK;
import static io.shoalfs.proto.meta.LockType.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.SessionClient;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.raft.SessionReaper;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.ExpireSessionsRequest;
import io.shoalfs.proto.meta.Lock;
import io.shoalfs.proto.meta.LockType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.records.LockTableRecord;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Waiting lock requests (F_SETLKW, blocking flock) through SessionClient against a real Ratis group: FIFO
 * grant order, grants on unlock / ReleaseLocks / session close / session expiry, interrupt and timeout
 * withdraw the request, and a client cannot expire sessions itself.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class LockWaitTest {
  /** A grant pushed through the watch: well under a second on loopback, with room for a loaded machine. */
  static final Duration GRANT_BOUND = Duration.ofSeconds(3);

  Path tmp;
  MetaCluster cluster;
  MetaClient client;
  final List<SessionClient> sessions = new ArrayList<>();
  final AtomicInteger files = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("shoal-lockwait");
    cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle());
    cluster.awaitLeader(Duration.ofSeconds(30));
    client = cluster.client();
  }

  @AfterEach
  void closeSessions() {
    sessions.forEach(SessionClient::close);
    sessions.clear();
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    TestDirs.deleteRecursively(tmp);
  }

  SessionClient session(String name) throws Exception {
    SessionClient s = SessionClient.open(cluster.client(), name, 0, null);
    sessions.add(s);
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!s.isWatching()) {
      assertTrue(System.nanoTime() < deadline, "watch of " + name + " opened");
      Thread.sleep(10);
    }
    return s;
  }

  long newFile() throws Exception {
    return client.create(Layout.ROOT_INO, "w-" + files.incrementAndGet(), 0644, 0, 0, true).getIno();
  }

  /** lock(wait) on a virtual thread. */
  static CompletableFuture<Boolean> waitFor(SessionClient s, long ino, Lock l) {
    CompletableFuture<Boolean> f = new CompletableFuture<>();
    Thread.ofVirtual().start(() -> {
      try {
        f.complete(s.lock(ino, l, true, Duration.ofSeconds(60)));
      } catch (Throwable t) {
        f.completeExceptionally(t);
      }
    });
    return f;
  }

  void awaitWaiting(long ino, int n) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (waiting(ino) != n) {
      assertTrue(System.nanoTime() < deadline, "waiters on " + ino + ": " + waiting(ino) + ", want " + n);
      Thread.sleep(10);
    }
  }

  int waiting(long ino) throws Exception {
    LockTableRecord t = cluster.awaitLeader(Duration.ofSeconds(10)).stateMachine().dump(MetaTables.LOCKS, 100_000).get(ino);
    return t == null ? 0 : t.getWaitingCount();
  }

  static long grantedWithin(CompletableFuture<Boolean> f, long sinceNs) throws Exception {
    assertTrue(f.get(GRANT_BOUND.toMillis(), TimeUnit.MILLISECONDS), "granted");
    return (System.nanoTime() - sinceNs) / 1_000_000;
  }

  @Test
  void waitersAreGrantedInArrivalOrder() throws Exception {
    long ino = newFile();
    long a = SessionOps.open(client, "holder");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(a, 1, WRITE), false).getCode());
    SessionClient b = session("b");
    SessionClient c = session("c");
    CompletableFuture<Boolean> fb = waitFor(b, ino, SessionOps.flock(0, 1, WRITE));
    awaitWaiting(ino, 1);
    CompletableFuture<Boolean> fc = waitFor(c, ino, SessionOps.flock(0, 1, WRITE));
    awaitWaiting(ino, 2);
    long t0 = System.nanoTime();
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(a, 1, UNLOCK), false).getCode());
    System.out.println("grant on unlock after " + grantedWithin(fb, t0) + " ms");
    Thread.sleep(300);
    assertFalse(fc.isDone(), "the second waiter still waits while the first holds the lock");
    t0 = System.nanoTime();
    assertTrue(b.lock(ino, SessionOps.flock(0, 1, UNLOCK), false, null));
    System.out.println("second grant after " + grantedWithin(fc, t0) + " ms");
    assertEquals(0, waiting(ino));
    assertFalse(b.lock(ino, SessionOps.flock(0, 1, LockType.READ), false, null), "c holds it exclusively now");
  }

  @Test
  void releaseLocksGrantsWaiters() throws Exception {
    long ino = newFile();
    long a = SessionOps.open(client, "holder");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.posix(a, 7, WRITE, 0, 99), false).getCode());
    SessionClient b = session("b");
    CompletableFuture<Boolean> fb = waitFor(b, ino, SessionOps.posix(0, 1, WRITE, 50, 50));
    awaitWaiting(ino, 1);
    long t0 = System.nanoTime();
    SessionOps.release(client, ino, a, 7, false);
    System.out.println("grant on ReleaseLocks after " + grantedWithin(fb, t0) + " ms");
  }

  @Test
  void closingTheHoldersSessionGrantsWaiters() throws Exception {
    long ino = newFile();
    long a = SessionOps.open(client, "holder");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.posix(a, 7, WRITE, 0, 99), false).getCode());
    SessionClient b = session("b");
    CompletableFuture<Boolean> fb = waitFor(b, ino, SessionOps.posix(0, 1, LockType.READ, 10, 20));
    awaitWaiting(ino, 1);
    long t0 = System.nanoTime();
    SessionOps.close(client, a);
    System.out.println("grant on CloseSession after " + grantedWithin(fb, t0) + " ms");
  }

  @Test
  void aDeadClientsLocksGoAfterTheLease() throws Exception {
    long ino = newFile();
    long a = SessionOps.open(client, "dies");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(a, 1, WRITE), false).getCode());
    SessionOps.renew(client, a);
    long lastRenewal = System.nanoTime(); // from here on nobody renews a
    SessionClient b = session("b");
    CompletableFuture<Boolean> fb = waitFor(b, ino, SessionOps.flock(0, 1, WRITE));
    Duration bound = io.shoalfs.meta.core.Sessions.LEASE.plus(SessionReaper.PERIOD).plus(Duration.ofMillis(1500));
    assertTrue(fb.get(bound.toMillis() + 2000, TimeUnit.MILLISECONDS));
    long ms = (System.nanoTime() - lastRenewal) / 1_000_000;
    System.out.println("a dead session's lock went " + ms + " ms after its last renewal (lease "
        + io.shoalfs.meta.core.Sessions.LEASE.toMillis() + " ms, bound " + bound.toMillis() + " ms)");
    assertTrue(ms <= bound.toMillis(), ms + " ms > " + bound);
    assertTrue(ms >= io.shoalfs.meta.core.Sessions.LEASE.toMillis() - 200, "not before the lease ran out: " + ms);
    assertEquals(Code.ESTALE, client.callRaw(MetaRequest.newBuilder().setRenewSession(
        io.shoalfs.proto.meta.RenewSessionRequest.newBuilder().setSessionId(a)).build()).getCode());
  }

  @Test
  void interruptWithdrawsTheRequest() throws Exception {
    long ino = newFile();
    long a = SessionOps.open(client, "holder");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(a, 1, WRITE), false).getCode());
    SessionClient b = session("b");
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    Thread t = Thread.ofVirtual().start(() -> {
      try {
        b.lock(ino, SessionOps.flock(0, 1, WRITE), true, null);
        outcome.complete(null);
      } catch (Throwable e) {
        outcome.complete(e);
      }
    });
    awaitWaiting(ino, 1);
    t.interrupt();
    assertTrue(outcome.get(5, TimeUnit.SECONDS) instanceof InterruptedException, "interrupted wait throws");
    assertEquals(0, waiting(ino), "the request was withdrawn");
    SessionOps.set(client, ino, SessionOps.flock(a, 1, UNLOCK), false);
    long c = SessionOps.open(client, "c");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(c, 1, WRITE), false).getCode(),
        "the withdrawn request was not granted");

    // A timeout withdraws too and answers false.
    long t0 = System.nanoTime();
    assertFalse(b.lock(ino, SessionOps.flock(0, 1, WRITE), true, Duration.ofMillis(300)));
    assertTrue((System.nanoTime() - t0) / 1_000_000 >= 300);
    assertEquals(0, waiting(ino));
    // Without wait a conflict is EAGAIN at once, with the holder.
    MetaReply r = SessionOps.set(client, ino, SessionOps.flock(a, 1, WRITE), false);
    assertEquals(Code.EAGAIN, r.getCode());
    assertEquals(c, r.getLock().getConflict().getSessionId());
  }

  @Test
  void aLostSessionIsReplacedAndReported() throws Exception {
    long ino = newFile();
    long a = SessionOps.open(client, "holder");
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(a, 1, WRITE), false).getCode());
    RecordingListener l = new RecordingListener();
    SessionClient b = SessionClient.open(cluster.client(), "b", 0, l);
    sessions.add(b);
    l.await(0, io.shoalfs.proto.meta.WatchEvent::hasResync, Duration.ofSeconds(10));
    long lost = b.sessionId();
    CompletableFuture<Boolean> fb = waitFor(b, ino, SessionOps.flock(0, 1, WRITE));
    awaitWaiting(ino, 1);
    int from = l.size();
    SessionOps.close(client, lost); // as if it had expired: the service no longer knows it
    // The next renewal (within RENEW_EVERY) or the watch notices; the wait fails with ESTALE.
    ExecutionException e = assertThrows(ExecutionException.class, () -> fb.get(10, TimeUnit.SECONDS));
    assertEquals(Code.ESTALE, ((io.shoalfs.client.MetaException) e.getCause()).code());
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (l.sessionsLost() == 0) {
      assertTrue(System.nanoTime() < deadline, "the listener heard of the lost session");
      Thread.sleep(20);
    }
    assertTrue(b.sessionId() != lost, "a new session replaced it");
    l.await(from, io.shoalfs.proto.meta.WatchEvent::hasResync, Duration.ofSeconds(10));
    assertEquals(0, waiting(ino), "the lost session's queued request went with it");
    SessionOps.renew(client, b.sessionId());
  }

  @Test
  void clientsCannotExpireSessions() throws Exception {
    long a = SessionOps.open(client, "victim");
    MetaReply r = client.callRaw(MetaRequest.newBuilder().setExpireSessions(ExpireSessionsRequest.newBuilder()
        .addSessionIds(a)).build());
    assertEquals(Code.EPERM, r.getCode(), r.getMessage());
    SessionOps.renew(client, a);
  }

  @Test
  void unknownSessionsAreStale() throws Exception {
    long ino = newFile();
    MetaReply r = SessionOps.set(client, ino, SessionOps.flock(12345, 1, WRITE), false);
    assertEquals(Code.ESTALE, r.getCode());
    assertThrows(io.shoalfs.client.MetaException.class, () -> SessionOps.openFile(client, 12345, ino));
  }
}
