package io.shoalfs.meta.core;

import com.google.protobuf.ByteString;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.meta.store.XattrKey;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.GetXattrRequest;
import io.shoalfs.proto.meta.ListXattrRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.RemoveXattrRequest;
import io.shoalfs.proto.meta.SetXattrRequest;
import io.shoalfs.proto.meta.XattrNames;
import io.shoalfs.proto.records.InodeRecord;

/**
 * Extended attributes (set/get/list/remove), with Linux's limits and errno, checked in the order the kernel's
 * setxattr path checks them:
 * <ul>
 *   <li>name: 1..{@value #NAME_MAX} bytes, else ERANGE; value at most {@value #VALUE_MAX} bytes, else E2BIG;</li>
 *   <li>namespace: "user.", "trusted.", "security." with a non-empty rest, or one of the POSIX ACL names
 *       "system.posix_acl_access" / "system.posix_acl_default" (stored as given: the kernel encodes ACLs);
 *       any other name EOPNOTSUPP, a bare prefix EINVAL;</li>
 *   <li>user.* only on regular files and directories: set/remove EPERM, get ENODATA elsewhere (as
 *       xattr_permission);</li>
 *   <li>flags: XATTR_CREATE (1) EEXIST if present, XATTR_REPLACE (2) ENODATA if absent, both EINVAL, others
 *       EINVAL;</li>
 *   <li>get/remove of an absent name ENODATA; the list of names (each with its NUL) must stay within
 *       {@value #LIST_MAX} bytes: a set that would pass it is E2BIG (so listxattr can always answer).</li>
 * </ul>
 * Set and remove set ctime and bump the version. The trusted.* capability check is the kernel's (it runs before
 * a FUSE filesystem is asked). Attributes live in the xattrs table and go with the inode.
 */
final class Xattrs {
  static final int NAME_MAX = 255;
  static final int VALUE_MAX = 65_536;
  static final int LIST_MAX = 65_536;
  static final int XATTR_CREATE = 1;
  static final int XATTR_REPLACE = 2;
  private static final String[] PREFIXES = {"user.", "trusted.", "security."};
  private static final String ACL_ACCESS = "system.posix_acl_access";
  private static final String ACL_DEFAULT = "system.posix_acl_default";

  private Xattrs() {}

  static MetaReply set(Tx tx, WriteContext ctx, SetXattrRequest r) throws FsError {
    checkName(r.getName());
    if (r.getValue().size() > VALUE_MAX) {
      throw FsError.of(Code.E2BIG, "xattr value of %d bytes is over %d", r.getValue().size(), VALUE_MAX);
    }
    checkNamespace(r.getName());
    int flags = r.getFlags();
    if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0 || flags == (XATTR_CREATE | XATTR_REPLACE)) {
      throw FsError.of(Code.EINVAL, "xattr flags %d", flags);
    }
    InodeRecord inode = Inodes.require(tx, r.getIno());
    checkUserWritable(inode, r.getName());
    XattrKey key = new XattrKey(r.getIno(), r.getName());
    byte[] old = tx.get(MetaTables.XATTRS, key);
    if (old != null && (flags & XATTR_CREATE) != 0) {
      throw FsError.of(Code.EEXIST, "xattr '%s' exists", r.getName());
    }
    if (old == null && (flags & XATTR_REPLACE) != 0) {
      throw FsError.of(Code.ENODATA, "no xattr '%s'", r.getName());
    }
    if (old == null) {
      long listBytes = listBytes(tx, r.getIno()) + Names.utf8Length(r.getName()) + 1;
      if (listBytes > LIST_MAX) {
        throw FsError.of(Code.E2BIG, "the names of the xattrs would take %d bytes, over %d", listBytes, LIST_MAX);
      }
    }
    tx.put(MetaTables.XATTRS, key, r.getValue().toByteArray());
    tx.put(MetaTables.INODES, r.getIno(), Inodes.changed(inode, ctx.nowNs()).build());
    return Inodes.empty();
  }

  static MetaReply remove(Tx tx, WriteContext ctx, RemoveXattrRequest r) throws FsError {
    checkName(r.getName());
    checkNamespace(r.getName());
    InodeRecord inode = Inodes.require(tx, r.getIno());
    checkUserWritable(inode, r.getName());
    XattrKey key = new XattrKey(r.getIno(), r.getName());
    if (tx.get(MetaTables.XATTRS, key) == null) {
      throw FsError.of(Code.ENODATA, "no xattr '%s'", r.getName());
    }
    tx.delete(MetaTables.XATTRS, key);
    tx.put(MetaTables.INODES, r.getIno(), Inodes.changed(inode, ctx.nowNs()).build());
    return Inodes.empty();
  }

  static MetaReply get(Tx tx, GetXattrRequest r) throws FsError {
    checkName(r.getName());
    checkNamespace(r.getName());
    InodeRecord inode = Inodes.require(tx, r.getIno());
    byte[] v = isUser(r.getName()) && !userAllowed(inode) ? null : tx.get(MetaTables.XATTRS,
        new XattrKey(r.getIno(), r.getName()));
    if (v == null) {
      throw FsError.of(Code.ENODATA, "no xattr '%s'", r.getName());
    }
    return MetaReply.newBuilder().setXattrValue(ByteString.copyFrom(v)).build();
  }

  static MetaReply list(Tx tx, ListXattrRequest r) throws FsError {
    Inodes.require(tx, r.getIno());
    XattrNames.Builder out = XattrNames.newBuilder();
    tx.scan(MetaTables.XATTRS, XattrKey.prefix(r.getIno()), null, (k, v) -> {
      out.addNames(k.name());
      return true;
    });
    return MetaReply.newBuilder().setXattrNames(out).build();
  }

  private static long listBytes(Tx tx, long ino) {
    long[] n = {0};
    tx.scan(MetaTables.XATTRS, XattrKey.prefix(ino), null, (k, v) -> {
      n[0] += Names.utf8Length(k.name()) + 1;
      return true;
    });
    return n[0];
  }

  private static void checkName(String name) throws FsError {
    int n = Names.utf8Length(name);
    if (n == 0 || n > NAME_MAX) {
      throw FsError.of(Code.ERANGE, "xattr name of %d bytes, expected 1..%d", n, NAME_MAX);
    }
    if (name.indexOf('\0') >= 0) {
      throw FsError.of(Code.EINVAL, "xattr name contains NUL");
    }
  }

  private static void checkNamespace(String name) throws FsError {
    if (name.equals(ACL_ACCESS) || name.equals(ACL_DEFAULT)) {
      return;
    }
    for (String p : PREFIXES) {
      if (name.startsWith(p)) {
        if (name.length() == p.length()) {
          throw FsError.of(Code.EINVAL, "xattr name '%s' has nothing after its namespace", name);
        }
        return;
      }
    }
    throw FsError.of(Code.EOPNOTSUPP, "xattr namespace of '%s' is not supported", name);
  }

  private static boolean isUser(String name) {
    return name.startsWith("user.");
  }

  private static boolean userAllowed(InodeRecord inode) {
    return inode.getType() == FileType.REGULAR_VALUE || inode.getType() == FileType.DIRECTORY_VALUE;
  }

  private static void checkUserWritable(InodeRecord inode, String name) throws FsError {
    if (isUser(name) && !userAllowed(inode)) {
      throw FsError.of(Code.EPERM, "user.* xattrs only on regular files and directories");
    }
  }
}
