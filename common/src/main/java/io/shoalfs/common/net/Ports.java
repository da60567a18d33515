package io.shoalfs.common.net;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** Free loopback ports for tests and for {@code shoal local}. */
public final class Ports {
  private static final int ATTEMPTS = 200;

  private Ports() {}

  public static int freePort() {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return s.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException("no free port: " + e.getMessage(), e);
    }
  }

  /** A port p such that p and p+1 are both free: a metadata replica uses p for Raft and p+1 for clients. */
  public static int freePortPair() {
    for (int i = 0; i < ATTEMPTS; i++) {
      int p = freePort();
      if (p < 65535 && isFree(p + 1)) {
        return p;
      }
    }
    throw new IllegalStateException("no two consecutive free ports after " + ATTEMPTS + " attempts");
  }

  public static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      s.setReuseAddress(true);
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
