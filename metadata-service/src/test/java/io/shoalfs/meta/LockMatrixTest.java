package io.shoalfs.meta;

import static io.shoalfs.meta.SessionOps.EOF;
import static io.shoalfs.proto.meta.LockKind.FLOCK;
import static io.shoalfs.proto.meta.LockKind.POSIX;
import static io.shoalfs.proto.meta.LockType.READ;
import static io.shoalfs.proto.meta.LockType.UNLOCK;
import static io.shoalfs.proto.meta.LockType.WRITE;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.GetLockRequest;
import io.shoalfs.proto.meta.Lock;
import io.shoalfs.proto.meta.LockKind;
import io.shoalfs.proto.meta.LockType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The lock conflict rules, table-driven, against a real one-replica Ratis group: flock shared/exclusive,
 * POSIX ranges (overlap, adjacency, split, merge, upgrade, downgrade), different sessions against the same
 * owner. Each case runs on its own fresh file with sessions A and B (A has two owners, 1 and 2).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(120)
class LockMatrixTest {
  /** who: 'A' = session A owner 1, 'a' = session A owner 2, 'B' = session B owner 1. expect: granted? */
  record Step(char who, LockKind kind, LockType type, long start, long end, boolean expect) {}

  /** After the steps: get_lock of `probe` must report a conflict with exactly [start, end] of `holder`, or none. */
  record Probe(char who, LockType type, long start, long end, char holder, long confStart, long confEnd) {}

  record Case(String name, List<Step> steps, Probe probe) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Step s(char who, LockKind kind, LockType type, long start, long end, boolean expect) {
    return new Step(who, kind, type, start, end, expect);
  }

  static Step f(char who, LockType type, boolean expect) {
    return new Step(who, FLOCK, type, 0, EOF, expect);
  }

  static Stream<Case> cases() {
    return Stream.of(
        new Case("flock shared + shared", List.of(f('A', READ, true), f('B', READ, true)), null),
        new Case("flock exclusive blocks shared", List.of(f('A', WRITE, true), f('B', READ, false)), null),
        new Case("flock shared blocks exclusive", List.of(f('A', READ, true), f('B', WRITE, false)), null),
        new Case("flock same owner re-locks, other owner of the same session conflicts",
            List.of(f('A', WRITE, true), f('A', WRITE, true), f('a', WRITE, false)), null),
        new Case("flock unlock frees", List.of(f('A', WRITE, true), f('A', UNLOCK, true), f('B', WRITE, true)), null),
        new Case("flock upgrade with another reader fails, keeps the shared lock",
            List.of(f('A', READ, true), f('B', READ, true), f('A', WRITE, false), f('B', UNLOCK, true),
                f('A', WRITE, true), f('B', READ, false)), null),
        new Case("flock and POSIX never conflict",
            List.of(f('A', WRITE, true), s('B', POSIX, WRITE, 0, 10, true)), null),
        new Case("POSIX adjacent writes", List.of(s('A', POSIX, WRITE, 0, 9, true), s('B', POSIX, WRITE, 10, 19, true)),
            new Probe('B', WRITE, 5, 15, 'A', 0, 9)),
        new Case("POSIX one-byte overlap", List.of(s('A', POSIX, WRITE, 0, 9, true), s('B', POSIX, READ, 9, 9, false)),
            null),
        new Case("POSIX overlapping reads", List.of(s('A', POSIX, READ, 0, 99, true), s('B', POSIX, READ, 50, 150, true)),
            new Probe('a', WRITE, 120, 200, 'B', 50, 150)),
        new Case("POSIX upgrade by the same owner",
            List.of(s('A', POSIX, READ, 0, 99, true), s('A', POSIX, WRITE, 0, 99, true), s('B', POSIX, READ, 0, 0, false)),
            new Probe('B', READ, 0, 0, 'A', 0, 99)),
        new Case("POSIX upgrade blocked by another reader",
            List.of(s('A', POSIX, READ, 0, 99, true), s('B', POSIX, READ, 0, 99, true), s('A', POSIX, WRITE, 0, 99, false)),
            null),
        new Case("POSIX unlock splits",
            List.of(s('A', POSIX, WRITE, 0, 99, true), s('A', POSIX, UNLOCK, 40, 59, true), s('B', POSIX, WRITE, 40, 59, true),
                s('B', POSIX, WRITE, 39, 39, false), s('B', POSIX, WRITE, 60, 60, false)),
            new Probe('B', READ, 60, 200, 'A', 60, 99)),
        new Case("POSIX adjacent same-type locks merge",
            List.of(s('A', POSIX, WRITE, 0, 9, true), s('A', POSIX, WRITE, 10, 19, true), s('A', POSIX, WRITE, 30, 39, true),
                s('A', POSIX, WRITE, 20, 29, true)),
            new Probe('B', READ, 15, 15, 'A', 0, 39)),
        new Case("POSIX downgrade lets readers in",
            List.of(s('A', POSIX, WRITE, 0, 99, true), s('A', POSIX, READ, 0, 99, true), s('B', POSIX, READ, 0, 0, true),
                s('B', POSIX, WRITE, 50, 50, false)),
            null),
        new Case("POSIX a different type in the middle splits the owner's lock",
            List.of(s('A', POSIX, WRITE, 0, 99, true), s('A', POSIX, READ, 40, 59, true), s('B', POSIX, READ, 45, 45, true),
                s('B', POSIX, READ, 39, 39, false)),
            new Probe('B', READ, 60, 60, 'A', 60, 99)),
        new Case("POSIX two owners of one session conflict",
            List.of(s('A', POSIX, WRITE, 0, 9, true), s('a', POSIX, WRITE, 5, 5, false)), null),
        new Case("POSIX to end of file",
            List.of(s('A', POSIX, WRITE, 100, EOF, true), s('B', POSIX, WRITE, 1L << 40, 1L << 40, false),
                s('B', POSIX, WRITE, 0, 99, true), s('B', POSIX, WRITE, EOF, EOF, false)),
            new Probe('B', READ, -2L, EOF, 'A', 100, EOF)),
        new Case("POSIX unlock of what is not held is fine",
            List.of(s('B', POSIX, UNLOCK, 0, EOF, true), s('A', POSIX, WRITE, 0, 0, true)), null));
  }

