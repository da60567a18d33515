package io.shoalfs.common;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Byte sizes as users type them: plain bytes or a binary suffix (Ki, Mi, Gi, Ti, Pi). */
public final class Sizes {
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(Ki|Mi|Gi|Ti|Pi)?");

  private Sizes() {}

  /** Parses "1048576", "512Mi", "10Gi". Throws IllegalArgumentException with a one-line reason. */
  public static long parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty size");
    }
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "bad size '" + text + "': use bytes or a number with Ki, Mi, Gi, Ti or Pi (e.g. 10Gi)");
    }
    long value;
    try {
      value = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size '" + text + "' is too large");
    }
    int shift = switch (m.group(2) == null ? "" : m.group(2)) {
      case "" -> 0;
      case "Ki" -> 10;
      case "Mi" -> 20;
      case "Gi" -> 30;
      case "Ti" -> 40;
      case "Pi" -> 50;
      default -> throw new IllegalStateException("unreachable: " + m.group(2));
    };
    if (shift > 0 && value > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("size '" + text + "' is too large");
    }
    return value << shift;
  }

  /** Formats bytes with the largest binary suffix that keeps one decimal, e.g. "1.5Gi". */
  public static String format(long bytes) {
    String[] units = {"", "Ki", "Mi", "Gi", "Ti", "Pi"};
    double v = bytes;
    int u = 0;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return u == 0 ? bytes + "B" : String.format(Locale.ROOT, "%.1f%s", v, units[u]);
  }
}
