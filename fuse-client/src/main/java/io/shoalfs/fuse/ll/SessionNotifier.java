package io.shoalfs.fuse.ll;

import com.kenai.jffi.MemoryIO;
import io.shoalfs.fuse.ll.jnr.Libfuse3;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The session's {@link Notifier}: a bounded queue drained by one thread that calls
 * fuse_lowlevel_notify_inval_inode / _inval_entry / _delete. libfuse forbids sending these from a request
 * callback (the kernel may wait for that very request before it can drop the inode), so no request thread ever
 * does.
 */
final class SessionNotifier implements Notifier {
  private static final Logger LOG = LoggerFactory.getLogger(SessionNotifier.class);
  private static final MemoryIO MEM = MemoryIO.getInstance();
  private static final int ENOENT = 2;
  /** How long a caller waits for room in a full queue before the notification is dropped (with a WARN). */
  private static final long OFFER_WAIT_MS = 1000;

  private sealed interface Note {}

  private record Inode(long ino, long offset, long length) implements Note {}

  private enum NameNote { INVALIDATE, EXPIRE, DELETE }

  private record Name(long parent, long child, byte[] name, NameNote kind) implements Note {}

  private static final int ENOSYS = 38;
  private static final int FUSE_LL_EXPIRE_ONLY = 1;
  /** Cleared when the kernel or libfuse cannot expire entries; invalidation is used instead. */
  private volatile boolean canExpire = true;

  private final long session;
  private final BlockingQueue<Note> queue;
  private final Thread thread;
  private final ByteBuffer nameBuf = ByteBuffer.allocateDirect(256 + 1);
  private final long nameAddr = MEM.getDirectBufferAddress(nameBuf);
  private final AtomicLong dropped = new AtomicLong();
  private volatile boolean running = true;

  SessionNotifier(long session, int capacity, String name) {
    this.session = session;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.thread = new Thread(this::drain, "fuse-notify-" + name);
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void invalidateInode(long ino, long offset, long length) {
    enqueue(new Inode(ino, offset, length));
  }

  @Override
  public void invalidateInodeNow(long ino, long offset, long length) {
    if (running) {
      send(new Inode(ino, offset, length)); // inode notes use no shared buffer, so any thread may send them
    }
  }

  @Override
  public void invalidateEntry(long parent, String name) {
    enqueue(new Name(parent, 0, name.getBytes(StandardCharsets.UTF_8), NameNote.INVALIDATE));
  }

  @Override
  public void expireEntry(long parent, String name) {
    enqueue(new Name(parent, 0, name.getBytes(StandardCharsets.UTF_8), NameNote.EXPIRE));
  }

  @Override
  public void deleted(long parent, long child, String name) {
    enqueue(new Name(parent, child, name.getBytes(StandardCharsets.UTF_8), NameNote.DELETE));
  }

  /** Notifications queued and not sent yet. */
  int pending() {
    return queue.size();
  }

  private void enqueue(Note n) {
    if (!running) {
      return;
    }
    if (n instanceof Name nm && nm.name.length > 255) {
      return; // the kernel cannot hold such a name, so there is nothing to drop
    }
    try {
      if (!queue.offer(n, OFFER_WAIT_MS, TimeUnit.MILLISECONDS)) {
        LOG.warn("FUSE notification queue full ({} pending); dropped {} ({} dropped so far)", queue.size(), n,
            dropped.incrementAndGet());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void drain() {
    while (running) {
      Note n;
      try {
        n = queue.poll(200, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        break;
      }
      if (n != null && running) {
        send(n);
      }
    }
  }

  private void send(Note n) {
    int rc;
    if (n instanceof Inode i) {
      // The contract's length -1 means "to the end"; libfuse's is 0 for that (and len 0 in the contract: no pages).
      long off = i.length == 0 ? -1 : i.offset;
      long len = i.length < 0 ? 0 : i.length;
      rc = Libfuse3.LIB.fuse_lowlevel_notify_inval_inode(session, i.ino, off, len);
    } else {
      Name nm = (Name) n;
      MEM.putByteArray(nameAddr, nm.name, 0, nm.name.length);
      MEM.putByte(nameAddr + nm.name.length, (byte) 0);
      rc = switch (nm.kind) {
        case DELETE -> Libfuse3.LIB.fuse_lowlevel_notify_delete(session, nm.parent, nm.child, nameAddr,
            nm.name.length);
        case EXPIRE -> expire(nm);
        case INVALIDATE -> Libfuse3.LIB.fuse_lowlevel_notify_inval_entry(session, nm.parent, nameAddr,
            nm.name.length);
      };
    }
    // ENOENT: the kernel does not have that inode or name cached, which is what we wanted anyway.
    if (rc != 0 && rc != -ENOENT) {
      LOG.debug("FUSE notification {} answered {}", n, rc);
    }
  }

  private int expire(Name nm) {
    if (canExpire) {
      int rc = Libfuse3.LIB.fuse_lowlevel_notify_expire_entry(session, nm.parent, nameAddr, nm.name.length,
          FUSE_LL_EXPIRE_ONLY);
      if (rc != -ENOSYS && rc != -22) {
        return rc;
      }
      LOG.info("the kernel cannot expire FUSE entries ({}); invalidating them instead", rc);
      canExpire = false;
    }
    return Libfuse3.LIB.fuse_lowlevel_notify_inval_entry(session, nm.parent, nameAddr, nm.name.length);
  }

  /** Stops the thread (bounded wait); queued notifications are dropped: the session is going away. */
  boolean stop(long waitMs) {
    running = false;
    thread.interrupt();
    try {
      thread.join(waitMs);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    queue.clear();
    return !thread.isAlive();
  }
}
