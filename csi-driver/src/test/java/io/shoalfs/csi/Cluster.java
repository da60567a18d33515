package io.shoalfs.csi;

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

/** A real metadata replica and storage daemon on loopback, data in a temp directory, for one test class. */
final class Cluster implements AutoCloseable {
  private final Path dir;
  private final MetaServer meta;
  private final StorageServer storage;
  final String metaAddrs;
  final MetaClient client;

  private Cluster(Path dir, MetaServer meta, StorageServer storage, String metaAddrs) {
    this.dir = dir;
    this.meta = meta;
    this.storage = storage;
    this.metaAddrs = metaAddrs;
    this.client = MetaClient.connect(metaAddrs);
  }

  static Cluster start() throws IOException {
    Path dir = Files.createTempDirectory("shoal-csi-cluster");
    int raft = Ports.freePortPair();
    String addrs = "127.0.0.1:" + raft;
    MetaServer meta = MetaServer.start(new MetaServer.Config("m1", Map.of("m1", new HostPort("127.0.0.1", raft)),
        dir.resolve("meta")));
    StorageServer storage = null;
    try {
      storage = StorageServer.start(new StorageServer.Config("s1", addrs, dir.resolve("storage"),
          new HostPort("127.0.0.1", Ports.freePort()), 4L << 30));
      if (!storage.awaitRegistered(Duration.ofSeconds(60))) {
        throw new IOException("storage daemon did not register within 60 s");
      }
      Cluster c = new Cluster(dir, meta, storage, addrs);
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

  @Override
  public void close() throws IOException {
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
