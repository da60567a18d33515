package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.meta.raft.IdLayout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.MetaCall;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MkdirRequest;
import io.shoalfs.proto.meta.RenameRequest;
import io.shoalfs.proto.meta.RmdirRequest;
import io.shoalfs.proto.meta.UnlinkRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Group commit on 3 real replicas: many calls per entry, each with its own correct reply. */
class GroupCommitTest {
  static final long ROOT = Layout.ROOT_INO;
  @TempDir Path tmp;

  @Test
  @Timeout(180)
  void concurrentCreatesAreBatchedAndEachGetsItsOwnReply() throws Exception {
    int threads = 16;
    int perThread = 60;
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient setup = cluster.client();
      long shared = setup.mkdir(ROOT, "shared", 0755, 0, 0).getIno();
      long entriesBefore = leader.groupCommit().entriesSubmitted();
      long callsBefore = leader.groupCommit().callsSubmitted();
      Map<String, Long> created = new ConcurrentHashMap<>();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      List<Thread> ts = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        int id = t;
        MetaClient c = cluster.client();
        ts.add(Thread.ofPlatform().start(() -> {
          try {
            long own = c.mkdir(ROOT, "t" + id, 0755, 0, 0).getIno();
            created.put("/t" + id, own);
            for (int i = 0; i < perThread; i++) {
              String name = "f" + id + "-" + i;
              Attr a = c.create(shared, name, 0644, id, 0, true);
              assertEquals(id, a.getUid(), "the reply is this call's, not a neighbour's in the batch");
              created.put("/shared/" + name, a.getIno());
              Attr b = c.create(own, "g" + i, 0600, id, 0, true);
              created.put("/t" + id + "/g" + i, b.getIno());
              if (i % 3 == 0) {
                c.unlink(own, "g" + i);
                created.remove("/t" + id + "/g" + i);
              }
            }
          } catch (Throwable e) {
            failure.compareAndSet(null, e);
          }
        }));
      }
      for (Thread t : ts) {
        t.join(150_000);
      }
      if (failure.get() != null) {
        throw new AssertionError("a call failed", failure.get());
      }
      // The state equals the sequential model: every name exists with the ino its create returned.
      MetaClient check = cluster.client();
      Set<Long> inos = new HashSet<>();
      for (Map.Entry<String, Long> e : created.entrySet()) {
        String[] parts = e.getKey().substring(1).split("/");
        long dir = ROOT;
        for (String p : parts) {
          dir = check.lookup(dir, p).getIno();
        }
        assertEquals(e.getValue(), dir, e.getKey());
        assertTrue(e.getValue() > ROOT && inos.add(e.getValue()), "unique positive ino " + e.getValue());
      }
      assertEquals(threads * perThread, names(check, shared).size());
      for (int t = 0; t < threads; t++) {
        Set<String> expect = new TreeSet<>();
        for (int i = 0; i < perThread; i++) {
          if (i % 3 != 0) {
            expect.add("g" + i);
          }
        }
        assertEquals(expect, new TreeSet<>(names(check, check.lookup(ROOT, "t" + t).getIno())));
      }
      long entries = leader.groupCommit().entriesSubmitted() - entriesBefore;
      long calls = leader.groupCommit().callsSubmitted() - callsBefore;
      System.out.printf("group commit: %d calls in %d entries%n", calls, entries);
      assertTrue(calls > entries, "concurrent calls shared entries: " + calls + " calls, " + entries + " entries");
    }
  }

  @Test
  @Timeout(120)
  void aFailingCallInABatchLeavesTheOthersAlone() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      MetaServer leader = cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient c = cluster.client();
      ByteString client = ByteString.copyFrom(UUID.randomUUID().toString().substring(0, 16).getBytes());
      long session = SessionOps.open(c, "batch"); // an admin session: namespace calls need one (core Scope)
      long missing = 999_999;
      List<MetaRequest> batch = List.of(
          mkdir(ROOT, "d"),                    // 0 ok
          create(ROOT, "d", true),             // 1 EEXIST: d was made by call 0 in this very entry
          rmdir(ROOT, "d"),                    // 2 ok: the batch's view has d empty
          mkdir(ROOT, "d"),                    // 3 ok again
          create(missing, "x", false),         // 4 ENOENT
          rename(ROOT, "d", ROOT, "e"),        // 5 ok
          create(ROOT, "f", true),             // 6 ok
          rmdir(ROOT, "d"),                    // 7 ENOENT: renamed away by call 5
          unlink(ROOT, "f"),                   // 8 ok
          unlink(ROOT, "f"),                   // 9 ENOENT
          create(ROOT, "f", true));            // 10 ok, a new inode
      List<MetaCall> calls = new ArrayList<>();
      for (int i = 0; i < batch.size(); i++) {
        calls.add(MetaCall.newBuilder().setClientId(client).setCallId(i + 1).setSessionId(session)
            .setRequest(batch.get(i)).build());
      }
      long entriesBefore = leader.groupCommit().entriesSubmitted();
      List<CompletableFuture<MetaReply>> replies = leader.groupCommit().submitAsOneEntry(calls);
      List<Code> codes = new ArrayList<>();
      for (CompletableFuture<MetaReply> r : replies) {
        codes.add(r.get(30, TimeUnit.SECONDS).getCode());
      }
      assertEquals(1, leader.groupCommit().entriesSubmitted() - entriesBefore, "one entry");
      assertEquals(List.of(Code.OK, Code.EEXIST, Code.OK, Code.OK, Code.ENOENT, Code.OK, Code.OK, Code.ENOENT,
          Code.OK, Code.ENOENT, Code.OK), codes);
      long firstF = replies.get(6).get().getAttr().getIno();
      long secondF = replies.get(10).get().getAttr().getIno();
      assertTrue(firstF != secondF, "each create in the batch has its own id");
      assertEquals(secondF, c.lookup(ROOT, "f").getIno());
      assertEquals(replies.get(3).get().getAttr().getIno(), c.lookup(ROOT, "e").getIno());
      assertEquals(List.of("e", "f"), names(c, ROOT));
      // Ids come from the entry's log index and the call's position.
      long index = IdLayout.indexOf(firstF);
      assertEquals(IdLayout.id(index, 6, 0), firstF);
      assertEquals(IdLayout.id(index, 10, 0), secondF);
      // Every replica reached the same state.
      long applied = leader.lastAppliedIndex();
      for (String id : cluster.running().keySet()) {
        cluster.awaitApplied(id, applied, Duration.ofSeconds(20));
        MetaReply r = cluster.server(id).stateMachine().readLocal(MetaRequest.newBuilder()
            .setLookup(io.shoalfs.proto.meta.LookupRequest.newBuilder().setParent(ROOT).setName("f")).build());
        assertEquals(secondF, r.getAttr().getIno(), id);
      }
    }
  }

  @Test
  @Timeout(180)
  void noEagainAndNoLostCallsUnderLeaderChurn() throws Exception {
    try (MetaCluster cluster = MetaCluster.start(tmp, 3)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      MetaClient setup = cluster.client();
      long dir = setup.mkdir(ROOT, "churn", 0755, 0, 0).getIno();
      Map<String, Long> created = new ConcurrentHashMap<>();
      AtomicReference<Throwable> failure = new AtomicReference<>();
      java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
      List<Thread> ts = new ArrayList<>();
      for (int t = 0; t < 6; t++) {
        int id = t;
        MetaClient c = cluster.client();
        ts.add(Thread.ofPlatform().start(() -> {
          for (int i = 0; !stop.get(); i++) {
            String name = "c" + id + "-" + i;
            try {
              created.put(name, c.create(dir, name, 0644, 0, 0, true).getIno());
            } catch (MetaException e) {
              failure.compareAndSet(null, e);
              return;
            }
          }
        }));
      }
      for (int round = 0; round < 2; round++) {
        Thread.sleep(1500);
        String leader = cluster.awaitLeader(Duration.ofSeconds(30)).id();
        cluster.stop(leader);
        cluster.awaitLeader(Duration.ofSeconds(30));
        Thread.sleep(1000);
        cluster.start(leader);
      }
      Thread.sleep(1000);
      stop.set(true);
      for (Thread t : ts) {
        t.join(90_000);
      }
      if (failure.get() != null) {
        throw new AssertionError("a create failed under leader churn (EAGAIN must never reach a client)",
            failure.get());
      }
      List<String> listed = names(setup, dir);
      assertEquals(new TreeSet<>(created.keySet()), new TreeSet<>(listed), "every acknowledged create, once");
      assertEquals(created.size(), new HashSet<>(created.values()).size(), "unique inos");
      assertTrue(created.size() > 50, "calls went through: " + created.size());
    }
  }

  static List<String> names(MetaClient c, long dir) throws MetaException {
    List<String> out = new ArrayList<>();
    String after = "";
    while (true) {
      var page = c.readDir(dir, after, 1000);
      page.getEntriesList().stream().map(DirEntry::getName).forEach(out::add);
      if (page.getEntriesCount() == 0 || !page.getMore()) {
        return out;
      }
      after = out.get(out.size() - 1);
    }
  }

  static MetaRequest mkdir(long parent, String name) {
    return MetaRequest.newBuilder().setMkdir(MkdirRequest.newBuilder().setParent(parent).setName(name)
        .setMode(0755)).build();
  }

  static MetaRequest create(long parent, String name, boolean exclusive) {
    return MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(parent).setName(name)
        .setMode(0644).setExclusive(exclusive)).build();
  }

  static MetaRequest rmdir(long parent, String name) {
    return MetaRequest.newBuilder().setRmdir(RmdirRequest.newBuilder().setParent(parent).setName(name)).build();
  }

  static MetaRequest unlink(long parent, String name) {
    return MetaRequest.newBuilder().setUnlink(UnlinkRequest.newBuilder().setParent(parent).setName(name)).build();
  }

  static MetaRequest rename(long sp, String sn, long dp, String dn) {
    return MetaRequest.newBuilder().setRename(RenameRequest.newBuilder().setSrcParent(sp).setSrcName(sn)
        .setDstParent(dp).setDstName(dn)).build();
  }
}
