package io.shoalfs.storage.raft;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StaleChunkException;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.meta.MetaServer;
import io.shoalfs.common.net.Ports;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.StorageGroup;
import io.shoalfs.storage.StorageServer;
import io.shoalfs.storage.TestTokens;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicated storage groups with real parts: a one-replica metadata service whose leader forms the groups, three
 * storage daemons each with its Raft server on loopback, the client library. A chunk written through a group of
 * three has its bytes on every member; with one member stopped, reads and writes go on; the member that comes back
 * catches up from the group's log; fencing is decided by the group (refused alike on every member).
 */
@Timeout(value = 180, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class StorageGroupTest {
  @TempDir Path dir;

  static byte[] bytes(long seed, int n) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void aGroupOfThreeKeepsEveryByteOnEveryMemberAndServesWithOneMemberDown() throws Exception {
    try (Rig rig = Rig.start(dir, 3, 3, null)) {
      MetaServer meta = rig.meta;
      List<StorageServer> daemons = rig.daemons;
      List<StorageServer.Config> configs = rig.configs;
      MetaClient client = rig.client;
      StorageClient storage = rig.storage;
      StorageGroup group = awaitGroup(client, 3, Duration.ofSeconds(60));
      assertEquals("r3-s1-s2-s3", group.getGroupId());

      Attr f = client.create(Layout.ROOT_INO, "f", 0644, 0, 0, false);
      ChunkRef ref = client.allocChunk(f.getIno(), 0);
      assertEquals(group.getGroupId(), ref.getGroupId(), "placed in the replicated group");
      byte[] first = bytes(1, 1 << 20);
      storage.write(ref, 0, ByteString.copyFrom(first), false);
      assertArrayEquals(first, storage.read(ref, 0, first.length).toByteArray());
      // Every member applied it: each one's own store has the bytes.
      for (StorageServer d : daemons) {
        awaitStored(d, ref.getChunkId(), 0, first);
      }

      // The leader's copy of block 0 is damaged on its disk: the read returns the right bytes from another member,
      // and the leader repairs its copy from one of them.
      StorageServer leader = daemons.stream().filter(d -> d.groups().isLeader(group.getGroupId())).findFirst()
          .orElseThrow();
      byte[] key = new io.shoalfs.storage.store.BlockKey(ref.getChunkId(), 0).encode();
      byte[] good = leader.store().rocks().get(io.shoalfs.storage.store.ChunkTables.BLOCKS,
          new io.shoalfs.storage.store.BlockKey(ref.getChunkId(), 0));
      byte[] bad = good.clone();
      bad[100] ^= 0x5a;
      try (var batch = leader.store().rocks().batch()) {
        batch.putRaw(io.shoalfs.storage.store.ChunkTables.BLOCKS, key, bad);
        batch.commitSync();
      }
      StorageServer damaged = leader;
      assertThrows(io.shoalfs.storage.core.StorageException.CorruptBlock.class,
          () -> damaged.store().read(ref.getChunkId(), 0, 4096), "the damage is real");
      assertArrayEquals(first, storage.read(ref, 0, first.length).toByteArray(), "read from a good copy");
      awaitStored(leader, ref.getChunkId(), 0, first);
      System.out.println("damaged block repaired on " + leader.id() + ": " + leader.groups().repairedBlocks()
          + " block(s) repaired");
      assertEquals(1, leader.groups().repairedBlocks());

      // The scrub finds damage nobody read: block 3 on another member, repaired from a good copy.
      StorageServer other = daemons.stream().filter(d -> d != damaged).findFirst().orElseThrow();
      byte[] key3 = new io.shoalfs.storage.store.BlockKey(ref.getChunkId(), 3).encode();
      byte[] bad3 = other.store().rocks().get(io.shoalfs.storage.store.ChunkTables.BLOCKS,
          new io.shoalfs.storage.store.BlockKey(ref.getChunkId(), 3)).clone();
      bad3[bad3.length - 1] ^= 0x01;
      try (var batch = other.store().rocks().batch()) {
        batch.putRaw(io.shoalfs.storage.store.ChunkTables.BLOCKS, key3, bad3);
        batch.commitSync();
      }
      StorageGroups.ScrubPass pass = other.groups().scrubNow();
      System.out.println("scrub of " + other.id() + ": " + pass);
      assertEquals(1, pass.damaged());
      assertTrue(pass.blocksChecked() >= 16, "every block of the 1 MiB written was checked: " + pass);
      awaitStored(other, ref.getChunkId(), 0, first);
      assertEquals(0, other.groups().scrubNow().damaged(), "repaired: the next pass finds nothing");

      // One member down (the one this client reached first, which is often the leader): the group goes on.
      daemons.get(0).close();
      byte[] second = bytes(2, 512 << 10);
      storage.write(ref, 1 << 20, ByteString.copyFrom(second), false);
      assertArrayEquals(first, storage.read(ref, 0, first.length).toByteArray());
      assertArrayEquals(second, storage.read(ref, 1 << 20, second.length).toByteArray());

      // It comes back and catches up from the log.
      daemons.set(0, StorageServer.start(configs.get(0)));
      awaitStored(daemons.get(0), ref.getChunkId(), 1 << 20, second);

      // Fencing through the group: a write with an epoch below the fence is refused, nothing changes.
      assertEquals(7, storage.fence(TestTokens.fenceable(ref, TestTokens.key(configs.get(1).dir())), 7));
      StorageClient st = storage;
      StaleChunkException stale = assertThrows(StaleChunkException.class,
          () -> st.write(ref, 0, ByteString.copyFrom(bytes(3, 4096)), false));
      assertTrue(stale.getMessage().contains("write"), stale.getMessage());
      // A write without alloc_chunk's token never reaches the group's log: refused on the spot, not retried.
      ChunkRef forged = TestTokens.atEpoch(ref, 7, new byte[io.shoalfs.common.ChunkTokens.KEY_BYTES]);
      java.io.IOException denied = assertThrows(java.io.IOException.class,
          () -> st.write(forged, 0, ByteString.copyFrom(bytes(4, 4096)), false));
      assertTrue(denied.getMessage().contains("PERMISSION_DENIED"), denied.getMessage());
      assertArrayEquals(first, storage.read(ref, 0, first.length).toByteArray());
    }
  }

  /**
   * Replication 2 with a third daemon: each group of two data members has the third as its witness (a voter that
   * holds no bytes), so with one data member down the other and the witness still make a majority: writes and
   * reads go on, and the member that comes back catches up. The witness never holds the chunk's bytes.
   */
  @Test
  void aGroupOfTwoWithAWitnessServesWithOneDataMemberDown() throws Exception {
    try (Rig rig = Rig.start(dir, 3, 2, null)) {
      MetaServer meta = rig.meta;
      List<StorageServer> daemons = rig.daemons;
      List<StorageServer.Config> configs = rig.configs;
      MetaClient client = rig.client;
      StorageClient storage = rig.storage;
      awaitGroup(client, 2, Duration.ofSeconds(60));
      Attr f = client.create(Layout.ROOT_INO, "f", 0644, 0, 0, false);
      ChunkRef ref = client.allocChunk(f.getIno(), 0);
      // A group formed before the third daemon registered gets it as its witness soon after.
      StorageGroup g = groupById(client, ref.getGroupId());
      long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (!g.hasWitness() && System.nanoTime() < until) {
        Thread.sleep(200);
        g = groupById(client, ref.getGroupId());
      }
      assertEquals(2, g.getMembersCount());
      assertTrue(g.hasWitness(), "a group of two among three daemons has a witness: " + g);
      String witnessId = g.getWitness().getId();
      byte[] first = bytes(21, 1 << 20);
      storage.write(ref, 0, ByteString.copyFrom(first), false);
      StorageServer witness = byId(daemons, witnessId);
      for (StorageDaemonRef m : members(g)) {
        awaitStored(byId(daemons, m.id()), ref.getChunkId(), 0, first);
      }
      assertEquals(0, witness.store().usedBytes(), "the witness holds no bytes of the group's chunks");

      // A data member down: the other one and the witness are a majority.
      StorageServer down = byId(daemons, g.getMembers(0).getId());
      int downIndex = daemons.indexOf(down);
      down.close();
      byte[] second = bytes(22, 512 << 10);
      storage.write(ref, 1 << 20, ByteString.copyFrom(second), false);
      assertArrayEquals(second, storage.read(ref, 1 << 20, second.length).toByteArray());
      assertArrayEquals(first, storage.read(ref, 0, first.length).toByteArray());

      // It comes back and catches up; the witness still holds nothing.
      daemons.set(downIndex, StorageServer.start(configs.get(downIndex)));
      awaitStored(daemons.get(downIndex), ref.getChunkId(), 1 << 20, second);
      assertEquals(0, witness.store().usedBytes());
    }
  }

  record StorageDaemonRef(String id) {}

  static List<StorageDaemonRef> members(StorageGroup g) {
    return g.getMembersList().stream().map(m -> new StorageDaemonRef(m.getId())).toList();
  }

  static StorageServer byId(List<StorageServer> daemons, String id) {
    return daemons.stream().filter(d -> d.id().equals(id)).findFirst().orElseThrow();
  }

  /**
   * Re-replication: with four daemons and replication 3, a member that stays dead past the configured time is
   * replaced in its groups by the fourth daemon, which catches up from the group's log; the group has three live
   * copies again (printed: how long it took).
   */
  @Test
  void aDeadMemberIsReplacedAndTheNewMemberHoldsEveryByte() throws Exception {
    try (Rig rig = Rig.start(dir, 4, 3, Duration.ofSeconds(3))) {
      MetaServer meta = rig.meta;
      List<StorageServer> daemons = rig.daemons;
      List<StorageServer.Config> configs = rig.configs;
      MetaClient client = rig.client;
      StorageClient storage = rig.storage;
      awaitGroup(client, 3, Duration.ofSeconds(60));
      long formed = System.nanoTime() + Duration.ofSeconds(60).toNanos();
      while (client.getLayout().getGroupsList().stream().filter(StorageGroup::getReplicated).count() < 4) {
        assertTrue(System.nanoTime() < formed, "four groups of three for four daemons");
        Thread.sleep(200);
      }
      // New chunks are spread over the groups, also when writers ask for existing chunks in between (a writer asks
      // alloc_chunk on every write-back: here four asks per chunk, as many as there are groups).
      Attr spread = client.create(Layout.ROOT_INO, "spread", 0644, 0, 0, false);
      java.util.Set<String> used = new java.util.TreeSet<>();
      for (int i = 0; i < 8; i++) {
        used.add(client.allocChunk(spread.getIno(), i).getGroupId());
        for (int again = 0; again < 3; again++) {
          client.allocChunk(spread.getIno(), i);
        }
      }
      assertEquals(4, used.size(), "eight new chunks land in every one of the four groups: " + used);
      Attr f = client.create(Layout.ROOT_INO, "f", 0644, 0, 0, false);
      ChunkRef ref = client.allocChunk(f.getIno(), 0);
      byte[] data = bytes(11, 1 << 20);
      storage.write(ref, 0, ByteString.copyFrom(data), false);
      StorageGroup before = groupById(client, ref.getGroupId());
      String victim = before.getMembers(0).getId();
      StorageServer dead = daemons.stream().filter(d -> d.id().equals(victim)).findFirst().orElseThrow();
      dead.close();
      long start = System.nanoTime();

      StorageGroup after = null;
      long deadline = start + Duration.ofSeconds(90).toNanos();
      while (System.nanoTime() < deadline) {
        after = groupById(client, ref.getGroupId());
        if (after.getMembersList().stream().noneMatch(m -> m.getId().equals(victim))) {
          break;
        }
        Thread.sleep(200);
      }
      StorageGroup now = after;
      assertTrue(now.getMembersList().stream().noneMatch(m -> m.getId().equals(victim)),
          "the dead member left the group: " + now);
      assertEquals(3, now.getMembersCount());
      String newcomer = now.getMembersList().stream().map(m -> m.getId())
          .filter(id -> before.getMembersList().stream().noneMatch(m -> m.getId().equals(id))).findFirst()
          .orElseThrow();
      StorageServer fresh = daemons.stream().filter(d -> d.id().equals(newcomer)).findFirst().orElseThrow();
      awaitStored(fresh, ref.getChunkId(), 0, data);
      System.out.printf("re-replication: %s replaced by %s in %s, its copy complete after %d ms%n", victim,
          newcomer, ref.getGroupId(), (System.nanoTime() - start) / 1_000_000);
      // The group goes on with its new members.
      byte[] more = bytes(12, 256 << 10);
      storage.refreshLayout();
      storage.write(ref, 1 << 20, ByteString.copyFrom(more), false);
      assertArrayEquals(more, storage.read(ref, 1 << 20, more.length).toByteArray());
      awaitStored(fresh, ref.getChunkId(), 1 << 20, more);
      assertTrue(meta.groupFormer().replacedMembers() >= 1);
    }
  }

  static StorageGroup groupById(MetaClient client, String id) throws Exception {
    return client.getLayout().getGroupsList().stream().filter(g -> g.getGroupId().equals(id)).findFirst()
        .orElseThrow();
  }

  /**
   * A daemon that comes back is usable at once: the client's channel to it failed while it was down (gRPC then
   * backs off for up to two minutes), yet a read right after the daemon registered again succeeds within 2 s.
   */
  @Test
  void aRestartedDaemonServesReadsWithinTwoSecondsOfBeingReady() throws Exception {
    int raftPort = Ports.freePortPair();
    String addrs = "127.0.0.1:" + raftPort;
    MetaServer meta = MetaServer.start(new MetaServer.Config("m1", Map.of("m1", new HostPort("127.0.0.1", raftPort)),
        dir.resolve("meta")), MetaServer.Tuning.DEFAULTS);
    StorageServer.Config cfg = new StorageServer.Config("s1", addrs, dir.resolve("s1"),
        new HostPort("127.0.0.1", Ports.freePort()), 8L << 30);
    StorageServer daemon = StorageServer.start(cfg);
    MetaClient client = null;
    StorageClient storage = null;
    try {
      assertTrue(daemon.awaitRegistered(Duration.ofSeconds(60)));
      client = MetaClient.connect(addrs);
      storage = new StorageClient(client);
      Attr f = client.create(Layout.ROOT_INO, "f", 0644, 0, 0, false);
      ChunkRef ref = client.allocChunk(f.getIno(), 0);
      byte[] data = bytes(5, 64 << 10);
      storage.write(ref, 0, ByteString.copyFrom(data), false);

      daemon.close();
      // Reads while it is down fail (and put the client's channel into gRPC's reconnect back-off).
      for (int i = 0; i < 3; i++) {
        StorageClient st = storage;
        assertThrows(java.io.IOException.class, () -> st.read(ref, 0, data.length));
      }
      daemon = StorageServer.start(cfg);
      assertTrue(daemon.awaitRegistered(Duration.ofSeconds(60)));
      long ready = System.nanoTime();
      byte[] back = storage.read(ref, 0, data.length).toByteArray();
      long ms = (System.nanoTime() - ready) / 1_000_000;
      System.out.println("first read after the daemon was ready again: " + ms + " ms");
      assertArrayEquals(data, back);
      assertTrue(ms <= 2000, "a restarted daemon serves reads within 2 s of being ready, took " + ms + " ms");
    } finally {
      if (storage != null) {
        storage.close();
      }
      if (client != null) {
        client.close();
      }
      daemon.close();
      meta.close();
    }
  }

  /** One metadata replica (the group former on it) and {@code n} daemons with Raft servers, the client on them. */
  static final class Rig implements AutoCloseable {
    final MetaServer meta;
    final List<StorageServer> daemons = new ArrayList<>();
    final List<StorageServer.Config> configs = new ArrayList<>();
    MetaClient client;
    StorageClient storage;

    private Rig(MetaServer meta) {
      this.meta = meta;
    }

    static Rig start(Path dir, int n, int replication, Duration deadAfter) throws Exception {
      int raftPort = Ports.freePortPair();
      String addrs = "127.0.0.1:" + raftPort;
      Rig r = new Rig(MetaServer.start(new MetaServer.Config("m1",
          Map.of("m1", new HostPort("127.0.0.1", raftPort)), dir.resolve("meta")), MetaServer.Tuning.DEFAULTS));
      try {
        r.meta.setDefaultReplication(replication);
        if (deadAfter != null) {
          r.meta.setDaemonDeadAfter(deadAfter);
        }
        for (int i = 1; i <= n; i++) {
          StorageServer.Config cfg = new StorageServer.Config("s" + i, addrs, dir.resolve("s" + i),
              new HostPort("127.0.0.1", Ports.freePort()), 8L << 30, new HostPort("127.0.0.1", Ports.freePort()));
          r.configs.add(cfg);
          r.daemons.add(StorageServer.start(cfg));
        }
        for (StorageServer d : r.daemons) {
          assertTrue(d.awaitRegistered(Duration.ofSeconds(60)), "registered");
        }
        r.client = MetaClient.connect(addrs);
        r.storage = new StorageClient(r.client);
        return r;
      } catch (Exception | AssertionError e) {
        r.close();
        throw e;
      }
    }

    @Override
    public void close() {
      if (storage != null) {
        storage.close();
      }
      if (client != null) {
        client.close();
      }
      daemons.forEach(StorageServer::close);
      meta.close();
    }
  }

  static StorageGroup awaitGroup(MetaClient client, int members, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (StorageGroup g : client.getLayout().getGroupsList()) {
        if (g.getReplicated() && g.getMembersCount() == members) {
          return g;
        }
      }
      Thread.sleep(200);
    }
    throw new AssertionError("no replicated group of " + members + " within " + timeout);
  }

  /** Waits until daemon {@code d}'s own store holds {@code expected} at {@code offset} of the chunk. */
  static void awaitStored(StorageServer d, long chunkId, int offset, byte[] expected) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    byte[] now = null;
    while (System.nanoTime() < deadline) {
      try {
        now = d.store().read(chunkId, offset, expected.length);
        if (java.util.Arrays.equals(expected, now)) {
          return;
        }
      } catch (io.shoalfs.storage.core.StorageException.CorruptBlock notYet) {
        now = null;
      }
      Thread.sleep(100);
    }
    assertArrayEquals(expected, now, "daemon " + d.id() + " holds the bytes");
  }
}
