package io.shoalfs.csi.core;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Pagination for ListVolumes and ListSnapshots. A token is the key of the last entry the previous page returned
 * (entries are sorted by key), so a page resumes correctly even if that entry was deleted in between, and the
 * driver keeps no per-listing state. Tokens are versioned and base64url-encoded so the CO treats them as opaque;
 * one this driver could not have made is {@link CsiError.InvalidToken} (ABORTED, per the spec).
 */
public final class Pages {
  private static final String VERSION = "p1.";

  /** One page and the token for the next one ("" when this page is the last). */
  public record Page<T>(List<T> items, String nextToken) {}

  private Pages() {}

  /**
   * @param sorted all entries, sorted by {@code key} (String order)
   * @param maxEntries 0 = no limit
   * @param token "" = from the start
   * @param validKey what a key in a token must look like (a token that names anything else was not ours)
   */
  public static <T> Page<T> page(List<T> sorted, Function<T, String> key, int maxEntries, String token,
      Predicate<String> validKey) throws CsiError {
    check(maxEntries, token, validKey);
    int start = 0;
    if (!token.isEmpty()) {
      String after = decode(token, validKey);
      while (start < sorted.size() && key.apply(sorted.get(start)).compareTo(after) <= 0) {
        start++;
      }
    }
    int end = maxEntries == 0 ? sorted.size() : (int) Math.min(sorted.size(), (long) start + maxEntries);
    String next = end < sorted.size() && end > start ? encode(key.apply(sorted.get(end - 1))) : "";
    return new Page<>(List.copyOf(sorted.subList(start, end)), next);
  }

  /** Checks a request before any work is done, so a bad one fails fast whatever the backend's state. */
  public static void check(int maxEntries, String token, Predicate<String> validKey) throws CsiError {
    if (maxEntries < 0) {
      throw new CsiError.InvalidArgument("max_entries must not be negative, got " + maxEntries);
    }
    if (!token.isEmpty()) {
      decode(token, validKey);
    }
  }

  static String encode(String key) {
    return VERSION + Base64.getUrlEncoder().withoutPadding().encodeToString(key.getBytes(StandardCharsets.UTF_8));
  }

  private static String decode(String token, Predicate<String> validKey) throws CsiError.InvalidToken {
    if (!token.startsWith(VERSION)) {
      throw new CsiError.InvalidToken("starting_token '" + token + "' was not made by this driver");
    }
    String key;
    try {
      key = new String(Base64.getUrlDecoder().decode(token.substring(VERSION.length())), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new CsiError.InvalidToken("starting_token '" + token + "' is damaged: " + e.getMessage());
    }
    if (!validKey.test(key)) {
      throw new CsiError.InvalidToken("starting_token '" + token + "' does not name a position of this listing");
    }
    return key;
  }
}
