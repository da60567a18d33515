#!/usr/bin/env python3
"""One lock client for the cross-mount lock tests. Prints one line per event, flushed.

  lockhelper.py hold KIND PATH   take an exclusive lock (blocking), print "locked", then on the stdin line
                                 "unlock" release it and print "unlocked"; exit on EOF (or when killed)
  lockhelper.py try KIND PATH    one non-blocking attempt: "granted" (released again at once) or
                                 "busy ERRNONAME"; exit 0 either way
  lockhelper.py wait KIND PATH   print "waiting", block until granted, print "granted MS" (ms waited), then hold
                                 until stdin EOF
  lockhelper.py getlk PATH       F_GETLK of the whole file: "unlocked" or "conflict TYPE"

KIND: flock (flock(2)), fcntl (POSIX record lock, F_SETLK/F_SETLKW), ofd (open file description lock,
F_OFD_SETLK/F_OFD_SETLKW). Any other error: "error ERRNONAME", exit 1.
"""
import errno
import fcntl
import os
import struct
import sys
import time

F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38


def flock_struct(ltype):
    # struct flock on Linux x86_64/aarch64: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid
    return struct.pack("@hhqqi4x", ltype, os.SEEK_SET, 0, 0, 0)


def lock(fd, kind, blocking):
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    elif kind == "fcntl":
        fcntl.fcntl(fd, fcntl.F_SETLKW if blocking else fcntl.F_SETLK, flock_struct(fcntl.F_WRLCK))
    elif kind == "ofd":
        fcntl.fcntl(fd, F_OFD_SETLKW if blocking else F_OFD_SETLK, flock_struct(fcntl.F_WRLCK))
    else:
        raise SystemExit(f"unknown lock kind {kind}")


def unlock(fd, kind):
    if kind == "flock":
        fcntl.flock(fd, fcntl.LOCK_UN)
    elif kind == "fcntl":
        fcntl.fcntl(fd, fcntl.F_SETLK, flock_struct(fcntl.F_UNLCK))
    else:
        fcntl.fcntl(fd, F_OFD_SETLK, flock_struct(fcntl.F_UNLCK))


def say(s):
    print(s, flush=True)


def main(argv):
    action = argv[0]
    if action == "getlk":
        fd = os.open(argv[1], os.O_RDWR | os.O_CREAT, 0o666)
        got = fcntl.fcntl(fd, fcntl.F_GETLK, flock_struct(fcntl.F_WRLCK))
        ltype = struct.unpack("@hhqqi4x", got)[0]
        say("unlocked" if ltype == fcntl.F_UNLCK else f"conflict {ltype}")
        return 0
    kind, path = argv[1], argv[2]
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        if action == "hold":
            lock(fd, kind, True)
            say("locked")
            for line in sys.stdin:
                if line.strip() == "unlock":
                    unlock(fd, kind)
                    say("unlocked")
            return 0
        if action == "try":
            try:
                lock(fd, kind, False)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    say(f"busy {errno.errorcode[e.errno]}")
                    return 0
                raise
            unlock(fd, kind)
            say("granted")
            return 0
        if action == "wait":
            say("waiting")
            t0 = time.monotonic()
            lock(fd, kind, True)
            say(f"granted {int((time.monotonic() - t0) * 1000)}")
            sys.stdin.read()
            return 0
        raise SystemExit(f"unknown action {action}")
    except OSError as e:
        say(f"error {errno.errorcode.get(e.errno, e.errno)}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
