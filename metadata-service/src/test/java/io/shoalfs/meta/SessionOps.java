package io.shoalfs.meta;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.proto.meta.CloseFileRequest;
import io.shoalfs.proto.meta.CloseSessionRequest;
import io.shoalfs.proto.meta.Lock;
import io.shoalfs.proto.meta.LockKind;
import io.shoalfs.proto.meta.LockType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.OpenFileRequest;
import io.shoalfs.proto.meta.OpenSessionRequest;
import io.shoalfs.proto.meta.ReleaseLocksRequest;
import io.shoalfs.proto.meta.RenewSessionRequest;
import io.shoalfs.proto.meta.SetLockRequest;

/** Raw session requests for tests: no renewal thread, so a test decides when a session stops renewing. */
final class SessionOps {
  static final long EOF = -1L;

  private SessionOps() {}

  static long open(MetaClient c, String name) throws MetaException {
    return c.call(MetaRequest.newBuilder().setOpenSession(OpenSessionRequest.newBuilder().setClientName(name))
        .build()).getSession().getSessionId();
  }

  static void renew(MetaClient c, long s) throws MetaException {
    c.call(MetaRequest.newBuilder().setRenewSession(RenewSessionRequest.newBuilder().setSessionId(s)).build());
  }

  static void close(MetaClient c, long s) throws MetaException {
    c.call(MetaRequest.newBuilder().setCloseSession(CloseSessionRequest.newBuilder().setSessionId(s)).build());
  }

  static void openFile(MetaClient c, long s, long ino) throws MetaException {
    c.call(MetaRequest.newBuilder().setOpenFile(OpenFileRequest.newBuilder().setSessionId(s).setIno(ino)).build());
  }

  static void closeFile(MetaClient c, long s, long ino) throws MetaException {
    c.call(MetaRequest.newBuilder().setCloseFile(CloseFileRequest.newBuilder().setSessionId(s).setIno(ino)).build());
  }

  static Lock lock(long session, long owner, LockKind kind, LockType type, long start, long end) {
    return Lock.newBuilder().setSessionId(session).setOwner(owner).setKind(kind).setType(type).setStart(start)
        .setEnd(end).setPid((int) owner).build();
  }

  static Lock flock(long session, long owner, LockType type) {
    return lock(session, owner, LockKind.FLOCK, type, 0, EOF);
  }

  static Lock posix(long session, long owner, LockType type, long start, long end) {
    return lock(session, owner, LockKind.POSIX, type, start, end);
  }

  /** set_lock; the raw reply (EAGAIN keeps its conflict). */
  static MetaReply set(MetaClient c, long ino, Lock l, boolean wait) throws MetaException {
    return c.callRaw(MetaRequest.newBuilder().setSetLock(SetLockRequest.newBuilder().setIno(ino).setLock(l)
        .setWait(wait)).build());
  }

  static void release(MetaClient c, long ino, long session, long owner, boolean flock) throws MetaException {
    c.call(MetaRequest.newBuilder().setReleaseLocks(ReleaseLocksRequest.newBuilder().setIno(ino)
        .setSessionId(session).setOwner(owner).setFlock(flock)).build());
  }
}
