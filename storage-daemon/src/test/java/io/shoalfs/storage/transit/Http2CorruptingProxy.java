package io.shoalfs.storage.transit;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP proxy in front of a gRPC server (plain HTTP/2) that can flip one byte in the middle of the payload of
 * DATA frames going one way: the bytes of a message change on the wire while every frame stays well formed, as
 * a faulty NIC, switch or memory between two machines would change them. Frame headers are parsed, never
 * touched, so the connection itself stays healthy.
 */
final class Http2CorruptingProxy implements AutoCloseable {
  enum Direction { TO_SERVER, TO_CLIENT }

  /** HTTP/2's connection preface, sent once by the client before its first frame. */
  private static final int PREFACE_BYTES = 24;
  private static final int TYPE_DATA = 0;
  /** Only DATA frames at least this long are changed: the bulk of a chunk's bytes, not small replies. */
  private static final int MIN_PAYLOAD = 1024;

  private final ServerSocket server;
  private final InetSocketAddress target;
  private final AtomicInteger[] pending = {new AtomicInteger(), new AtomicInteger()};
  private final AtomicInteger[] corrupted = {new AtomicInteger(), new AtomicInteger()};
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();

  Http2CorruptingProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread accept = new Thread(this::acceptLoop, "corrupting-proxy-accept");
    accept.setDaemon(true);
    accept.start();
  }

  int port() {
    return server.getLocalPort();
  }

  /** The next {@code frames} large DATA frames going {@code d} get one byte flipped; -1: every one from now. */
  void corrupt(Direction d, int frames) {
    pending[d.ordinal()].set(frames);
  }

  int corrupted(Direction d) {
    return corrupted[d.ordinal()].get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Socket upstream = new Socket(target.getAddress(), target.getPort());
        sockets.add(client);
        sockets.add(upstream);
        pump(client, upstream, Direction.TO_SERVER);
        pump(upstream, client, Direction.TO_CLIENT);
      } catch (IOException e) {
        return; // closed
      }
    }
  }

  private void pump(Socket from, Socket to, Direction d) {
    Thread t = new Thread(() -> {
      try (InputStream rawIn = from.getInputStream(); OutputStream out = to.getOutputStream()) {
        DataInputStream in = new DataInputStream(rawIn);
        if (d == Direction.TO_SERVER) {
          byte[] preface = new byte[PREFACE_BYTES];
          in.readFully(preface);
          out.write(preface);
        }
        byte[] header = new byte[9];
        while (true) {
          in.readFully(header);
          int length = ((header[0] & 0xff) << 16) | ((header[1] & 0xff) << 8) | (header[2] & 0xff);
          byte[] payload = new byte[length];
          in.readFully(payload);
          if ((header[3] & 0xff) == TYPE_DATA && length >= MIN_PAYLOAD && take(d)) {
            payload[length / 2] ^= 0x55;
            corrupted[d.ordinal()].incrementAndGet();
          }
          out.write(header);
          out.write(payload);
          out.flush();
        }
      } catch (IOException e) {
        closeQuietly(from);
        closeQuietly(to);
      }
    }, "corrupting-proxy-" + d);
    t.setDaemon(true);
    t.start();
  }

  private boolean take(Direction d) {
    AtomicInteger p = pending[d.ordinal()];
    while (true) {
      int n = p.get();
      if (n == 0) {
        return false;
      }
      if (n < 0 || p.compareAndSet(n, n - 1)) {
        return true;
      }
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    sockets.forEach(Http2CorruptingProxy::closeQuietly);
  }
}
