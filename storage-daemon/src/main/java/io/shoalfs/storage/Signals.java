package io.shoalfs.storage;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * SIGTERM and SIGINT as a request to stop, not an exit: with the JVM's default handling the process would exit
 * with status 143 after its shutdown hooks, while a daemon asked to stop should finish cleanly and exit 0.
 */
final class Signals {
  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);

  private Signals() {}

  static void onTermination(Runnable stop) {
    for (String name : new String[] {"TERM", "INT"}) {
      try {
        sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> stop.run());
      } catch (IllegalArgumentException e) {
        // The JVM reserves the signal (e.g. -Xrs): its shutdown hooks still close the daemon.
        LOG.warn("cannot handle SIG{}: {}", name, e.getMessage());
      }
    }
  }
}
