package io.shoalfs.fuse;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The Linux xattr form of a POSIX access ACL ({@code system.posix_acl_access}): a little-endian u32 version 2,
 * then entries of u16 tag, u16 permissions, u32 id. Only what the mode needs is read from it.
 */
record PosixAcl(int userObj, int groupObj, int mask, int other, boolean extended) {
  static final String ACCESS = "system.posix_acl_access";
  private static final int VERSION = 2;
  private static final int USER_OBJ = 0x01;
  private static final int USER = 0x02;
  private static final int GROUP_OBJ = 0x04;
  private static final int GROUP = 0x08;
  private static final int MASK = 0x10;
  private static final int OTHER = 0x20;
  private static final int ENTRY_BYTES = 8;

  /** The ACL in {@code value}, or null if it is not a well-formed access ACL. */
  static PosixAcl parse(byte[] value) {
    if (value == null || value.length < 4 || (value.length - 4) % ENTRY_BYTES != 0) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(value).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt() != VERSION) {
      return null;
    }
    int userObj = -1;
    int groupObj = -1;
    int mask = -1;
    int other = -1;
    boolean named = false;
    while (b.hasRemaining()) {
      int tag = b.getShort() & 0xffff;
      int perm = b.getShort() & 0x7;
      b.getInt();
      switch (tag) {
        case USER_OBJ -> userObj = perm;
        case GROUP_OBJ -> groupObj = perm;
        case MASK -> mask = perm;
        case OTHER -> other = perm;
        case USER, GROUP -> named = true;
        default -> {
          return null;
        }
      }
    }
    if (userObj < 0 || groupObj < 0 || other < 0 || (named && mask < 0)) {
      return null;
    }
    return new PosixAcl(userObj, groupObj, mask, other, named || mask >= 0);
  }

  /** The mode's permission bits this ACL sets: with a mask, the group bits are the mask (POSIX.1e). */
  int permissionBits() {
    return userObj << 6 | (mask >= 0 ? mask : groupObj) << 3 | other;
  }

  /** No named users or groups and no mask: the mode says it all, and Linux keeps no ACL. */
  boolean equivalentToMode() {
    return !extended;
  }
}
