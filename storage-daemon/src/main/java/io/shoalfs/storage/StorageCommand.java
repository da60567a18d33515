package io.shoalfs.storage;

import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.Signals;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.metrics.MetricsServer;
import io.shoalfs.common.net.HostPort;
import io.shoalfs.common.net.MetaAddresses;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code shoal storage}: runs one storage daemon in the foreground. Prints {@code ready: storage ID HOST:PORT}
 * on stdout once the metadata service has accepted it; SIGTERM or Ctrl-C stops it and it exits 0.
 */
@Command(name = "storage", mixinStandardHelpOptions = true,
    description = "Run one storage daemon: chunk data in RocksDB, served over gRPC.")
public final class StorageCommand implements Callable<Integer> {
  @Spec
  CommandSpec spec;

  @Option(names = "--id", required = true, paramLabel = "ID", description = "This daemon's unique id.")
  String id;

  @Option(names = "--meta", required = true, paramLabel = "ADDRS",
      description = "Metadata replicas, HOST:PORT[,HOST:PORT...] (their Raft addresses).")
  String meta;

  @Option(names = "--dir", required = true, paramLabel = "DIR", description = "Data directory.")
  Path dir;

  @Option(names = "--listen", required = true, paramLabel = "HOST:PORT",
      description = "Address of the storage API; registered with the metadata service, so clients must reach it.")
  String listen;

  @Option(names = "--advertise", paramLabel = "HOST:PORT",
      description = "The storage API's address as clients dial it (registered with the metadata service), when it is "
          + "not --listen (e.g. --listen 0.0.0.0:9870 --advertise POD.SERVICE:9870). Default: --listen.")
  String advertise;

  @Option(names = "--raft-listen", paramLabel = "HOST:PORT",
      description = "Address of this daemon's Raft server for replicated storage groups. Default: none (the daemon "
          + "serves only groups of one, unreplicated).")
  String raftListen;

  @Option(names = "--capacity", paramLabel = "SIZE",
      description = "Bytes of chunk data to accept (e.g. 100Gi). Default: the free space of DIR's filesystem now.")
  String capacity;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
      description = "Serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz. Default: off.")
  String metricsListen;

  @Override
  public Integer call() throws Exception {
    HostPort metricsAddr =
        metricsListen == null ? null : parse("--metrics-listen", () -> HostPort.parse(metricsListen));
    HostPort address = parse("--listen", () -> HostPort.parse(listen));
    HostPort advertised = advertise == null ? null : parse("--advertise", () -> HostPort.parse(advertise));
    HostPort dialed = advertised == null ? address : advertised;
    if (dialed.host().equals("0.0.0.0") || dialed.host().equals("::")) {
      throw new UserError((advertised == null ? "--listen: " : "--advertise: ") + dialed
          + " is registered for clients to dial; give a reachable host" + (advertised == null
              ? " (or listen on every interface and give that host with --advertise)" : ""));
    }
    if (id.isBlank()) {
      throw new UserError("--id must not be empty");
    }
    parse("--meta", () -> MetaAddresses.clientAddresses(meta));
    HostPort raft = raftListen == null ? null : parse("--raft-listen", () -> HostPort.parse(raftListen));
    if (raft != null && raft.equals(address)) {
      throw new UserError("--raft-listen must differ from --listen (" + address + ")");
    }
    StorageServer.Config cfg = new StorageServer.Config(id, meta, dir, address, capacityBytes(), raft, advertised);

    CountDownLatch stop = new CountDownLatch(1);
    Signals.onTerminate(stop::countDown);
    StorageServer server;
    try {
      server = StorageServer.start(cfg);
    } catch (IOException e) {
      throw new UserError("cannot start storage daemon " + id + ": " + e.getMessage(), 1);
    }
    // Covers exits that are not SIGTERM/SIGINT (System.exit elsewhere, SIGHUP); close() is idempotent.
    Thread hook = new Thread(server::close, "storage-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    MetricsServer http = null;
    try {
      if (metricsAddr != null) {
        try {
          http = MetricsServer.start(metricsAddr, server::health);
        } catch (IOException e) {
          throw new UserError("--metrics-listen " + metricsAddr + ": " + e.getMessage(), 1);
        }
      }
      while (stop.getCount() > 0) {
        if (server.refusal() != null) {
          throw new UserError("storage daemon " + id + ": " + server.refusal(), 1);
        }
        if (server.awaitRegistered(Duration.ofMillis(200))) {
          PrintWriter out = spec.commandLine().getOut();
          out.println("ready: storage " + id + " " + dialed);
          out.flush();
          break;
        }
      }
      // The daemon's lifetime: ends only with a signal.
      stop.await();
    } finally {
      if (http != null) {
        http.close();
      }
      server.close();
    }
    return 0;
  }

  private long capacityBytes() {
    if (capacity == null) {
      try {
        return StorageServer.freeSpace(dir);
      } catch (IOException e) {
        throw new UserError("--dir " + dir + ": " + e.getMessage());
      }
    }
    long bytes = parse("--capacity", () -> Sizes.parse(capacity));
    if (bytes <= 0) {
      throw new UserError("--capacity must be positive");
    }
    return bytes;
  }

  private interface Parse<T> {
    T get();
  }

  /** Turns a parser's IllegalArgumentException into a one-line error that names the flag. */
  private static <T> T parse(String flag, Parse<T> parse) {
    try {
      return parse.get();
    } catch (IllegalArgumentException e) {
      throw new UserError(flag + ": " + e.getMessage());
    }
  }
}
