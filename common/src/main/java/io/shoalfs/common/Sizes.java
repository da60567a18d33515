package io.shoalfs.common;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Byte sizes as users type them, the Kubernetes way: plain bytes, a binary suffix (Ki, Mi, Gi, Ti, Pi: powers
 * of 1024) or a decimal one (k or K, M, G, T, P: powers of 1000). So {@code 10G} is 10,000,000,000 bytes and
 * {@code 10Gi} is 10,737,418,240; a trailing "B" ("10GiB", "10GB") is accepted too.
 */
public final class Sizes {
  private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?B?");

  private Sizes() {}

  /** Parses "1048576", "512Mi", "10Gi", "10G". Throws IllegalArgumentException with a one-line reason. */
  public static long parse(String text) {
    if (text == null || text.isBlank()) {
      throw new IllegalArgumentException("empty size");
    }
    Matcher m = SIZE.matcher(text.trim());
    if (!m.matches()) {
      throw new IllegalArgumentException(
          "bad size '" + text + "': use bytes or a number with Ki, Mi, Gi, Ti, Pi (powers of 1024) or k, M, G, T, P"
              + " (powers of 1000), e.g. 10Gi or 10G");
    }
    long value;
    try {
      value = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size '" + text + "' is too large");
    }
    String unit = m.group(2) == null ? "" : m.group(2);
    long decimal = switch (unit) {
      case "k", "K" -> 1_000L;
      case "M" -> 1_000_000L;
      case "G" -> 1_000_000_000L;
      case "T" -> 1_000_000_000_000L;
      case "P" -> 1_000_000_000_000_000L;
      default -> 0;
    };
    if (decimal != 0) {
      if (value > Long.MAX_VALUE / decimal) {
        throw new IllegalArgumentException("size '" + text + "' is too large");
      }
      return value * decimal;
    }
    int shift = switch (unit) {
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
