package io.shoalfs.cli;

import sun.misc.Signal;

/**
 * SIGTERM and SIGINT as ordinary events, so {@code shoal local} can stop its components in order and exit 0
 * (a JVM shutdown hook could not choose the order against a concurrently dying process tree, nor the exit code).
 */
final class Signals {
  private Signals() {}

  static void onTerminate(Runnable action) {
    Signal.handle(new Signal("TERM"), s -> action.run());
    Signal.handle(new Signal("INT"), s -> action.run());
  }
}
