package io.shoalfs.common.metrics;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.shoalfs.common.net.HostPort;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A component's HTTP endpoint for Prometheus and probes: {@code GET /metrics} (the registry in the text format)
 * and {@code GET /healthz} (200 with a line when the component is healthy, 503 with the reason when not). The
 * JDK's own HTTP server on one thread: a scrape every few seconds needs no more.
 */
public final class MetricsServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(MetricsServer.class);

  /** What {@code /healthz} answers. */
  public record Health(boolean healthy, String message) {
    public static Health ok(String message) {
      return new Health(true, message);
    }

    public static Health failing(String message) {
      return new Health(false, message);
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;

  private MetricsServer(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Serves on {@code listen} (port 0: any free port; see {@link #port()}). */
  public static MetricsServer start(HostPort listen, Supplier<Health> health) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(listen.host(), listen.port()), 16);
    ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "metrics-http");
      t.setDaemon(true);
      return t;
    });
    s.setExecutor(ex);
    s.createContext("/metrics", x -> answer(x, 200, "text/plain; version=0.0.4; charset=utf-8", Metrics.scrape()));
    s.createContext("/healthz", x -> {
      Health h;
      try {
        h = health.get();
      } catch (RuntimeException e) {
        h = Health.failing("health check failed: " + e);
      }
      answer(x, h.healthy() ? 200 : 503, "text/plain; charset=utf-8",
          (h.healthy() ? "ok: " : "unhealthy: ") + h.message() + "\n");
    });
    s.start();
    MetricsServer m = new MetricsServer(s, ex);
    LOG.info("metrics on http://{}:{}/metrics, health on /healthz", listen.host(), m.port());
    return m;
  }

  private static void answer(HttpExchange x, int status, String type, String body) throws IOException {
    try (x) {
      if (!"GET".equals(x.getRequestMethod()) && !"HEAD".equals(x.getRequestMethod())) {
        x.sendResponseHeaders(405, -1);
        return;
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      x.getResponseHeaders().set("Content-Type", type);
      x.sendResponseHeaders(status, "HEAD".equals(x.getRequestMethod()) ? -1 : bytes.length);
      if (!"HEAD".equals(x.getRequestMethod())) {
        try (OutputStream out = x.getResponseBody()) {
          out.write(bytes);
        }
      }
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
  }
}
