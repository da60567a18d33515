package io.shoalfs.common.mount;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * One line of {@code /proc/self/mountinfo}: the one parser of the kernel's mount table that the FUSE client, the
 * CSI node plugin and {@code shoal local} share.
 *
 * @param device major:minor of the mounted filesystem; a bind mount shows the same device as its source
 * @param mountPoint where it is mounted
 * @param options per-mount options ({@code ro} or {@code rw} among them)
 * @param fsType e.g. {@code fuse.shoal} or {@code fuse}
 * @param source the mount source as the filesystem named it
 */
public record MountInfo(String device, Path mountPoint, Set<String> options, String fsType, String source) {
  private static final Path MOUNTINFO = Path.of("/proc/self/mountinfo");

  /** All current mounts of this process's mount namespace, in mount order. */
  public static List<MountInfo> readAll() throws IOException {
    List<MountInfo> out = new ArrayList<>();
    for (String line : Files.readAllLines(MOUNTINFO, StandardCharsets.UTF_8)) {
      MountInfo m = parse(line);
      if (m != null) {
        out.add(m);
      }
    }
    return out;
  }

  /** The top-most mount at exactly {@code path} (absolute, normalized), if any. */
  public static Optional<MountInfo> at(Path path) throws IOException {
    Path p = path.toAbsolutePath().normalize();
    MountInfo top = null;
    for (MountInfo m : readAll()) {
      if (m.mountPoint().equals(p)) {
        top = m;
      }
    }
    return Optional.ofNullable(top);
  }

  /** True if anything is mounted at {@code path}; false also when the table cannot be read. */
  public static boolean isMounted(Path path) {
    try {
      return at(path).isPresent();
    } catch (IOException e) {
      return false;
    }
  }

  /** True if a FUSE filesystem is the top-most mount at {@code path}; false also when the table cannot be read. */
  public static boolean hasFuseMount(Path path) {
    try {
      return at(path).filter(MountInfo::isFuse).isPresent();
    } catch (IOException e) {
      return false;
    }
  }

  public boolean readOnly() {
    return options.contains("ro");
  }

  public boolean isFuse() {
    return fsType.equals("fuse") || fsType.startsWith("fuse.");
  }

  /** Parses one mountinfo line; null if it is not in the documented format. */
  public static MountInfo parse(String line) {
    String[] f = line.split(" ");
    int dash = List.of(f).indexOf("-");
    if (dash < 6 || dash + 2 >= f.length) {
      return null;
    }
    return new MountInfo(f[2], Path.of(unescape(f[4])), Set.of(f[5].split(",")), unescape(f[dash + 1]),
        unescape(f[dash + 2]));
  }

  /** mountinfo writes space, tab, newline and backslash as \ooo octal escapes. */
  public static String unescape(String s) {
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
