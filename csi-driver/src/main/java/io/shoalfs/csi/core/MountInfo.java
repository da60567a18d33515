package io.shoalfs.csi.core;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * One line of {@code /proc/self/mountinfo}.
 *
 * @param device major:minor of the mounted filesystem; a bind mount shows the same device as its source
 * @param mountPoint where it is mounted
 * @param options per-mount options ({@code ro} or {@code rw} among them)
 * @param fsType e.g. {@code fuse.shoal} or {@code fuse}
 * @param source the mount source as the filesystem named it
 */
public record MountInfo(String device, Path mountPoint, Set<String> options, String fsType, String source) {
  public boolean readOnly() {
    return options.contains("ro");
  }

  public boolean isFuse() {
    return fsType.equals("fuse") || fsType.startsWith("fuse.");
  }

  /** Parses one mountinfo line; null if it is not in the documented format. */
  static MountInfo parse(String line) {
    String[] f = line.split(" ");
    int dash = List.of(f).indexOf("-");
    if (dash < 6 || dash + 2 >= f.length) {
      return null;
    }
    return new MountInfo(f[2], Path.of(unescape(f[4])), Set.of(f[5].split(",")), unescape(f[dash + 1]),
        unescape(f[dash + 2]));
  }

  /** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length()
          && s.substring(i + 1, i + 4).chars().allMatch(ch -> ch >= '0' && ch <= '7')) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
