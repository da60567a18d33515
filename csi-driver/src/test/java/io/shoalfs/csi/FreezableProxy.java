package io.shoalfs.csi;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A TCP relay in front of the metadata service's client port that can be frozen: while frozen it accepts
 * connections and reads bytes but forwards nothing, in either direction, so every caller behind it sees a
 * metadata service that hangs (not one that refuses, which fails fast). Thawing forwards what was held. A test
 * helper for "answers within a bound even when the metadata service hangs".
 */
final class FreezableProxy implements AutoCloseable {
  private final ServerSocket server;
  private final InetSocketAddress target;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private volatile boolean frozen;
  private volatile boolean closed;

  /** Listens on 127.0.0.1:{@code listenPort} and relays to {@code target}. */
  FreezableProxy(int listenPort, InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(listenPort, 64, InetAddress.getLoopbackAddress());
    Thread.ofPlatform().daemon().name("proxy-accept").start(this::acceptLoop);
  }

  void freeze() {
    frozen = true;
  }

  void thaw() {
    frozen = false;
  }

  private void acceptLoop() {
    while (!closed) {
      try {
        Socket in = server.accept();
        Socket out = new Socket(target.getAddress(), target.getPort());
        sockets.add(in);
        sockets.add(out);
        Thread.ofPlatform().daemon().name("proxy-up").start(() -> pump(in, out));
        Thread.ofPlatform().daemon().name("proxy-down").start(() -> pump(out, in));
      } catch (IOException e) {
        if (!closed) {
          System.err.println("proxy: " + e);
        }
      }
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buf = new byte[64 << 10];
    try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buf)) >= 0) {
        // Bounded by the test's own timeouts: a frozen relay is thawed or closed in the test's finally block.
        while (frozen && !closed) {
          Thread.sleep(10);
        }
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException | InterruptedException e) {
      // Connection closed by one side or by close().
    } finally {
      closeQuietly(from);
      closeQuietly(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // Already closed.
    }
  }

  @Override
  public void close() throws IOException {
    closed = true;
    frozen = false;
    server.close();
    for (Socket s : sockets) {
      closeQuietly(s);
    }
  }
}
