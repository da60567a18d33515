package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Code;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/** Rules for names: directory entries (POSIX) and subvolumes / daemons (a safe, printable subset). */
public final class Names {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private Names() {}

  /** A directory entry name: not empty, not "." or "..", no '/' or NUL, at most NAME_MAX bytes of UTF-8. */
  public static void checkEntry(String name) throws FsError {
    if (name.isEmpty() || name.equals(".") || name.equals("..")) {
      throw FsError.of(Code.EINVAL, "invalid name '%s'", name);
    }
    if (name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
      throw FsError.of(Code.EINVAL, "name contains '/' or NUL");
    }
    if (name.getBytes(StandardCharsets.UTF_8).length > Layout.NAME_MAX) {
      throw FsError.of(Code.ENAMETOOLONG, "name longer than %d bytes", Layout.NAME_MAX);
    }
  }

  /** A subvolume or daemon id: [A-Za-z0-9._-]{1,128}, and not "." or "..". */
  public static void checkSafe(String what, String name) throws FsError {
    if (!SAFE.matcher(name).matches() || name.equals(".") || name.equals("..")) {
      throw FsError.of(Code.EINVAL, "invalid %s name '%s': expected [A-Za-z0-9._-]{1,128}", what, name);
    }
  }
}
