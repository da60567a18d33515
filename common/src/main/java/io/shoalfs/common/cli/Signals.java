package io.shoalfs.common.cli;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * SIGTERM and SIGINT as a request to stop, not an exit. With the JVM's default handling a process exits with
 * status 128+signal after its shutdown hooks, in no chosen order; a Shoal component asked to stop finishes its
 * work in order (a mount flushes and unmounts, a cluster stops mount, storage, metadata) and exits 0.
 * Shutdown hooks stay as a safety net for exits that do not come through here.
 */
public final class Signals {
  private static final Logger LOG = LoggerFactory.getLogger(Signals.class);
  private static final String[] NAMES = {"TERM", "INT"};

  private Signals() {}

  /** Runs {@code stop} on SIGTERM or SIGINT; closing the returned handle restores the previous handlers. */
  public static AutoCloseable onTerminate(Runnable stop) {
    List<Signal> signals = new ArrayList<>();
    List<SignalHandler> previous = new ArrayList<>();
    for (String name : NAMES) {
      try {
        Signal s = new Signal(name);
        previous.add(Signal.handle(s, sig -> stop.run()));
        signals.add(s);
      } catch (IllegalArgumentException e) {
        // The JVM reserves the signal (e.g. -Xrs): shutdown hooks still stop the component.
        LOG.warn("cannot handle SIG{}: {}", name, e.getMessage());
      }
    }
    return () -> {
      for (int i = 0; i < signals.size(); i++) {
        Signal.handle(signals.get(i), previous.get(i));
      }
    };
  }
}