  Path tmp;
  MetaCluster cluster;
  MetaClient client;
  long sessionA;
  long sessionB;
  final AtomicInteger files = new AtomicInteger();

  @BeforeAll
  void start() throws Exception {
    tmp = Files.createTempDirectory("shoal-locks");
    cluster = MetaCluster.start(tmp, 1, MetaCluster.fastSingle());
    cluster.awaitLeader(Duration.ofSeconds(30));
    client = cluster.client();
    sessionA = SessionOps.open(client, "A");
    sessionB = SessionOps.open(client, "B");
  }

  @AfterAll
  void stop() throws Exception {
    if (cluster != null) {
      cluster.close();
    }
    TestDirs.deleteRecursively(tmp);
  }

  long session(char who) {
    return who == 'B' ? sessionB : sessionA;
  }

  static long owner(char who) {
    return who == 'a' ? 2 : 1;
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("cases")
  void conflictRules(Case c) throws Exception {
    long ino = client.create(Layout.ROOT_INO, "lock-" + files.incrementAndGet(), 0644, 0, 0, true).getIno();
    int i = 0;
    for (Step st : c.steps()) {
      i++;
      Lock l = SessionOps.lock(session(st.who()), owner(st.who()), st.kind(), st.type(), st.start(), st.end());
      MetaReply r = SessionOps.set(client, ino, l, false);
      Code want = st.expect() ? Code.OK : Code.EAGAIN;
      assertEquals(want, r.getCode(), c.name() + ": step " + i + " " + st + ": " + r.getMessage());
      if (!st.expect()) {
        assertEquals(st.kind(), r.getLock().getConflict().getKind(), c.name() + ": step " + i + " reports the holder");
      }
    }
    if (c.probe() != null) {
      Probe p = c.probe();
      Lock asked = SessionOps.lock(session(p.who()), owner(p.who()), POSIX, p.type(), p.start(), p.end());
      Lock conflict = client.call(MetaRequest.newBuilder().setGetLock(GetLockRequest.newBuilder().setIno(ino)
          .setLock(asked)).build()).getLock().getConflict();
      assertEquals(session(p.holder()), conflict.getSessionId(), c.name() + ": holder of " + conflict);
      assertEquals(owner(p.holder()), conflict.getOwner(), c.name() + ": owner of " + conflict);
      assertEquals(p.confStart(), conflict.getStart(), c.name() + ": start of " + conflict);
      assertEquals(p.confEnd(), conflict.getEnd(), c.name() + ": end of " + conflict);
    }
    // Everything goes with ReleaseLocks (POSIX) and flock=true (flock); then B may lock all of it.
    for (char who : new char[] {'A', 'a', 'B'}) {
      SessionOps.release(client, ino, session(who), owner(who), true);
    }
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.posix(sessionB, 9, WRITE, 0, EOF), false).getCode());
    assertEquals(Code.OK, SessionOps.set(client, ino, SessionOps.flock(sessionB, 9, WRITE), false).getCode());
    Lock none = client.call(MetaRequest.newBuilder().setGetLock(GetLockRequest.newBuilder().setIno(ino)
        .setLock(SessionOps.posix(sessionB, 9, WRITE, 0, EOF))).build()).getLock().getConflict();
    assertEquals(LockType.UNLOCK, none.getType(), "the same owner never conflicts with itself");
  }
}
