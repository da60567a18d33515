package io.shoalfs.storage.testing;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.Ports;
import io.shoalfs.meta.MetaServer;
import io.shoalfs.storage.StorageServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A real one-replica metadata service and one storage daemon on loopback, data in a temp directory: the cluster
 * that the FUSE client's and the CSI driver's tests run against (published in this module's test-jar).
 */
public final class TestCluster implements AutoCloseable {
  public static final long STORAGE_CAPACITY = 10L << 30;

  private final Path dir;
  private final MetaServer meta;
  private StorageServer storage;
  private StorageServer.Config storageConfig;
  private final String metaAddrs;
  private final MetaClient client;

  private TestCluster(Path dir, MetaServer meta, StorageServer storage, String metaAddrs) {
    this.dir = dir;
    this.meta = meta;
    this.storage = storage;
    this.metaAddrs = metaAddrs;
    this.client = MetaClient.connect(metaAddrs);
    this.storageConfig = storage.config();
  }

  /** A cluster of its own, for tests that break it; the caller closes it. */
  public static TestCluster start() throws IOException {
    Path dir = Files.createTempDirectory("shoal-fuse-cluster");
    int raftPort = Ports.freePortPair();
    String addrs = "127.0.0.1:" + raftPort;
    MetaServer meta = MetaServer.start(new MetaServer.Config("m1",
        Map.of("m1", new HostPort("127.0.0.1", raftPort)), dir.resolve("meta")));
    StorageServer storage = null;
    try {
      storage = StorageServer.start(new StorageServer.Config("s1", addrs, dir.resolve("storage"),
          new HostPort("127.0.0.1", Ports.freePort()), STORAGE_CAPACITY));
      if (!storage.awaitRegistered(Duration.ofSeconds(60))) {
        throw new IOException("storage daemon did not register with the metadata service within 60 s");
      }
      TestCluster c = new TestCluster(dir, meta, storage, addrs);
      c.client.getAttr(Layout.ROOT_INO);
      return c;
    } catch (Exception e) {
      if (storage != null) {
        storage.close();
      }
      meta.close();
      throw e instanceof IOException io ? io : new IOException(e);
    }
  }

  public String metaAddrs() {
    return metaAddrs;
  }

  /** The cluster's write key, as its daemon keeps it (tests that act as the metadata service sign with it). */
  public byte[] writeKey() {
    return io.shoalfs.storage.TestTokens.key(storageConfig.dir());
  }

  /** A metadata client of the test itself (to create subvolumes, check statfs figures). */
  public MetaClient client() {
    return client;
  }

  /** Stops the storage daemon (for failure tests); {@link #startStorage()} brings it back. */
  public synchronized void stopStorage() {
    storage.close();
  }

  /** Starts the storage daemon again on the same id, directory and address, after {@link #stopStorage()}. */
  public synchronized void startStorage() throws IOException {
    storage = StorageServer.start(storageConfig);
    if (!storage.awaitRegistered(Duration.ofSeconds(60))) {
      throw new IOException("storage daemon did not register again within 60 s");
    }
  }

  @Override
  public synchronized void close() throws IOException {
    client.close();
    try {
      storage.close();
    } finally {
      meta.close();
      try (Stream<Path> all = Files.walk(dir)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
