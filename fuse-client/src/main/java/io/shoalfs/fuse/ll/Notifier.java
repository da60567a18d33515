package io.shoalfs.fuse.ll;

/**
 * Drops what the kernel caches for one inode or one name, because another client changed it. Calls return at
 * once: the binding sends the notifications from its own thread (libfuse forbids sending them from inside a
 * request or while holding a lock a request may need). An inode or name the kernel does not know is ignored.
 * The queue is bounded ({@code FuseSession.Config.notifyQueue}); only when it is full does a call wait, up to
 * 1 s, before the notification is dropped with a WARN line.
 */
public interface Notifier {
  /** Attributes of {@code ino} and, for {@code length} != 0, its cached pages from {@code offset} (length -1: to the end). */
  void invalidateInode(long ino, long offset, long length);

  /**
   * Like invalidateInode, but sent on the calling thread before it returns. Only for request callbacks that
   * libfuse lists as safe for it (not lookup, create, setattr, unlink, rename, readdir... of that inode or its
   * parent): e.g. a lock request, whose reply must not go out while stale pages are cached.
   */
  default void invalidateInodeNow(long ino, long offset, long length) {
    invalidateInode(ino, offset, length);
  }

  /** The kernel's entry {@code parent}/{@code name}. */
  void invalidateEntry(long parent, String name);

  /**
   * Makes the kernel look {@code parent}/{@code name} up again on its next use, without dropping the dentry
   * first (fuse_lowlevel_notify_expire_entry with FUSE_LL_EXPIRE_ONLY): a directory that is some process's
   * working directory stays reachable, where invalidateEntry would unhash it and make getcwd fail with ENOENT.
   * If the name now points elsewhere, the lookup replaces the dentry. Falls back to invalidateEntry on kernels
   * without expiry.
   */
  default void expireEntry(long parent, String name) {
    invalidateEntry(parent, name);
  }

  /** Like invalidateEntry, and tells the kernel that {@code child} under that name is gone (fuse_lowlevel_notify_delete). */
  void deleted(long parent, long child, String name);
}
