package io.shoalfs.fuse;

import java.util.ArrayList;
import java.util.List;

/**
 * How long the kernel may cache what this mount replies: attributes, names, and "no such name". The watch
 * stream invalidates what another client changed well before these run out; the timeouts are the bound for the
 * cases it cannot cover (a name of a hard link other than the last one looked up, a watch that is down).
 *
 * <p>Given as mount options {@code attr_timeout=S}, {@code entry_timeout=S}, {@code negative_timeout=S}
 * (seconds, fractions allowed), as libfuse's high-level API spelled them; the low-level session does not know
 * them, so {@link #extract} takes them out of the option list before it reaches libfuse.
 */
record CacheTimeouts(double attrSec, double entrySec, double negativeSec) {
  static final CacheTimeouts DEFAULTS = new CacheTimeouts(1.0, 1.0, 0.5);

  CacheTimeouts {
    if (!(attrSec >= 0) || !(entrySec >= 0) || !(negativeSec >= 0)) {
      throw new IllegalArgumentException("cache timeouts must be >= 0 seconds");
    }
  }

  /**
   * Removes the timeout options from {@code options} (in place) and returns the timeouts they set over the
   * defaults. @throws IllegalArgumentException for a value that is not a number of seconds
   */
  static CacheTimeouts extract(List<String> options) {
    double attr = DEFAULTS.attrSec;
    double entry = DEFAULTS.entrySec;
    double negative = DEFAULTS.negativeSec;
    List<String> rest = new ArrayList<>(options.size());
    for (String o : options) {
      int eq = o.indexOf('=');
      String key = eq < 0 ? o : o.substring(0, eq);
      switch (key) {
        case "attr_timeout" -> attr = seconds(o, eq);
        case "entry_timeout" -> entry = seconds(o, eq);
        case "negative_timeout" -> negative = seconds(o, eq);
        default -> rest.add(o);
      }
    }
    options.clear();
    options.addAll(rest);
    return new CacheTimeouts(attr, entry, negative);
  }

  private static double seconds(String option, int eq) {
    try {
      double v = Double.parseDouble(option.substring(eq + 1));
      if (eq < 0 || !(v >= 0) || Double.isInfinite(v)) {
        throw new NumberFormatException();
      }
      return v;
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("bad mount option '" + option + "': want seconds >= 0");
    }
  }
}
