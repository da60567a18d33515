package io.shoalfs.meta;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/** Real metadata replicas on loopback ports in one JVM, each with its own directory under {@code base}. */
final class MetaCluster implements AutoCloseable {
  private final Path base;
  private final MetaServer.Tuning tuning;
  private final Map<String, HostPort> peers = new LinkedHashMap<>();
  private final Map<String, MetaServer> running = new LinkedHashMap<>();
  private final List<MetaClient> clients = new ArrayList<>();

  private MetaCluster(Path base, int replicas, MetaServer.Tuning tuning) {
    this.base = base;
    this.tuning = tuning;
    Set<Integer> used = new HashSet<>();
    for (int i = 0; i < replicas; i++) {
      int port;
      do {
        port = Ports.freePortPair();
      } while (used.contains(port) || used.contains(port + 1));
      used.add(port);
      used.add(port + 1);
      peers.put("m" + i, new HostPort("127.0.0.1", port));
    }
  }

  /** Ports and directories for {@code replicas}, none started yet. */
  static MetaCluster prepare(Path base, int replicas, MetaServer.Tuning tuning) {
    return new MetaCluster(base, replicas, tuning);
  }

  static MetaCluster start(Path base, int replicas) throws IOException {
    return start(base, replicas, MetaServer.Tuning.DEFAULTS);
  }

  static MetaCluster start(Path base, int replicas, MetaServer.Tuning tuning) throws IOException {
    MetaCluster c = new MetaCluster(base, replicas, tuning);
    try {
      c.startAll();
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
    return c;
  }

  /** ADDRS as users pass it: the replicas' Raft addresses. */
  String addrs() {
    return peers.values().stream().map(HostPort::toString).collect(Collectors.joining(","));
  }

  Map<String, HostPort> peers() {
    return peers;
  }

  Path dirOf(String id) {
    return base.resolve(id);
  }

  /** A client that the cluster closes on {@link #close()}. */
  MetaClient client() {
    MetaClient c = MetaClient.connect(addrs());
    clients.add(c);
    return c;
  }

  void startAll() throws IOException {
    for (String id : peers.keySet()) {
      if (!running.containsKey(id)) {
        start(id);
      }
    }
  }

  MetaServer start(String id) throws IOException {
    MetaServer s = MetaServer.start(new MetaServer.Config(id, peers, dirOf(id)), tuning);
    running.put(id, s);
    return s;
  }

  void stop(String id) {
    MetaServer s = running.remove(id);
    if (s != null) {
      s.close();
    }
  }

  /** Stops every running replica, in parallel (a Raft server takes about a second to close). */
  void stopAll() {
    List<Thread> stoppers = new ArrayList<>();
    for (String id : List.copyOf(running.keySet())) {
      MetaServer s = running.remove(id);
      stoppers.add(Thread.ofPlatform().name("stop-" + id).start(s::close));
    }
    for (Thread t : stoppers) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /** Election timeouts short enough for a single replica, which has nobody to lose an election to. */
  static MetaServer.Tuning fastSingle() {
    return MetaServer.Tuning.DEFAULTS.withElectionTimeout(Duration.ofMillis(300), Duration.ofMillis(600));
  }

  MetaServer server(String id) {
    return running.get(id);
  }

  Map<String, MetaServer> running() {
    return running;
  }

  /** Waits until a running replica is a ready leader and returns it. */
  MetaServer awaitLeader(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      for (MetaServer s : running.values()) {
        if (s.isLeaderReady()) {
          return s;
        }
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no leader among " + running.keySet() + " within " + timeout);
  }

  /** Waits until replica {@code id} has applied at least {@code index}. */
  void awaitApplied(String id, long index, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (running.get(id).lastAppliedIndex() < index) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(id + " applied only " + running.get(id).lastAppliedIndex() + " < " + index);
      }
      Thread.sleep(20);
    }
  }

  @Override
  public void close() {
    for (MetaClient c : clients) {
      c.close();
    }
    clients.clear();
    stopAll();
  }
}
