package io.shoalfs.fuse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Reads the kernel's mount table (/proc/self/mountinfo) to tell whether a FUSE mount sits on a path. */
final class MountTable {
  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

  private MountTable() {}

  /** True if the kernel lists a FUSE filesystem (type fuse or fuse.*) mounted exactly at {@code path}. */
  static boolean hasFuseMount(Path path) {
    String want = path.toAbsolutePath().normalize().toString();
    List<String> lines;
    try {
      lines = Files.readAllLines(MOUNTINFO);
    } catch (IOException e) {
      return false;
    }
    for (String line : lines) {
      // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
      String[] f = line.split(" ");
      int dash = line.indexOf(" - ");
      if (f.length < 5 || dash < 0) {
        continue;
      }
      String fsType = line.substring(dash + 3).split(" ", 2)[0];
      if ((fsType.equals("fuse") || fsType.startsWith("fuse.")) && unescape(f[4]).equals(want)) {
        return true;
      }
    }
    return false;
  }

  /** mountinfo writes space, tab, newline and backslash as 3-digit octal escapes. */
  static String unescape(String s) {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder b = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && isOctal(s, i + 1)) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}
