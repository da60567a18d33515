package io.shoalfs.storage.gc;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.StorageClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.meta.MetaServer;
import io.shoalfs.meta.core.OrphanChunks;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.proto.storage.DaemonStatusReply;
import io.shoalfs.storage.StorageServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A real one-replica metadata service (with its chunk collector) and one real storage daemon on loopback, the
 * client library against them: the GC tests' cluster. The caller closes it.
 */
final class GcCluster implements AutoCloseable {
  static final String GROUP = "g-s1";

  final MetaServer meta;
  private StorageServer storage;
  private final StorageServer.Config storageConfig;
  final MetaClient client;
  final StorageClient storageClient;

  /** The storage daemon's data directory. */
  Path storageDir() {
    return storageConfig.dir();
  }

  private GcCluster(MetaServer meta, StorageServer storage, String addrs) {
    this.meta = meta;
    this.storage = storage;
    this.storageConfig = storage.config();
    this.client = MetaClient.connect(addrs);
    this.storageClient = new StorageClient(client);
  }

  static GcCluster start(Path dir) throws IOException, io.shoalfs.client.MetaException {
    int raftPort = Ports.freePortPair();
    String addrs = "127.0.0.1:" + raftPort;
    MetaServer meta = MetaServer.start(new MetaServer.Config("m1", Map.of("m1", new HostPort("127.0.0.1", raftPort)),
        dir.resolve("meta")), MetaServer.Tuning.DEFAULTS.withElectionTimeout(Duration.ofMillis(300),
        Duration.ofMillis(600)));
    StorageServer storage = null;
    try {
      storage = StorageServer.start(new StorageServer.Config("s1", addrs, dir.resolve("storage"),
          new HostPort("127.0.0.1", Ports.freePort()), 8L << 30));
      if (!storage.awaitRegistered(Duration.ofSeconds(60))) {
        throw new IOException("storage daemon did not register within 60 s");
      }
      GcCluster c = new GcCluster(meta, storage, addrs);
      c.client.getAttr(Layout.ROOT_INO);
      return c;
    } catch (IOException | io.shoalfs.client.MetaException | RuntimeException e) {
      if (storage != null) {
        storage.close();
      }
      meta.close();
      throw e;
    }
  }

  void stopStorage() {
    storage.close();
  }

  void startStorage() throws IOException {
    storage = StorageServer.start(storageConfig);
    if (!storage.awaitRegistered(Duration.ofSeconds(60))) {
      throw new IOException("storage daemon did not register again within 60 s");
    }
  }

  long orphanRows() {
    return meta.stateMachine().readState(tx -> OrphanChunks.count(tx, Long.MAX_VALUE));
  }

  boolean isOrphan(long chunkId) {
    return meta.stateMachine().dump(MetaTables.ORPHAN_CHUNKS, 1_000_000).containsKey(chunkId);
  }

  List<String> violations() {
    return meta.stateMachine().readState(tx -> OrphanChunks.violations(tx, 10));
  }

  DaemonStatusReply status() throws IOException {
    return storageClient.status(GROUP);
  }

  /** Waits until {@code done} holds; returns how long it took; fails after {@code timeout}. */
  static Duration await(String what, Duration timeout, BooleanSupplier done) throws InterruptedException {
    long start = System.nanoTime();
    long deadline = start + timeout.toNanos();
    while (!done.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + ": not within " + timeout);
      }
      Thread.sleep(50);
    }
    return Duration.ofNanos(System.nanoTime() - start);
  }

  @Override
  public void close() {
    storageClient.close();
    client.close();
    try {
      storage.close();
    } finally {
      meta.close();
    }
  }
}
