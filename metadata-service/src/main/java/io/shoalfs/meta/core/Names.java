package io.shoalfs.meta.core;

import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Code;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Rules for names: directory entries (POSIX) and subvolumes / daemons (a safe, printable subset).
 *
 * <p>"." and ".." give the errno Linux gives for that call (the VFS answers before any filesystem is asked, so
 * a FUSE client never sends them; non-FUSE clients get the same answers): mkdir, mknod, symlink, link and
 * exclusive create EEXIST; unlink EISDIR; rmdir EINVAL for "." and ENOTEMPTY for ".."; rename EBUSY (EEXIST
 * for the target with RENAME_NOREPLACE); lookup EINVAL.
 */
public final class Names {
  private static final Pattern SAFE = Pattern.compile("[A-Za-z0-9._-]{1,128}");

  private Names() {}

  /** A directory entry name: not empty, not "." or "..", no '/' or NUL, at most NAME_MAX bytes of UTF-8. */
  public static void checkEntry(String name) throws FsError {
    checkEntry(name, Code.EINVAL, Code.EINVAL);
  }

  /** As {@link #checkEntry(String)}, but "." and ".." fail with {@code dot} and {@code dotDot}. */
  public static void checkEntry(String name, Code dot, Code dotDot) throws FsError {
    if (name.equals(".")) {
      throw FsError.of(dot, "'.' is not allowed here");
    }
    if (name.equals("..")) {
      throw FsError.of(dotDot, "'..' is not allowed here");
    }
    if (name.isEmpty()) {
      throw FsError.of(Code.EINVAL, "empty name");
    }
    if (name.indexOf('/') >= 0 || name.indexOf('\0') >= 0) {
      throw FsError.of(Code.EINVAL, "name contains '/' or NUL");
    }
    if (utf8Length(name) > Layout.NAME_MAX) {
      throw FsError.of(Code.ENAMETOOLONG, "name longer than %d bytes", Layout.NAME_MAX);
    }
  }

  /** The name of a new entry (mkdir, mknod, symlink, link, exclusive create): "." and ".." exist: EEXIST. */
  public static void checkNew(String name) throws FsError {
    checkEntry(name, Code.EEXIST, Code.EEXIST);
  }

  /** UTF-8 length without allocating the encoded bytes. */
  static int utf8Length(String s) {
    int n = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        n += 1; // an unpaired surrogate: String.getBytes(UTF_8) and protobuf both write '?'
      } else {
        n += 3;
      }
    }
    return n;
  }

  /** A subvolume or daemon id: [A-Za-z0-9._-]{1,128}, and not "." or "..". */
  public static void checkSafe(String what, String name) throws FsError {
    if (!SAFE.matcher(name).matches() || name.equals(".") || name.equals("..")) {
      throw FsError.of(Code.EINVAL, "invalid %s name '%s': expected [A-Za-z0-9._-]{1,128}", what, name);
    }
  }
}
