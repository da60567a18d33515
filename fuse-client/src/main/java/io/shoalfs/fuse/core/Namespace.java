package io.shoalfs.fuse.core;

import com.google.protobuf.ByteString;
import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.CloseFileRequest;
import io.shoalfs.proto.meta.CreateRequest;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.GetXattrRequest;
import io.shoalfs.proto.meta.LinkRequest;
import io.shoalfs.proto.meta.ListXattrRequest;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.MkdirRequest;
import io.shoalfs.proto.meta.MknodRequest;
import io.shoalfs.proto.meta.OpenFileRequest;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.ReadLinkRequest;
import io.shoalfs.proto.meta.RemoveXattrRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.SetXattrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.SymlinkRequest;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The namespace by Shoal inode numbers: names, attributes, links, xattrs, over the metadata service. It knows
 * nothing of the kernel (node ids, lookup counts, caching) nor of open files; it holds no state and no lock,
 * so every call is one remote call (the metadata service orders concurrent changes).
 *
 * <p>Names are checked here before any remote call: empty, "." and ".." are EINVAL (the kernel resolves those
 * itself and never sends them for a change), more than {@link Layout#NAME_MAX} bytes is ENAMETOOLONG.
 */
public final class Namespace {
  /** st_mode file type bits (S_IFMT and the types), as Linux defines them. */
  public static final int S_IFMT = 0170000;
  public static final int S_IFSOCK = 0140000;
  public static final int S_IFLNK = 0120000;
  public static final int S_IFREG = 0100000;
  public static final int S_IFBLK = 0060000;
  public static final int S_IFDIR = 0040000;
  public static final int S_IFCHR = 0020000;
  public static final int S_IFIFO = 0010000;

  private final MetaClient meta;

  public Namespace(MetaClient meta) {
    this.meta = meta;
  }

  public Attr lookup(long parent, String name) throws MetaException, FsException {
    checkName(name);
    return meta.lookup(parent, name);
  }

  public Attr getAttr(long ino) throws MetaException {
    return meta.getAttr(ino);
  }

  /** One page of entries after {@code after} ("" from the start); the service sorts by name. */
  public ReadDirReply readDir(long ino, String after, int limit) throws MetaException {
    return meta.readDir(ino, after, limit);
  }

  public Attr mkdir(long parent, String name, int mode, int uid, int gid) throws MetaException, FsException {
    checkName(name);
    return call(MetaRequest.newBuilder().setMkdir(MkdirRequest.newBuilder().setParent(parent).setName(name)
        .setMode(mode & 07777).setUid(uid).setGid(gid))).getAttr();
  }

  /**
   * A regular file (O_CREAT): {@code exclusive} (O_EXCL) fails with EEXIST on an existing name, otherwise an
   * existing regular file is returned. {@code openSession} non-zero counts one open of the file by that session.
   */
  public Attr create(long parent, String name, int mode, int uid, int gid, boolean exclusive, long openSession)
      throws MetaException, FsException {
    checkName(name);
    return call(MetaRequest.newBuilder().setCreate(CreateRequest.newBuilder().setParent(parent).setName(name)
        .setMode(mode & 07777).setUid(uid).setGid(gid).setExclusive(exclusive).setOpenSession(openSession)))
        .getAttr();
  }

  /** mknod(2): {@code mode} carries the type bits (S_IFIFO, ...); a regular file is an empty create. */
  public Attr mknod(long parent, String name, int mode, long rdev, int uid, int gid)
      throws MetaException, FsException {
    checkName(name);
    FileType type = typeOf(mode);
    if (type == FileType.DIRECTORY || type == FileType.SYMLINK || type == FileType.FILE_TYPE_UNSPECIFIED) {
      throw new FsException(Errno.EINVAL, "mknod of file type " + Integer.toOctalString(mode & S_IFMT));
    }
    if (type == FileType.REGULAR) {
      return create(parent, name, mode, uid, gid, true, 0);
    }
    boolean device = type == FileType.CHAR_DEVICE || type == FileType.BLOCK_DEVICE;
    return call(MetaRequest.newBuilder().setMknod(MknodRequest.newBuilder().setParent(parent).setName(name)
        .setType(type).setMode(mode & 07777).setUid(uid).setGid(gid).setRdev(device ? rdev : 0))).getAttr();
  }

  public Attr symlink(long parent, String name, byte[] target, int uid, int gid) throws MetaException, FsException {
    checkName(name);
    if (target.length == 0) {
      throw new FsException(Errno.ENOENT, "empty symlink target");
    }
    return call(MetaRequest.newBuilder().setSymlink(SymlinkRequest.newBuilder().setParent(parent).setName(name)
        .setTarget(ByteString.copyFrom(target)).setUid(uid).setGid(gid))).getAttr();
  }

  public byte[] readLink(long ino) throws MetaException {
    return call(MetaRequest.newBuilder().setReadLink(ReadLinkRequest.newBuilder().setIno(ino)))
        .getLinkTarget().toByteArray();
  }

  public Attr link(long ino, long newParent, String newName) throws MetaException, FsException {
    checkName(newName);
    return call(MetaRequest.newBuilder().setLink(LinkRequest.newBuilder().setIno(ino).setNewParent(newParent)
        .setNewName(newName))).getAttr();
  }

  /** @param callerUid the caller's fsuid, for the sticky-directory rule (the service answers EPERM) */
  public void unlink(long parent, String name, int callerUid) throws MetaException, FsException {
    checkName(name);
    meta.unlink(parent, name, callerUid);
  }

  public void rmdir(long parent, String name, int callerUid) throws MetaException, FsException {
    checkName(name);
    meta.rmdir(parent, name, callerUid);
  }

  /** renameat2: flags RENAME_NOREPLACE 1, RENAME_EXCHANGE 2 (both at once: EINVAL, as Linux says). */
  public void rename(long parent, String name, long newParent, String newName, int flags, int callerUid)
      throws MetaException, FsException {
    checkName(name);
    checkName(newName);
    if ((flags & ~3) != 0 || flags == 3) {
      throw new FsException(Errno.EINVAL, "rename flags " + flags);
    }
    meta.rename(parent, name, newParent, newName, flags, callerUid);
  }

  /** Changes only what the request sets (size changes go through the open-file layer, not here). */
  public Attr setAttr(SetAttrRequest request) throws MetaException {
    return meta.setAttr(request);
  }

  public StatFsReply statFs(long rootIno) throws MetaException {
    return meta.statFs(rootIno);
  }

  public void setXattr(long ino, String name, byte[] value, int flags) throws MetaException {
    call(MetaRequest.newBuilder().setSetXattr(SetXattrRequest.newBuilder().setIno(ino).setName(name)
        .setValue(ByteString.copyFrom(value)).setFlags(flags)));
  }

  public byte[] getXattr(long ino, String name) throws MetaException {
    return call(MetaRequest.newBuilder().setGetXattr(GetXattrRequest.newBuilder().setIno(ino).setName(name)))
        .getXattrValue().toByteArray();
  }

  public List<String> listXattr(long ino) throws MetaException {
    return call(MetaRequest.newBuilder().setListXattr(ListXattrRequest.newBuilder().setIno(ino)))
        .getXattrNames().getNamesList();
  }

  public void removeXattr(long ino, String name) throws MetaException {
    call(MetaRequest.newBuilder().setRemoveXattr(RemoveXattrRequest.newBuilder().setIno(ino).setName(name)));
  }

  /** open(2) of an existing inode by {@code session}: one more open of it there, and fresh attributes. */
  public Attr openFile(long session, long ino, int flags) throws MetaException {
    return call(MetaRequest.newBuilder().setOpenFile(
        OpenFileRequest.newBuilder().setSessionId(session).setIno(ino).setFlags(flags))).getAttr();
  }

  /** The last close of one open by {@code session}; an unlinked inode whose last open this was goes. */
  public void closeFile(long session, long ino) throws MetaException {
    call(MetaRequest.newBuilder().setCloseFile(CloseFileRequest.newBuilder().setSessionId(session).setIno(ino)));
  }

  private io.shoalfs.proto.meta.MetaReply call(MetaRequest.Builder b) throws MetaException {
    return meta.call(b.build());
  }

  /** The st_mode of an attribute: type bits and permission bits. */
  public static int modeOf(Attr a) {
    return typeBits(a.getType()) | (a.getMode() & 07777);
  }

  public static int typeBits(FileType t) {
    return switch (t) {
      case DIRECTORY -> S_IFDIR;
      case SYMLINK -> S_IFLNK;
      case FIFO -> S_IFIFO;
      case SOCKET -> S_IFSOCK;
      case CHAR_DEVICE -> S_IFCHR;
      case BLOCK_DEVICE -> S_IFBLK;
      default -> S_IFREG;
    };
  }

  public static FileType typeOf(int mode) {
    return switch (mode & S_IFMT) {
      case S_IFREG, 0 -> FileType.REGULAR;
      case S_IFDIR -> FileType.DIRECTORY;
      case S_IFLNK -> FileType.SYMLINK;
      case S_IFIFO -> FileType.FIFO;
      case S_IFSOCK -> FileType.SOCKET;
      case S_IFCHR -> FileType.CHAR_DEVICE;
      case S_IFBLK -> FileType.BLOCK_DEVICE;
      default -> FileType.FILE_TYPE_UNSPECIFIED;
    };
  }

  /** Rejects what no metadata call should see; the limit is on bytes, as the kernel counts it. */
  public static void checkName(String name) throws FsException {
    if (name.isEmpty() || name.equals(".") || name.equals("..") || name.indexOf('/') >= 0) {
      throw new FsException(Errno.EINVAL, "not a name: '" + name + "'");
    }
    if (name.length() > Layout.NAME_MAX / 4
        && name.getBytes(StandardCharsets.UTF_8).length > Layout.NAME_MAX) {
      throw new FsException(Errno.ENAMETOOLONG, "name longer than " + Layout.NAME_MAX + " bytes");
    }
  }
}
