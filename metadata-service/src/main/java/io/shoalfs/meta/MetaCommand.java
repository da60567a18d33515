package io.shoalfs.meta;

import io.shoalfs.common.cli.Signals;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.metrics.MetricsServer;
import io.shoalfs.common.net.HostPort;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code shoal meta --id ID --peers ID=HOST:PORT,... --dir D}: one metadata replica in the foreground. Prints
 * {@code ready: meta ID raft=HOST:PORT client=HOST:PORT} on stdout once it serves; everything else goes to
 * stderr. SIGTERM closes it cleanly and exits 0.
 */
@Command(name = "meta", mixinStandardHelpOptions = true,
    description = "Run one metadata replica (a member of the Raft group given by --peers).")
public final class MetaCommand implements Callable<Integer> {
  private static final Logger LOG = LoggerFactory.getLogger(MetaCommand.class);
  @Option(names = "--id", required = true, paramLabel = "ID", description = "this replica's id; one of --peers")
  String id;

  @Option(names = "--peers", required = true, paramLabel = "ID=HOST:PORT,...",
      description = "every replica's id and Raft address; clients use port+1")
  String peers;

  @Option(names = "--dir", required = true, paramLabel = "DIR", description = "data directory of this replica")
  Path dir;

  @Option(names = "--replication", paramLabel = "N", defaultValue = "1",
      description = "copies of each chunk (1, 2 or 3) for the root volume and subvolumes created without one; "
          + "groups of N storage daemons are formed for it (default: ${DEFAULT-VALUE})")
  int replication;

  @Option(names = "--daemon-dead-after", paramLabel = "DURATION", defaultValue = "5m",
      description = "a storage daemon silent this long (e.g. 30s, 5m) is replaced in its replicated groups by "
          + "another daemon (default: ${DEFAULT-VALUE})")
  String deadAfter;

  @Option(names = "--metrics-listen", paramLabel = "HOST:PORT",
      description = "serve Prometheus metrics on http://HOST:PORT/metrics and health on /healthz (default: off)")
  String metricsListen;

  private final PrintStream stdout;

  public MetaCommand() {
    this(System.out);
  }

  MetaCommand(PrintStream stdout) {
    this.stdout = stdout;
  }

  @Override
  public Integer call() throws Exception {
    Map<String, HostPort> peerMap = parsePeers(peers);
    if (!peerMap.containsKey(id)) {
      throw new UserError("--id " + id + " is not among --peers " + String.join(",", peerMap.keySet()));
    }
    if (replication < 1 || replication > 3) {
      throw new UserError("--replication must be 1, 2 or 3, got " + replication);
    }
    java.time.Duration dead = duration("--daemon-dead-after", deadAfter);
    HostPort metricsAddr = metricsListen == null ? null : address("--metrics-listen", metricsListen);
    MetaServer server = MetaServer.start(new MetaServer.Config(id, peerMap, dir));
    server.setDefaultReplication(replication);
    server.setDaemonDeadAfter(dead);
    CountDownLatch stop = new CountDownLatch(1);
    try (AutoCloseable restore = Signals.onTerminate(stop::countDown);
        AutoCloseable http = metricsAddr == null ? null : MetricsServer.start(metricsAddr, server::health)) {
      // Safety net for exits that do not come through the signal handlers.
      Thread hook = new Thread(server::close, "meta-shutdown");
      Runtime.getRuntime().addShutdownHook(hook);
      stdout.println("ready: meta " + id + " raft=" + server.raftAddress() + " client=" + server.clientAddress());
      stdout.flush();
      boolean crashed = false;
      while (!stop.await(1, TimeUnit.SECONDS)) {
        if (!server.isRunning()) {
          // A replica that cannot apply an entry stops rather than skip it; exit so a supervisor sees it.
          LOG.error("meta {}: the Raft server stopped by itself (see the errors above); exiting", id);
          crashed = true;
          break;
        }
      }
      server.close();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the hook runs anyway; close() is idempotent
      }
      return crashed ? 1 : 0;
    }
  }

  static HostPort address(String flag, String text) {
    try {
      return HostPort.parse(text);
    } catch (IllegalArgumentException e) {
      throw new UserError(flag + ": " + e.getMessage());
    }
  }

  /** Parses {@code ID=HOST:PORT,...} keeping the order; a one-line reason on anything malformed. */
  static Map<String, HostPort> parsePeers(String text) {
    Map<String, HostPort> out = new LinkedHashMap<>();
    for (String part : (text == null ? "" : text).split(",")) {
      if (part.isBlank()) {
        continue;
      }
      int eq = part.indexOf('=');
      if (eq <= 0) {
        throw new UserError("bad peer '" + part.trim() + "': expected ID=HOST:PORT");
      }
      String peerId = part.substring(0, eq).trim();
      HostPort addr;
      try {
        addr = HostPort.parse(part.substring(eq + 1));
      } catch (IllegalArgumentException e) {
        throw new UserError("bad peer '" + part.trim() + "': " + e.getMessage());
      }
      if (out.put(peerId, addr) != null) {
        throw new UserError("peer id '" + peerId + "' appears twice in --peers");
      }
    }
    if (out.isEmpty()) {
      throw new UserError("--peers is empty: expected ID=HOST:PORT[,ID=HOST:PORT...]");
    }
    String clash = MetaServer.Config.portClash(out);
    if (clash != null) {
      throw new UserError(clash);
    }
    return out;
  }

  /** 30s, 5m, 1h or plain seconds; at least one second. */
  public static java.time.Duration duration(String flag, String v) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+)([smh]?)").matcher(v.trim());
    if (!m.matches()) {
      throw new UserError(flag + ": '" + v + "' is not a duration like 30s, 5m or 1h");
    }
    long n = Long.parseLong(m.group(1));
    java.time.Duration d = switch (m.group(2)) {
      case "m" -> java.time.Duration.ofMinutes(n);
      case "h" -> java.time.Duration.ofHours(n);
      default -> java.time.Duration.ofSeconds(n);
    };
    if (d.getSeconds() < 1) {
      throw new UserError(flag + " must be at least 1s");
    }
    return d;
  }
}
