package io.shoalfs.meta;

import static io.shoalfs.proto.meta.LockType.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.SessionClient;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.core.Sessions;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.RenewSessionRequest;
import io.shoalfs.proto.meta.WatchEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A leader failover on three replicas: live sessions are not expired for the time nobody could renew (the new
 * leader's grace), their locks stay, their watch reconnects to the new leader with a Resync and keeps
 * delivering; a session that stopped renewing before the failover still expires afterwards.
 */
@Timeout(180)
class SessionFailoverTest {
  @Test
  void aFailoverKeepsLiveSessions() throws Exception {
    Path tmp = Files.createTempDirectory("shoal-session-failover");
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaServer oldLeader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient admin = cluster.client();
      long ino = admin.create(Layout.ROOT_INO, "locked", 0644, 0, 0, true).getIno();
      RecordingListener l = new RecordingListener();
      try (SessionClient live = SessionClient.open(cluster.client(), "live", 0, l)) {
        l.await(0, WatchEvent::hasResync, Duration.ofSeconds(10));
        long liveId = live.sessionId();
        assertTrue(live.lock(ino, SessionOps.flock(0, 1, WRITE), false, null));
        long dead = SessionOps.open(admin, "dead"); // never renewed

        int before = l.size();
        long t0 = System.nanoTime();
        cluster.stop(oldLeader.id());
        MetaServer newLeader = cluster.awaitLeader(Duration.ofSeconds(30));
        l.await(before, WatchEvent::hasResync, Duration.ofSeconds(20));
        System.out.println("failover " + oldLeader.id() + " -> " + newLeader.id() + ": watch resynced after "
            + (System.nanoTime() - t0) / 1_000_000 + " ms");

        // Longer than a lease after the new leader took over: a live session must still be there.
        Thread.sleep(Sessions.LEASE.plusSeconds(2).toMillis());
        assertEquals(liveId, live.sessionId(), "the live session was not replaced");
        assertEquals(0, l.sessionsLost());
        long probe = SessionOps.open(admin, "probe");
        assertEquals(Code.EAGAIN, SessionOps.set(admin, ino, SessionOps.flock(probe, 1, WRITE), false).getCode(),
            "the live session still holds its lock");
        assertEquals(Code.ESTALE, admin.callRaw(MetaRequest.newBuilder().setRenewSession(
            RenewSessionRequest.newBuilder().setSessionId(dead)).build()).getCode(),
            "a session that stopped renewing expired after the grace");

        int from = l.size();
        admin.create(Layout.ROOT_INO, "after-failover", 0644, 0, 0, true);
        l.await(from, e -> e.hasEntry() && e.getEntry().getName().equals("after-failover"), Duration.ofSeconds(2));
      }
    } finally {
      TestDirs.deleteRecursively(tmp);
    }
  }
}
