#!/usr/bin/env python3
"""Shoal's own POSIX conformance suite, written from POSIX.1-2017 and the Linux man pages (section 2).

Usage:
  posix_suite.py DIR                 run every case that applies to the caller (root or not) under DIR
  posix_suite.py --prepare-user DIR  (as root) make DIR world-writable and put the root-owned fixtures the
                                     unprivileged run needs in DIR/.fixtures; then run the suite as the user
  posix_suite.py --list DIR          print the case names that would run
  -k SUBSTRING                       only cases whose name contains SUBSTRING (repeatable)

Each case runs in a fresh subdirectory of DIR (it is the current directory while the case runs, so paths in
cases are relative and AF_UNIX socket names stay short) so that one failure does not cascade. One line per
case ("PASS name" or "FAIL name: why"), then "N passed, N failed"; exit status 1 if any case failed.

Timestamps: a call that must change a time is checked by comparing stat before and after with a sleep of
TICK in between (above the kernel's coarse clock granularity of one jiffy, 1-10 ms).
"""
import ast
import ctypes
import ctypes.util
import errno
import fcntl
import os
import socket
import stat
import sys
import time
import traceback

TICK = 0.03
OTHER_UID, OTHER_GID = 4001, 4001      # "another user" for root-mode cases (need not exist in /etc/passwd)
THIRD_UID, THIRD_GID = 4002, 4002
FIXTURE_GID = 4321                     # group of the setgid fixture dir; the unprivileged user is not in it
NAME_MAX = 255
XATTR_SIZE_MAX = 65536
XATTR_NAME_MAX = 255

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
UTIME_NOW = (1 << 30) - 1
UTIME_OMIT = (1 << 30) - 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2
XATTR_CREATE = getattr(os, "XATTR_CREATE", 1)
XATTR_REPLACE = getattr(os, "XATTR_REPLACE", 2)


class Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
libc.utimensat.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.POINTER(Timespec), ctypes.c_int]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.getxattr.restype = ctypes.c_ssize_t
libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
libc.listxattr.restype = ctypes.c_ssize_t


def _check(ret, what):
    if ret < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), what)
    return ret


def renameat2(old, new, flags):
    _check(libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags), f"renameat2 {old} {new}")


def utimensat(path, atime, mtime, nofollow=False):
    """atime/mtime: (sec, nsec) or UTIME_NOW / UTIME_OMIT."""
    def ts(t):
        return Timespec(0, t) if isinstance(t, int) else Timespec(t[0], t[1])
    arr = (Timespec * 2)(ts(atime), ts(mtime))
    _check(libc.utimensat(AT_FDCWD, os.fsencode(path), arr, AT_SYMLINK_NOFOLLOW if nofollow else 0),
           f"utimensat {path}")


def fallocate(fd, mode, off, length):
    _check(libc.fallocate(fd, mode, off, length), "fallocate")


def getxattr_buf(path, name, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    n = _check(libc.getxattr(os.fsencode(path), os.fsencode(name), buf if size else None, size), "getxattr")
    return n, buf.raw[:n] if size else b""


def listxattr_buf(path, size):
    buf = ctypes.create_string_buffer(max(size, 1))
    return _check(libc.listxattr(os.fsencode(path), buf if size else None, size), "listxattr")


# ---------------------------------------------------------------------------------------------- framework

class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def eq(got, want, what):
    if got != want:
        raise Fail(f"{what}: got {got!r}, want {want!r}")


def expect_errno(errnos, fn, *args, **kw):
    """fn(*args) must fail with one of errnos (an int or a tuple)."""
    if isinstance(errnos, int):
        errnos = (errnos,)
    try:
        fn(*args, **kw)
    except OSError as e:
        if e.errno not in errnos:
            raise Fail(f"{getattr(fn, '__name__', fn)}{args!r}: errno {errno.errorcode.get(e.errno, e.errno)}, "
                       f"want {'/'.join(errno.errorcode[x] for x in errnos)}")
        return
    raise Fail(f"{getattr(fn, '__name__', fn)}{args!r} succeeded, want "
               f"{'/'.join(errno.errorcode[x] for x in errnos)}")


def tick():
    time.sleep(TICK)


def ns(st, which):
    return getattr(st, f"st_{which}time_ns")


def changed(before, after, whiches, what):
    for w in whiches:
        check(ns(after, w) > ns(before, w), f"{what}: {w}time did not change ({ns(before, w)} -> {ns(after, w)})")


def unchanged(before, after, whiches, what):
    for w in whiches:
        check(ns(after, w) == ns(before, w), f"{what}: {w}time changed ({ns(before, w)} -> {ns(after, w)})")


def write_file(path, data=b"", mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def listing(path="."):
    return sorted(os.listdir(path))


def snapshot(path="."):
    """Names and (ino, mode, nlink, size, mtime, ctime) of a directory's entries and the directory itself."""
    out = {".": _st_key(os.lstat(path))}
    for n in os.listdir(path):
        out[n] = _st_key(os.lstat(os.path.join(path, n)))
    return out


def _st_key(st):
    return (st.st_ino, st.st_mode, st.st_nlink, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_uid, st.st_gid)


def as_user(uid, gid, fn, groups=()):
    """Runs fn in a forked child with the given ids; returns ('ok', value) or ('errno', n) or ('exc', text)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        out = ("exc", "child did not finish")
        try:
            os.close(r)
            os.setgroups(list(groups))
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            try:
                out = ("ok", fn())
            except OSError as e:
                out = ("errno", e.errno)
            except BaseException as e:  # noqa: BLE001 - reported to the parent
                out = ("exc", f"{type(e).__name__}: {e}")
            os.write(w, repr(out).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return ast.literal_eval(data.decode()) if data else ("exc", "no result from child")


def user_errno(uid, gid, fn, groups=()):
    """0 if fn succeeded as that user, else the errno (an unexpected exception fails the case)."""
    kind, val = as_user(uid, gid, fn, groups)
    if kind == "exc":
        raise Fail(f"child raised {val}")
    return 0 if kind == "ok" else val


def user_expect(want, uid, gid, fn, what, groups=()):
    got = user_errno(uid, gid, fn, groups)
    wants = want if isinstance(want, tuple) else (want,)
    if got not in wants:
        raise Fail(f"{what} as uid {uid}: got {errno.errorcode.get(got, 'success') if got else 'success'}, want "
                   f"{'/'.join(errno.errorcode.get(x, 'success') if x else 'success' for x in wants)}")


IS_ROOT = os.geteuid() == 0
CASES = []  # (name, fn, who) who: "any" | "root" | "user"


def case(name, who="any"):
    def deco(fn):
        CASES.append((name, fn, who))
        return fn
    return deco


# ---------------------------------------------------------------------------------------------- file types

TYPES = ["reg", "dir", "symlink", "fifo", "socket", "chr", "blk"]
ROOT_TYPES = {"chr", "blk"}
S_IFMT_OF = {"reg": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK, "fifo": stat.S_IFIFO,
             "socket": stat.S_IFSOCK, "chr": stat.S_IFCHR, "blk": stat.S_IFBLK}
RDEV = {"chr": os.makedev(1, 3), "blk": os.makedev(7, 200)}


def make(t, name):
    """Creates an object of type t at name (a relative path); symlinks point at 'target-of-NAME', a file."""
    if t == "reg":
        write_file(name, b"data")
    elif t == "dir":
        os.mkdir(name, 0o755)
    elif t == "symlink":
        tgt = "target-of-" + os.path.basename(name)
        write_file(os.path.join(os.path.dirname(name), tgt), b"target")
        os.symlink(tgt, name)
    elif t == "fifo":
        os.mkfifo(name, 0o644)
    elif t == "socket":
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.bind(name)
        finally:
            s.close()
    elif t in ("chr", "blk"):
        os.mknod(name, S_IFMT_OF[t] | 0o600, RDEV[t])
    else:
        raise ValueError(t)


def check_type(path, t, what):
    st = os.lstat(path)
    eq(stat.S_IFMT(st.st_mode), S_IFMT_OF[t], f"{what}: file type of {path}")
    if t in RDEV:
        eq(st.st_rdev, RDEV[t], f"{what}: st_rdev of {path}")
    if t == "symlink":
        eq(os.readlink(path), "target-of-" + "obj", f"{what}: symlink target of {path}")


def type_cases():
    for t in TYPES:
        who = "root" if t in ROOT_TYPES else "any"

        def creates(t=t):
            tick()
            before = os.stat(".")
            make(t, "obj")
            after = os.stat(".")
            check_type("obj", t, "create")
            changed(before, after, "mc", "parent after creating a " + t)
            st = os.lstat("obj")
            eq(st.st_uid, os.geteuid(), "owner of the new " + t)
            eq(st.st_gid, os.getegid(), "group of the new " + t)
            eq(st.st_nlink, 2 if t == "dir" else 1, "nlink of the new " + t)
            check("obj" in os.listdir("."), "new entry not listed")
            if t == "symlink":
                eq(st.st_size, len("target-of-obj"), "st_size of a symlink is the target's length")
            if t == "reg":
                expect_errno(errno.EEXIST, os.open, "obj", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            else:  # bind(2) reports an existing name as EADDRINUSE
                expect_errno(errno.EADDRINUSE if t == "socket" else errno.EEXIST, make, t, "obj")
        case(f"create-{t}", who)(creates)

        def chmods(t=t):
            make(t, "obj")
            if t == "symlink":
                # chmod follows the link; the link's own mode stays 0777 on Linux.
                os.chmod("obj", 0o640)
                eq(stat.S_IMODE(os.stat("target-of-obj").st_mode), 0o640, "target mode after chmod via link")
                eq(stat.S_IMODE(os.lstat("obj").st_mode), 0o777, "symlink's own mode")
                return
            for mode in (0o600, 0o755, 0o1711, 0o4755 if t == "reg" else 0o700, 0o000):
                tick()
                before = os.lstat("obj")
                os.chmod("obj", mode)
                after = os.lstat("obj")
                eq(stat.S_IMODE(after.st_mode), mode, f"mode after chmod {oct(mode)}")
                eq(stat.S_IFMT(after.st_mode), S_IFMT_OF[t], "file type after chmod")
                changed(before, after, "c", "chmod")
                unchanged(before, after, "m", "chmod")
            os.chmod("obj", 0o755)
        case(f"chmod-{t}", who)(chmods)

        def chowns(t=t):
            make(t, "obj")
            if IS_ROOT:
                tick()
                before = os.lstat("obj")
                os.chown("obj", OTHER_UID, OTHER_GID, follow_symlinks=False)
                after = os.lstat("obj")
                eq((after.st_uid, after.st_gid), (OTHER_UID, OTHER_GID), "owner after lchown")
                changed(before, after, "c", "chown")
                unchanged(before, after, "m", "chown")
                os.chown("obj", -1, THIRD_GID, follow_symlinks=False)
                eq((os.lstat("obj").st_uid, os.lstat("obj").st_gid), (OTHER_UID, THIRD_GID), "after chgrp only")
                if t == "symlink":
                    tst = os.lstat("target-of-obj")
                    eq((tst.st_uid, tst.st_gid), (0, os.getegid()), "lchown must not change the target")
                    os.chown("obj", THIRD_UID, THIRD_GID)  # follows
                    tst = os.lstat("target-of-obj")
                    eq((tst.st_uid, tst.st_gid), (THIRD_UID, THIRD_GID), "chown via symlink changes the target")
                    eq(os.lstat("obj").st_uid, OTHER_UID, "chown via symlink must not change the link")
            else:
                me, mygid = os.geteuid(), os.getegid()
                os.chown("obj", me, mygid, follow_symlinks=False)
                eq((os.lstat("obj").st_uid, os.lstat("obj").st_gid), (me, mygid), "chown to myself")
                expect_errno(errno.EPERM, os.chown, "obj", OTHER_UID, -1, follow_symlinks=False)
                expect_errno(errno.EPERM, os.chown, "obj", -1, OTHER_GID, follow_symlinks=False)
                eq((os.lstat("obj").st_uid, os.lstat("obj").st_gid), (me, mygid), "owner after refused chown")
        case(f"chown-{t}", who)(chowns)

        def renames(t=t):
            os.mkdir("d1")
            os.mkdir("d2")
            make(t, "d1/obj")
            ino = os.lstat("d1/obj").st_ino
            os.rename("d1/obj", "d1/obj2")
            expect_errno(errno.ENOENT, os.lstat, "d1/obj")
            eq(os.lstat("d1/obj2").st_ino, ino, "inode after rename in one directory")
            tick()
            b1, b2 = os.stat("d1"), os.stat("d2")
            os.rename("d1/obj2", "d2/obj")
            a1, a2 = os.stat("d1"), os.stat("d2")
            changed(b1, a1, "mc", "source parent after rename")
            changed(b2, a2, "mc", "target parent after rename")
            eq(os.lstat("d2/obj").st_ino, ino, "inode after rename across directories")
            if t == "symlink":
                os.rename("d1/target-of-obj", "d2/target-of-obj")
            check_type("d2/obj", t, "rename")
            eq(listing("d1"), [], "source dir after rename")
            if t == "dir":
                eq(os.stat("d2/obj/..").st_ino, os.stat("d2").st_ino, "'..' of a moved directory")
                eq(os.stat("d1").st_nlink, 2, "nlink of the directory a subdir left")
                eq(os.stat("d2").st_nlink, 3, "nlink of the directory a subdir entered")
        case(f"rename-{t}", who)(renames)

        def unlinks(t=t):
            make(t, "obj")
            tick()
            before = os.stat(".")
            if t == "dir":
                expect_errno(errno.EISDIR, os.unlink, "obj")
                os.rmdir("obj")
            else:
                expect_errno(errno.ENOTDIR, os.rmdir, "obj")
                os.unlink("obj")
            after = os.stat(".")
            expect_errno(errno.ENOENT, os.lstat, "obj")
            check("obj" not in os.listdir("."), "removed entry still listed")
            changed(before, after, "mc", "parent after removing a " + t)
            if t == "symlink":
                eq(read_file("target-of-obj"), b"target", "unlinking a symlink must leave its target")
            expect_errno(errno.ENOENT, os.unlink, "obj")
        case(f"unlink-{t}", who)(unlinks)

        def links(t=t):
            make(t, "obj")
            if t == "dir":
                expect_errno(errno.EPERM, os.link, "obj", "obj2")
                expect_errno(errno.ENOENT, os.lstat, "obj2")
                eq(os.stat("obj").st_nlink, 2, "nlink of a dir after refused link")
                return
            ino = os.lstat("obj").st_ino
            tick()
            before, pbefore = os.lstat("obj"), os.stat(".")
            os.link("obj", "obj2", follow_symlinks=False)
            after, pafter = os.lstat("obj"), os.stat(".")
            for n in ("obj", "obj2"):
                st = os.lstat(n)
                eq(st.st_ino, ino, f"inode of {n}")
                eq(st.st_nlink, 2, f"nlink of {n} after link")
                eq(stat.S_IFMT(st.st_mode), S_IFMT_OF[t], f"type of {n}")
            changed(before, after, "c", "inode after link")
            changed(pbefore, pafter, "mc", "parent after link")
            os.link("obj2", "obj3", follow_symlinks=False)
            eq(os.lstat("obj").st_nlink, 3, "nlink after a second link")
            tick()
            before = os.lstat("obj")
            os.unlink("obj2")
            after = os.lstat("obj")
            eq(after.st_nlink, 2, "nlink after unlinking one name")
            changed(before, after, "c", "inode after unlinking another of its names")
            expect_errno(errno.EEXIST, os.link, "obj", "obj3", follow_symlinks=False)
            if t == "symlink":
                eq(os.readlink("obj3"), "target-of-obj", "a hard link to a symlink is the symlink")
                eq(os.stat("target-of-obj").st_nlink, 1, "linking a symlink must not link its target")
        case(f"link-{t}", who)(links)

        def truncates(t=t):
            make(t, "obj")
            if t == "dir":
                expect_errno(errno.EISDIR, os.truncate, "obj", 0)
            elif t == "symlink":
                os.truncate("obj", 2)  # follows the link
                eq(read_file("target-of-obj"), b"ta", "truncate through a symlink truncates the target")
                eq(os.lstat("obj").st_size, len("target-of-obj"), "symlink's own size")
            elif t == "reg":
                tick()
                before = os.stat("obj")
                os.truncate("obj", 10)
                after = os.stat("obj")
                eq(read_file("obj"), b"data" + b"\0" * 6, "grown file reads zeros past the old end")
                changed(before, after, "mc", "truncate that grows")
                tick()
                os.truncate("obj", 2)
                eq(read_file("obj"), b"da", "shrunk file")
                tick()
                before = os.stat("obj")
                os.truncate("obj", 2)  # size does not change: POSIX says times change only if the size did
                os.truncate("obj", 0)
                after = os.stat("obj")
                eq(after.st_size, 0, "size after truncate to 0")
                changed(before, after, "mc", "truncate to 0")
                expect_errno(errno.EINVAL, os.truncate, "obj", -1)
            else:
                expect_errno(errno.EINVAL, os.truncate, "obj", 0)
        case(f"truncate-{t}", who)(truncates)

        def utimes(t=t):
            make(t, "obj")
            tick()
            before = os.lstat("obj")
            os.utime("obj", ns=(1_000_000_000_500_000_000, 1_100_000_000_250_000_000), follow_symlinks=False)
            after = os.lstat("obj")
            eq(after.st_atime_ns, 1_000_000_000_500_000_000, "atime after utimensat")
            eq(after.st_mtime_ns, 1_100_000_000_250_000_000, "mtime after utimensat")
            changed(before, after, "c", "utimensat")
            if t == "symlink":
                tst = os.lstat("target-of-obj")
                check(tst.st_mtime_ns != 1_100_000_000_250_000_000, "lutimes changed the target's mtime")
        case(f"utimensat-{t}", who)(utimes)


type_cases()


@case("mknod-device-as-user-EPERM", "user")
def _():
    expect_errno(errno.EPERM, os.mknod, "c", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    expect_errno(errno.ENOENT, os.lstat, "c")


@case("mknod-regular-file")
def _():
    os.mknod("f", stat.S_IFREG | 0o640)
    st = os.lstat("f")
    eq(stat.S_IFMT(st.st_mode), stat.S_IFREG, "type")
    eq(st.st_size, 0, "size")
    expect_errno(errno.EEXIST, os.mknod, "f", stat.S_IFREG | 0o640)


@case("fifo-carries-data")
def _():
    os.mkfifo("p")
    r = os.open("p", os.O_RDONLY | os.O_NONBLOCK)
    try:
        w = os.open("p", os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(w, b"through the fifo")
        finally:
            os.close(w)
        eq(os.read(r, 100), b"through the fifo", "read from the fifo")
    finally:
        os.close(r)
    eq(os.lstat("p").st_size, 0, "a fifo's size")


@case("socket-is-a-socket-after-close")
def _():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind("s")
    s.listen(1)
    try:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect("s")
        a, _ = s.accept()
        c.sendall(b"x")
        eq(a.recv(1), b"x", "data through a socket bound on this filesystem")
        a.close()
        c.close()
    finally:
        s.close()
    check(stat.S_ISSOCK(os.lstat("s").st_mode), "socket inode after close")


# ---------------------------------------------------------------------------------------------- symlinks

@case("symlink-readlink-exact")
def _():
    for i, tgt in enumerate(["plain", "../up/and/down", "/absolute/path", "with space and \u00e9", "x" * 4095,
                             "dangling/none"]):
        os.symlink(tgt, f"l{i}")
        eq(os.readlink(f"l{i}"), tgt, f"readlink of l{i}")
        eq(os.lstat(f"l{i}").st_size, len(os.fsencode(tgt)), f"st_size of l{i}")
    expect_errno(errno.ENOENT, os.stat, "l5")
    expect_errno(errno.ENAMETOOLONG, os.symlink, "x" * 4096, "toolong")
    expect_errno(errno.ENOENT, os.lstat, "toolong")


@case("symlink-readlink-non-link-EINVAL")
def _():
    write_file("f")
    os.mkdir("d")
    expect_errno(errno.EINVAL, os.readlink, "f")
    expect_errno(errno.EINVAL, os.readlink, "d")
    expect_errno(errno.ENOENT, os.readlink, "missing")


@case("symlink-resolves-to-dirs-and-files")
def _():
    os.makedirs("a/b/c")
    write_file("a/b/c/f", b"deep")
    os.symlink("a/b", "lb")
    os.symlink("../../..", "a/b/c/up")
    os.symlink("lb/c/f", "lf")
    eq(read_file("lb/c/f"), b"deep", "through a dir symlink")
    eq(read_file("lf"), b"deep", "through a chain")
    eq(os.stat("a/b/c/up").st_ino, os.stat(".").st_ino, "relative '..' link")
    eq(listing("lb"), ["c"], "listing through a symlink")
    write_file("lb/c/new", b"n")
    eq(read_file("a/b/c/new"), b"n", "create through a symlinked dir")


@case("symlink-ELOOP")
def _():
    os.symlink("b", "a")
    os.symlink("a", "b")
    os.symlink("self", "self")
    for p in ("a", "b", "self", "a/x"):
        expect_errno(errno.ELOOP, os.stat, p)
        expect_errno(errno.ELOOP, os.open, p, os.O_RDONLY)
    expect_errno(errno.ELOOP, os.open, "a", os.O_WRONLY | os.O_CREAT, 0o644)
    check(stat.S_ISLNK(os.lstat("a").st_mode), "lstat of a looping link works")
    eq(os.readlink("a"), "b", "readlink of a looping link")
    # A chain well within the kernel's limit (40) resolves.
    write_file("end", b"e")
    prev = "end"
    for i in range(20):
        os.symlink(prev, f"c{i}")
        prev = f"c{i}"
    eq(read_file(prev), b"e", "a chain of 20 links")


@case("symlink-O_NOFOLLOW-ELOOP")
def _():
    write_file("f", b"x")
    os.symlink("f", "l")
    expect_errno(errno.ELOOP, os.open, "l", os.O_RDONLY | os.O_NOFOLLOW)
    expect_errno(errno.ELOOP, os.open, "l", os.O_WRONLY | os.O_NOFOLLOW)
    fd = os.open("f", os.O_RDONLY | os.O_NOFOLLOW)
    os.close(fd)
    fd = os.open("l", os.O_PATH | os.O_NOFOLLOW)  # O_PATH|O_NOFOLLOW opens the link itself
    try:
        check(stat.S_ISLNK(os.fstat(fd).st_mode), "O_PATH|O_NOFOLLOW opens the link")
    finally:
        os.close(fd)


@case("symlink-lutimes-UTIME_NOW-and-OMIT")
def _():
    write_file("f")
    os.symlink("f", "l")
    os.utime("f", ns=(1_500_000_000_000_000_000, 1_500_000_000_000_000_000))
    t0 = time.time_ns()
    utimensat("l", (1_200_000_000, 0), UTIME_OMIT, nofollow=True)
    st = os.lstat("l")
    eq(st.st_atime_ns, 1_200_000_000_000_000_000, "link atime")
    check(st.st_mtime_ns >= t0 - 2_000_000_000, "link mtime must be left as it was (set at creation)")
    utimensat("l", UTIME_OMIT, UTIME_NOW, nofollow=True)
    st = os.lstat("l")
    eq(st.st_atime_ns, 1_200_000_000_000_000_000, "link atime after OMIT")
    check(abs(st.st_mtime_ns - time.time_ns()) < 5_000_000_000, "link mtime after UTIME_NOW")
    ft = os.stat("f")
    eq((ft.st_atime_ns, ft.st_mtime_ns), (1_500_000_000_000_000_000,) * 2, "target times after lutimes")


# ---------------------------------------------------------------------------------------------- rename

@case("rename-file-over-file")
def _():
    write_file("a", b"A")
    write_file("b", b"B")
    ia = os.stat("a").st_ino
    fd = os.open("b", os.O_RDONLY)
    try:
        os.rename("a", "b")
        eq(listing(), ["b"], "names after rename over a file")
        eq(os.stat("b").st_ino, ia, "inode of the new b")
        eq(read_file("b"), b"A", "content of the new b")
        eq(os.read(fd, 10), b"B", "an open descriptor of the replaced file still reads it")
        eq(os.fstat(fd).st_nlink, 0, "nlink of the replaced file")
    finally:
        os.close(fd)


@case("rename-overwrite-rules-dirs")
def _():
    write_file("f")
    os.mkdir("d")
    os.mkdir("empty")
    os.mkdir("full")
    write_file("full/x")
    before = snapshot()
    expect_errno(errno.EISDIR, os.rename, "f", "d")
    expect_errno(errno.ENOTDIR, os.rename, "d", "f")
    expect_errno((errno.ENOTEMPTY, errno.EEXIST), os.rename, "d", "full")
    eq(snapshot(), before, "directory after refused renames")
    ino = os.stat("d").st_ino
    os.rename("d", "empty")
    eq(listing(), ["empty", "f", "full"], "after dir over empty dir")
    eq(os.stat("empty").st_ino, ino, "inode after dir over empty dir")
    eq(os.stat(".").st_nlink, 4, "parent nlink after a dir replaced an empty dir")


@case("rename-same-inode-is-noop")
def _():
    write_file("a", b"x")
    os.link("a", "b")
    os.rename("a", "b")
    eq(listing(), ["a", "b"], "rename between two links of one inode does nothing")
    eq(os.stat("a").st_nlink, 2, "nlink")
    os.rename("a", "a")
    eq(listing(), ["a", "b"], "rename of a name to itself")
    os.mkdir("d")
    os.rename("d", "d")
    eq(os.stat("d").st_nlink, 2, "dir renamed onto itself")


@case("rename-dir-under-itself-EINVAL")
def _():
    os.makedirs("d/sub/deeper")
    before = snapshot()
    expect_errno(errno.EINVAL, os.rename, "d", "d/sub/x")
    expect_errno(errno.EINVAL, os.rename, "d", "d/sub/deeper/x")
    expect_errno(errno.EINVAL, os.rename, "d", "d/x")
    expect_errno(errno.EINVAL, renameat2, "d", "d/sub/x", RENAME_NOREPLACE)
    eq(snapshot(), before, "after refused renames")
    eq(listing("d/sub"), ["deeper"], "subtree after refused renames")


@case("rename-dot-and-dotdot")
def _():
    os.makedirs("d/e")
    write_file("f")
    before = snapshot()
    expect_errno(errno.EBUSY, os.rename, "d/.", "x")
    expect_errno((errno.EBUSY, errno.ENOTEMPTY), os.rename, "d/e/..", "x")
    expect_errno((errno.EBUSY, errno.EEXIST), os.rename, "f", "d/.")
    expect_errno((errno.EBUSY, errno.EEXIST), os.rename, "f", "d/..")
    eq(snapshot(), before, "after refused renames")


@case("rename-NOREPLACE")
def _():
    write_file("a", b"A")
    write_file("b", b"B")
    os.mkdir("d")
    before = snapshot()
    expect_errno(errno.EEXIST, renameat2, "a", "b", RENAME_NOREPLACE)
    expect_errno(errno.EEXIST, renameat2, "a", "d", RENAME_NOREPLACE)
    eq(snapshot(), before, "after refused NOREPLACE")
    renameat2("a", "c", RENAME_NOREPLACE)
    eq(listing(), ["b", "c", "d"], "after NOREPLACE to a free name")
    eq(read_file("c"), b"A", "content")
    expect_errno(errno.EINVAL, renameat2, "b", "c", RENAME_NOREPLACE | RENAME_EXCHANGE)


@case("rename-EXCHANGE")
def _():
    os.mkdir("p1")
    os.mkdir("p2")
    write_file("p1/f", b"file")
    os.mkdir("p2/d")
    os.mkdir("p2/d/sub")
    ifile, idir = os.stat("p1/f").st_ino, os.stat("p2/d").st_ino
    tick()
    b1, b2 = os.stat("p1"), os.stat("p2")
    renameat2("p1/f", "p2/d", RENAME_EXCHANGE)
    eq(os.stat("p1/f").st_ino, idir, "p1/f is now the dir")
    eq(os.stat("p2/d").st_ino, ifile, "p2/d is now the file")
    eq(read_file("p2/d"), b"file", "file content after exchange")
    eq(listing("p1/f"), ["sub"], "dir content after exchange")
    eq(os.stat("p1/f/..").st_ino, os.stat("p1").st_ino, "'..' of the exchanged dir")
    eq(os.stat("p1").st_nlink, 3, "p1 nlink (gained a subdir)")
    eq(os.stat("p2").st_nlink, 2, "p2 nlink (lost its subdir)")
    a1, a2 = os.stat("p1"), os.stat("p2")
    changed(b1, a1, "mc", "p1 after exchange")
    changed(b2, a2, "mc", "p2 after exchange")
    expect_errno(errno.ENOENT, renameat2, "p1/f", "p2/missing", RENAME_EXCHANGE)
    eq(os.stat("p1/f").st_ino, idir, "after refused exchange with a missing name")
    expect_errno(errno.EINVAL, renameat2, "p1/f", "p1/f/sub", RENAME_EXCHANGE)


@case("rename-dir-updates-nlinks")
def _():
    os.makedirs("a/x")
    os.mkdir("b")
    os.mkdir("b/y")
    os.rename("a/x", "b/x")
    eq(os.stat("a").st_nlink, 2, "a")
    eq(os.stat("b").st_nlink, 4, "b")
    os.rename("b/x", "b/y")  # over an empty dir in the same parent
    eq(os.stat("b").st_nlink, 3, "b after dir replaced dir")


# ---------------------------------------------------------------------------------------------- sticky

def sticky_dir_as_root(name):
    os.mkdir(name)
    os.chmod(name, 0o1777)
    os.chown(name, THIRD_UID, THIRD_GID)  # owned by a third user: its owner may remove anything


@case("sticky-dir-non-owner-cannot-remove-or-rename", "root")
def _():
    sticky_dir_as_root("t")
    user_expect(0, OTHER_UID, OTHER_GID, lambda: write_file("t/mine", b"m", 0o666), "create in sticky dir")
    user_expect(0, OTHER_UID, OTHER_GID, lambda: os.mkdir("t/mydir", 0o777), "mkdir in sticky dir")
    user_expect(0, 4003, 4003, lambda: write_file("t/theirs", b"t"), "create in sticky dir")
    before = snapshot("t")
    user_expect(errno.EPERM, 4003, 4003, lambda: os.unlink("t/mine"), "unlink another user's file")
    user_expect(errno.EPERM, 4003, 4003, lambda: os.rename("t/mine", "t/moved"), "rename another user's file")
    user_expect(errno.EPERM, 4003, 4003, lambda: os.rename("t/theirs", "t/mine"), "rename over another's file")
    user_expect(errno.EPERM, 4003, 4003, lambda: os.rmdir("t/mydir"), "rmdir another user's dir")
    user_expect(errno.EPERM, 4003, 4003, lambda: renameat2("t/theirs", "t/mine", RENAME_EXCHANGE),
                "exchange with another user's file")
    eq(snapshot("t"), before, "sticky dir after refused calls")
    # The file's owner and the directory's owner may.
    user_expect(0, OTHER_UID, OTHER_GID, lambda: os.rename("t/mine", "t/mine2"), "owner renames own file")
    user_expect(0, THIRD_UID, THIRD_GID, lambda: os.unlink("t/mine2"), "dir owner unlinks a file")
    user_expect(0, THIRD_UID, THIRD_GID, lambda: os.rmdir("t/mydir"), "dir owner removes a dir")
    user_expect(0, 4003, 4003, lambda: os.unlink("t/theirs"), "owner unlinks own file")
    eq(listing("t"), [], "sticky dir at the end")


@case("sticky-dir-non-owner-cannot-remove-or-rename", "user")
def _():
    fx = fixtures()
    d = os.path.join(fx, "sticky")
    victim = os.path.join(d, "rootfile")
    before = snapshot(d)
    expect_errno(errno.EPERM, os.unlink, victim)
    expect_errno(errno.EPERM, os.rename, victim, os.path.join(d, "moved"))
    expect_errno(errno.EPERM, os.rmdir, os.path.join(d, "rootdir"))
    mine = os.path.join(d, f"mine-{os.getpid()}")
    write_file(mine, b"m")
    expect_errno(errno.EPERM, os.rename, mine, victim)
    eq(snapshot(d)["rootfile"], before["rootfile"], "root's file after refused calls")
    os.rename(mine, mine + "-2")
    os.unlink(mine + "-2")


@case("sticky-bit-kept-and-shown")
def _():
    os.mkdir("t")
    os.chmod("t", 0o1777)
    eq(stat.S_IMODE(os.stat("t").st_mode), 0o1777, "mode of a sticky dir")
    write_file("t/f")
    os.unlink("t/f")  # the owner of the file may


# ---------------------------------------------------------------------------------------------- permissions

@case("permissions-as-other-user", "root")
def _():
    write_file("ro", b"r", 0o644)
    write_file("none", b"n", 0o600)
    os.mkdir("closed", 0o700)
    user_expect(0, OTHER_UID, OTHER_GID, lambda: read_file("ro"), "read 0644 file")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: os.open("ro", os.O_WRONLY), "write 0644 file")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: read_file("none"), "read 0600 file")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: os.listdir("closed"), "list 0700 dir")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: write_file("closed/x"), "create in 0700 dir")
    user_expect(errno.EPERM, OTHER_UID, OTHER_GID, lambda: os.chmod("ro", 0o777), "chmod another's file")
    user_expect(errno.EPERM, OTHER_UID, OTHER_GID, lambda: os.chown("ro", OTHER_UID, -1), "chown to oneself")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: os.unlink("ro"), "unlink in a 0755 root dir")
    # utimensat: explicit times need ownership; UTIME_NOW needs write permission (or ownership).
    write_file("shared", b"s")
    os.chmod("shared", 0o666)
    user_expect(0, OTHER_UID, OTHER_GID, lambda: utimensat("shared", UTIME_NOW, UTIME_NOW), "UTIME_NOW, writable")
    user_expect(errno.EPERM, OTHER_UID, OTHER_GID, lambda: utimensat("shared", (5, 0), (5, 0)),
                "explicit times on another's file")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: utimensat("ro", UTIME_NOW, UTIME_NOW),
                "UTIME_NOW without write permission")
    user_expect(errno.EPERM, OTHER_UID, OTHER_GID, lambda: utimensat("shared", UTIME_OMIT, UTIME_NOW) or
                utimensat("shared", (5, 0), UTIME_OMIT), "one explicit time on another's file")


@case("permissions-own-files", "user")
def _():
    write_file("f", b"x", 0o444)
    expect_errno(errno.EACCES, os.open, "f", os.O_WRONLY)
    os.chmod("f", 0o644)
    fd = os.open("f", os.O_WRONLY)
    os.close(fd)
    fx = fixtures()
    expect_errno(errno.EPERM, os.chmod, os.path.join(fx, "rootfile"), 0o777)
    expect_errno(errno.EPERM, os.chown, os.path.join(fx, "rootfile"), os.geteuid(), -1)
    expect_errno(errno.EACCES, os.open, os.path.join(fx, "rootfile"), os.O_WRONLY)
    expect_errno(errno.EACCES, write_file, os.path.join(fx, "new-by-user"))
    expect_errno(errno.EPERM, utimensat, os.path.join(fx, "rootfile"), (5, 0), (5, 0))


@case("chown-clears-setuid-setgid", "any")
def _():
    write_file("f", b"#!/bin/sh\n", 0o755)
    os.chmod("f", 0o6755)
    eq(stat.S_IMODE(os.stat("f").st_mode), 0o6755, "mode before chown")
    if IS_ROOT:
        os.chown("f", OTHER_UID, OTHER_GID)
    else:
        os.chown("f", os.geteuid(), os.getegid())
    eq(stat.S_IMODE(os.stat("f").st_mode), 0o755, "chown of an executable clears S_ISUID and S_ISGID")


@case("new-entries-owned-by-caller")
def _():
    write_file("f")
    os.mkdir("d")
    os.symlink("f", "l")
    os.mkfifo("p")
    for n in ("f", "d", "l", "p"):
        st = os.lstat(n)
        eq((st.st_uid, st.st_gid), (os.geteuid(), os.getegid()), f"owner of {n}")


@case("umask-applies")
def _():
    old = os.umask(0o027)
    try:
        write_file("f", b"", 0o666)
        os.mkdir("d", 0o777)
        os.mkfifo("p", 0o666)
    finally:
        os.umask(old)
    eq(stat.S_IMODE(os.stat("f").st_mode), 0o640, "file mode with umask 027")
    eq(stat.S_IMODE(os.stat("d").st_mode), 0o750, "dir mode with umask 027")
    eq(stat.S_IMODE(os.stat("p").st_mode), 0o640, "fifo mode with umask 027")


# ---------------------------------------------------------------------------------------------- setgid

@case("setgid-dir-inheritance", "root")
def _():
    os.mkdir("g")
    os.chown("g", 0, FIXTURE_GID)
    os.chmod("g", 0o2777)
    write_file("g/f")
    os.mkdir("g/sub")
    os.mkfifo("g/p")
    os.symlink("f", "g/l")
    for n in ("f", "sub", "p", "l"):
        eq(os.lstat("g/" + n).st_gid, FIXTURE_GID, f"group of g/{n}")
    check(os.stat("g/sub").st_mode & stat.S_ISGID, "a subdir of a setgid dir keeps S_ISGID")
    check(not os.stat("g/f").st_mode & stat.S_ISGID, "a plain file must not get S_ISGID")
    os.mkdir("g/sub/deeper")
    eq(os.stat("g/sub/deeper").st_gid, FIXTURE_GID, "group two levels down")
    check(os.stat("g/sub/deeper").st_mode & stat.S_ISGID, "S_ISGID two levels down")
    # A user who is not in the group: still gets the directory's group.
    user_expect(0, OTHER_UID, OTHER_GID, lambda: write_file("g/u"), "create in a setgid dir")
    eq((os.stat("g/u").st_uid, os.stat("g/u").st_gid), (OTHER_UID, FIXTURE_GID), "owner/group of g/u")
    # Without S_ISGID the group is the creator's.
    os.mkdir("plain")
    os.chown("plain", 0, FIXTURE_GID)
    write_file("plain/f")
    eq(os.stat("plain/f").st_gid, os.getegid(), "group in a dir without S_ISGID")


@case("setgid-dir-inheritance", "user")
def _():
    d = os.path.join(fixtures(), "setgid")
    mine = os.path.join(d, f"u{os.getpid()}")
    os.mkdir(mine)
    try:
        st = os.stat(mine)
        eq(st.st_gid, FIXTURE_GID, "group of my new dir in a setgid dir")
        check(st.st_mode & stat.S_ISGID, "my new dir keeps S_ISGID")
        write_file(mine + "/f")
        eq(os.stat(mine + "/f").st_gid, FIXTURE_GID, "group of my file, one level down")
        # chmod g+s by a non-member of the file's group: the bit is silently dropped (chmod(2)).
        os.chmod(mine + "/f", 0o2755)
        eq(stat.S_IMODE(os.stat(mine + "/f").st_mode), 0o755, "S_ISGID dropped for a non-member")
        os.chown(mine + "/f", -1, os.getegid())  # chgrp to my own group is allowed
        eq(os.stat(mine + "/f").st_gid, os.getegid(), "chgrp to my own group")
    finally:
        for n in os.listdir(mine):
            os.unlink(os.path.join(mine, n))
        os.rmdir(mine)


# ---------------------------------------------------------------------------------------------- times

@case("times-create-file")
def _():
    tick()
    pb = os.stat(".")
    t0 = time.time_ns()
    write_file("f")
    st, pa = os.stat("f"), os.stat(".")
    changed(pb, pa, "mc", "parent after create")
    for w in "amc":
        check(ns(st, w) >= t0 - 20_000_000, f"new file's {w}time ({ns(st, w)}) is before the create ({t0})")
    eq(st.st_mtime_ns, st.st_ctime_ns, "a new file's mtime and ctime")


@case("times-mkdir-rmdir")
def _():
    tick()
    pb = os.stat(".")
    os.mkdir("d")
    pa = os.stat(".")
    changed(pb, pa, "mc", "parent after mkdir")
    tick()
    os.rmdir("d")
    changed(pa, os.stat("."), "mc", "parent after rmdir")


@case("times-write")
def _():
    write_file("f", b"abc")
    tick()
    b = os.stat("f")
    fd = os.open("f", os.O_WRONLY)
    try:
        os.write(fd, b"x")
    finally:
        os.close(fd)
    a = os.stat("f")
    changed(b, a, "mc", "write")
    unchanged(b, a, "a", "write")
    pb = os.stat(".")
    tick()
    fd = os.open("f", os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"y")
    finally:
        os.close(fd)
    unchanged(pb, os.stat("."), "mc", "parent after writing a file in it")
    eq(read_file("f"), b"xbcy", "content")


@case("times-O_TRUNC")
def _():
    write_file("f", b"abc")
    tick()
    b = os.stat("f")
    fd = os.open("f", os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    a = os.stat("f")
    eq(a.st_size, 0, "size after O_TRUNC")
    changed(b, a, "mc", "open O_TRUNC")


def mount_options(path):
    """The options of the mount that holds path (from /proc/self/mountinfo: the longest mount point prefix)."""
    real = os.path.realpath(path)
    best, opts = "", set()
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            mp = fields[4].replace("\\040", " ")
            if (real == mp or real.startswith(mp.rstrip("/") + "/")) and len(mp) >= len(best):
                best, opts = mp, set(fields[5].split(","))
    return opts


@case("times-read-atime")
def _():
    # POSIX: read marks atime for update. Under Linux's default relatime it is updated when atime <= mtime
    # (true here: both were set to the same value). A noatime mount is the one allowed exception (mount(8)).
    write_file("f", b"abc")
    os.utime("f", ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    tick()
    b = os.stat("f")
    eq(read_file("f"), b"abc", "content")
    a = os.stat("f")
    if "noatime" in mount_options("."):
        unchanged(b, a, "a", "read on a noatime mount")
    else:
        changed(b, a, "a", "read")
    unchanged(b, a, "mc", "read")


@case("times-chmod-chown-ctime-only")
def _():
    write_file("f")
    tick()
    b = os.stat("f")
    os.chmod("f", 0o600)
    a = os.stat("f")
    changed(b, a, "c", "chmod")
    unchanged(b, a, "am", "chmod")
    tick()
    os.chown("f", os.geteuid(), os.getegid())
    a2 = os.stat("f")
    changed(a, a2, "c", "chown")
    unchanged(a, a2, "am", "chown")


@case("times-rename-parents")
def _():
    os.mkdir("a")
    os.mkdir("b")
    write_file("a/f")
    tick()
    ba, bb, bf = os.stat("a"), os.stat("b"), os.stat("a/f")
    os.rename("a/f", "b/f")
    aa, ab, af = os.stat("a"), os.stat("b"), os.stat("b/f")
    changed(ba, aa, "mc", "source dir")
    changed(bb, ab, "mc", "target dir")
    unchanged(bf, af, "m", "renamed file")


@case("times-unlink-link-symlink-mknod")
def _():
    write_file("f")
    for what, fn in (("link", lambda: os.link("f", "g")), ("symlink", lambda: os.symlink("f", "s")),
                     ("mkfifo", lambda: os.mkfifo("p")), ("unlink", lambda: os.unlink("g")),
                     ("unlink symlink", lambda: os.unlink("s"))):
        tick()
        b = os.stat(".")
        fn()
        changed(b, os.stat("."), "mc", f"parent after {what}")


@case("times-utimensat-UTIME_OMIT-one")
def _():
    write_file("f")
    os.utime("f", ns=(1_000_000_000_000_000_000, 1_100_000_000_000_000_000))
    tick()
    b = os.stat("f")
    utimensat("f", UTIME_OMIT, (1_200_000_000, 0))
    a = os.stat("f")
    eq(a.st_atime_ns, 1_000_000_000_000_000_000, "atime after atime=UTIME_OMIT")
    eq(a.st_mtime_ns, 1_200_000_000_000_000_000, "mtime set")
    changed(b, a, "c", "utimensat")
    utimensat("f", (1_300_000_000, 0), UTIME_OMIT)
    a = os.stat("f")
    eq(a.st_atime_ns, 1_300_000_000_000_000_000, "atime set")
    eq(a.st_mtime_ns, 1_200_000_000_000_000_000, "mtime after mtime=UTIME_OMIT")


@case("times-utimensat-UTIME_NOW")
def _():
    write_file("f")
    os.utime("f", ns=(1_000_000_000_000_000_000, 1_100_000_000_000_000_000))
    t0 = time.time_ns()
    utimensat("f", UTIME_NOW, UTIME_OMIT)
    a = os.stat("f")
    check(abs(a.st_atime_ns - t0) < 2_000_000_000, f"atime after UTIME_NOW: {a.st_atime_ns} vs now {t0}")
    eq(a.st_mtime_ns, 1_100_000_000_000_000_000, "mtime after UTIME_OMIT")
    utimensat("f", UTIME_OMIT, UTIME_NOW)
    a = os.stat("f")
    check(abs(a.st_mtime_ns - t0) < 2_000_000_000, "mtime after UTIME_NOW")
    os.utime("f", ns=(1_000_000_000_000_000_000, 1_100_000_000_000_000_000))
    os.utime("f")  # times=NULL: both now
    a = os.stat("f")
    check(abs(a.st_atime_ns - t0) < 2_000_000_000 and abs(a.st_mtime_ns - t0) < 2_000_000_000, "utime(NULL)")
    b = os.stat("f")
    tick()
    utimensat("f", UTIME_OMIT, UTIME_OMIT)
    unchanged(b, os.stat("f"), "am", "both UTIME_OMIT")


@case("times-utimensat-dir")
def _():
    os.mkdir("d")
    os.utime("d", ns=(1_000_000_000_000_000_000, 1_000_000_000_000_000_000))
    eq(os.stat("d").st_mtime_ns, 1_000_000_000_000_000_000, "dir mtime")
    tick()
    b = os.stat("d")
    write_file("d/f")
    changed(b, os.stat("d"), "mc", "dir after a create in it")


# ---------------------------------------------------------------------------------------------- nlink

@case("nlink-directories")
def _():
    os.mkdir("d")
    eq(os.stat("d").st_nlink, 2, "empty dir")
    for i in range(5):
        os.mkdir(f"d/s{i}")
    write_file("d/f")
    os.symlink("s0", "d/l")
    eq(os.stat("d").st_nlink, 7, "2 + 5 subdirs (files and symlinks do not count)")
    os.rmdir("d/s0")
    eq(os.stat("d").st_nlink, 6, "after rmdir")
    os.rename("d/s1", "s1")
    eq(os.stat("d").st_nlink, 5, "after moving a subdir out")
    os.rename("s1", "d/s1b")
    eq(os.stat("d").st_nlink, 6, "after moving it back")
    os.rename("d/f", "d/f2")
    eq(os.stat("d").st_nlink, 6, "renaming a file does not change it")


@case("nlink-files-exact")
def _():
    write_file("f")
    eq(os.stat("f").st_nlink, 1, "new file")
    for i in range(4):
        os.link("f", f"h{i}")
        eq(os.stat("f").st_nlink, i + 2, f"after link {i}")
    os.rename("h0", "h1")  # over another name of the same inode: nothing happens
    eq(os.stat("f").st_nlink, 5, "after rename between two names of the inode")
    write_file("other")
    os.rename("other", "h1")  # replaces one name of f
    eq(os.stat("f").st_nlink, 4, "after one of its names was replaced")
    os.unlink("h2")
    os.unlink("f")
    eq(os.stat("h3").st_nlink, 2, "after unlinking two names")


# ---------------------------------------------------------------------------------------------- errno of bad input

@case("errno-name-too-long")
def _():
    ok = "n" * NAME_MAX
    long = "n" * (NAME_MAX + 1)
    write_file(ok, b"ok")
    os.mkdir("d")
    before = snapshot()
    expect_errno(errno.ENAMETOOLONG, write_file, long)
    expect_errno(errno.ENAMETOOLONG, os.mkdir, long)
    expect_errno(errno.ENAMETOOLONG, os.symlink, "x", long)
    expect_errno(errno.ENAMETOOLONG, os.link, ok, long)
    expect_errno(errno.ENAMETOOLONG, os.rename, ok, long)
    expect_errno(errno.ENAMETOOLONG, os.mkfifo, long)
    expect_errno(errno.ENAMETOOLONG, os.stat, long)
    expect_errno(errno.ENAMETOOLONG, os.unlink, long)
    expect_errno(errno.ENAMETOOLONG, os.rename, "d", "\u00e9" * 128)  # 256 bytes in UTF-8
    eq(snapshot(), before, "directory after refused long names")
    eq(read_file(ok), b"ok", "a 255-byte name works")
    os.rename(ok, "\u00e9" * 127)  # 254 bytes
    eq(listing(), sorted(["d", "\u00e9" * 127]), "after rename to a 254-byte name")


@case("errno-dot-and-dotdot")
def _():
    os.mkdir("d")
    write_file("f")
    before = snapshot()
    inner = snapshot("d")
    expect_errno(errno.EEXIST, os.mkdir, "d/.")
    expect_errno(errno.EEXIST, os.mkdir, "d/..")
    expect_errno(errno.EINVAL, os.rmdir, "d/.")
    expect_errno(errno.ENOTEMPTY, os.rmdir, "d/..")
    expect_errno((errno.EISDIR, errno.EPERM), os.unlink, "d/.")
    expect_errno((errno.EISDIR, errno.EPERM), os.unlink, "d/..")
    expect_errno(errno.EEXIST, os.link, "f", "d/.")
    expect_errno(errno.EEXIST, os.link, "f", "d/..")
    expect_errno(errno.EEXIST, os.symlink, "f", "d/.")
    expect_errno(errno.EEXIST, os.mkfifo, "d/..")
    expect_errno(errno.EISDIR, os.open, "d/.", os.O_WRONLY | os.O_CREAT, 0o644)
    expect_errno(errno.EEXIST, os.open, "d/.", os.O_RDONLY | os.O_CREAT | os.O_EXCL, 0o644)
    eq(snapshot(), before, "directory after refused dot calls")
    eq(snapshot("d"), inner, "subdirectory after refused dot calls")


@case("errno-link-to-directory-EPERM")
def _():
    os.mkdir("d")
    before = snapshot()
    expect_errno(errno.EPERM, os.link, "d", "d2")
    expect_errno(errno.EPERM, os.link, "d", "d/inside")
    eq(snapshot(), before, "after refused link")


@case("errno-misc")
def _():
    write_file("f")
    os.mkdir("d")
    write_file("d/x")
    before = snapshot()
    expect_errno(errno.ENOTEMPTY, os.rmdir, "d")
    expect_errno(errno.ENOTDIR, os.rmdir, "f")
    expect_errno(errno.ENOTDIR, os.mkdir, "f/sub")
    expect_errno(errno.ENOTDIR, os.stat, "f/")
    expect_errno(errno.ENOENT, os.mkdir, "missing/sub")
    expect_errno(errno.ENOENT, os.rename, "missing", "y")
    expect_errno(errno.EEXIST, os.mkdir, "d")
    expect_errno(errno.EEXIST, os.open, "f", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    expect_errno(errno.EISDIR, os.open, "d", os.O_WRONLY)
    expect_errno(errno.ENOTDIR, os.open, "f", os.O_RDONLY | os.O_DIRECTORY)
    expect_errno(errno.ENOENT, os.open, "", os.O_RDONLY)
    eq(snapshot(), before, "after refused calls")


@case("errno-ftruncate-readonly-fd")
def _():
    write_file("f", b"abc")
    fd = os.open("f", os.O_RDONLY)
    try:
        expect_errno((errno.EINVAL, errno.EBADF), os.ftruncate, fd, 0)
    finally:
        os.close(fd)
    eq(read_file("f"), b"abc", "content after refused ftruncate")


# ---------------------------------------------------------------------------------------------- xattrs

@case("xattr-set-get-list-remove")
def _():
    write_file("f")
    os.mkdir("d")
    for p in ("f", "d"):
        tick()
        b = os.stat(p)
        os.setxattr(p, "user.one", b"1")
        changed(b, os.stat(p), "c", f"setxattr on {p}")
        os.setxattr(p, "user.two", b"\0binary\xff")
        os.setxattr(p, "user.empty", b"")
        eq(os.getxattr(p, "user.one"), b"1", "value")
        eq(os.getxattr(p, "user.two"), b"\0binary\xff", "binary value")
        eq(os.getxattr(p, "user.empty"), b"", "empty value")
        names = set(os.listxattr(p))
        check({"user.one", "user.two", "user.empty"} <= names, f"listxattr of {p}: {sorted(names)}")
        tick()
        b = os.stat(p)
        os.removexattr(p, "user.one")
        changed(b, os.stat(p), "c", f"removexattr on {p}")
        check("user.one" not in os.listxattr(p), "removed name still listed")
        expect_errno(errno.ENODATA, os.getxattr, p, "user.one")
        os.setxattr(p, "user.two", b"replaced")
        eq(os.getxattr(p, "user.two"), b"replaced", "overwritten value")
    big = bytes(range(256)) * 15  # 3840 bytes: fits every local filesystem's limit
    os.setxattr("f", "user.big", big)
    eq(os.getxattr("f", "user.big"), big, "3840-byte value")


@case("xattr-flags")
def _():
    write_file("f")
    os.setxattr("f", "user.a", b"1")
    expect_errno(errno.EEXIST, os.setxattr, "f", "user.a", b"2", XATTR_CREATE)
    eq(os.getxattr("f", "user.a"), b"1", "value after refused XATTR_CREATE")
    expect_errno(errno.ENODATA, os.setxattr, "f", "user.b", b"2", XATTR_REPLACE)
    expect_errno(errno.ENODATA, os.getxattr, "f", "user.b")
    os.setxattr("f", "user.a", b"3", XATTR_REPLACE)
    eq(os.getxattr("f", "user.a"), b"3", "after XATTR_REPLACE")
    os.setxattr("f", "user.c", b"4", XATTR_CREATE)
    eq(os.getxattr("f", "user.c"), b"4", "after XATTR_CREATE")
    expect_errno(errno.ENODATA, os.removexattr, "f", "user.missing")
    expect_errno(errno.ENODATA, os.getxattr, "f", "user.missing")


@case("xattr-size-limits")
def _():
    write_file("f")
    os.setxattr("f", "user.v", b"value-of-16bytes")
    n, _ = getxattr_buf("f", "user.v", 0)
    eq(n, 16, "getxattr with size 0 returns the value's size")
    n, v = getxattr_buf("f", "user.v", 16)
    eq(v, b"value-of-16bytes", "getxattr with an exact buffer")
    expect_errno(errno.ERANGE, getxattr_buf, "f", "user.v", 15)
    need = listxattr_buf("f", 0)
    check(need >= len(b"user.v\0"), "listxattr with size 0 returns the list's size")
    expect_errno(errno.ERANGE, listxattr_buf, "f", need - 1)
    expect_errno(errno.E2BIG, os.setxattr, "f", "user.big", b"x" * (XATTR_SIZE_MAX + 1))
    expect_errno(errno.ENODATA, os.getxattr, "f", "user.big")
    expect_errno(errno.ERANGE, os.setxattr, "f", "user." + "n" * (XATTR_NAME_MAX - 4), b"x")
    expect_errno(errno.ERANGE, os.getxattr, "f", "user." + "n" * (XATTR_NAME_MAX - 4))
    os.setxattr("f", "user." + "n" * (XATTR_NAME_MAX - 5), b"x")  # exactly 255 bytes
    eq(os.getxattr("f", "user." + "n" * (XATTR_NAME_MAX - 5)), b"x", "255-byte name")
    eq(sorted(os.listxattr("f")), sorted(["user.v", "user." + "n" * (XATTR_NAME_MAX - 5)]),
       "names after refused calls")


@case("xattr-namespaces-and-symlinks")
def _():
    write_file("f")
    os.symlink("f", "l")
    os.mkfifo("p")
    # user.* is for regular files and directories only (xattr(7)).
    expect_errno(errno.EPERM, os.setxattr, "l", "user.x", b"1", follow_symlinks=False)
    expect_errno(errno.EPERM, os.setxattr, "p", "user.x", b"1")
    os.setxattr("l", "user.via", b"1")  # follows to f
    eq(os.getxattr("f", "user.via"), b"1", "setxattr through a symlink sets the target's")
    expect_errno(errno.EOPNOTSUPP, os.setxattr, "f", "nonamespace", b"1")
    expect_errno(errno.EOPNOTSUPP, os.setxattr, "f", "bogus.x", b"1")
    if IS_ROOT:
        os.setxattr("f", "trusted.t", b"T")
        eq(os.getxattr("f", "trusted.t"), b"T", "trusted.* as root")
        check("trusted.t" in os.listxattr("f"), "root lists trusted.*")
        os.setxattr("l", "trusted.onlink", b"L", follow_symlinks=False)
        eq(os.getxattr("l", "trusted.onlink", follow_symlinks=False), b"L", "trusted.* on a symlink itself")
        os.setxattr("f", "security.shoaltest", b"S")
        eq(os.getxattr("f", "security.shoaltest"), b"S", "security.*")
        kind, val = as_user(OTHER_UID, OTHER_GID, lambda: "trusted.t" in os.listxattr("f"))
        eq((kind, val), ("ok", False), "another user must not see trusted.*")
    else:
        expect_errno(errno.EPERM, os.setxattr, "f", "trusted.t", b"T")
        check(not any(n.startswith("trusted.") for n in os.listxattr("f")), "a user lists no trusted.*")


@case("xattr-permission", "root")
def _():
    write_file("f", b"", 0o644)
    os.setxattr("f", "user.a", b"1")
    user_expect(0, OTHER_UID, OTHER_GID, lambda: os.getxattr("f", "user.a"), "read user.* of a readable file")
    user_expect(errno.EACCES, OTHER_UID, OTHER_GID, lambda: os.setxattr("f", "user.b", b"2"),
                "set user.* without write permission")
    eq(sorted(os.listxattr("f")), ["user.a"], "after refused setxattr")


# ---------------------------------------------------------------------------------------------- data

@case("sparse-file-st_blocks")
def _():
    size = 256 << 20
    fd = os.open("sparse", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.pwrite(fd, b"x", size - 1)
    finally:
        os.close(fd)
    st = os.stat("sparse")
    eq(st.st_size, size, "size")
    check(st.st_blocks * 512 <= 4 << 20, f"st_blocks of a 256 MiB file with one byte written: {st.st_blocks}")
    write_file("dense", b"y" * (1 << 20))
    fd = os.open("dense", os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    st = os.stat("dense")
    check(st.st_blocks * 512 >= 1 << 20, f"st_blocks of a 1 MiB written file: {st.st_blocks}")
    eq(st.st_blksize > 0, True, "st_blksize")


@case("fallocate-modes")
def _():
    fd = os.open("f", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        tick()
        b = os.fstat(fd)
        fallocate(fd, 0, 0, 1 << 20)
        a = os.fstat(fd)
        eq(a.st_size, 1 << 20, "size after fallocate mode 0")
        check(a.st_blocks * 512 >= 1 << 20, f"st_blocks after fallocate mode 0: {a.st_blocks}")
        changed(b, a, "mc", "fallocate that grows the file")
        eq(os.pread(fd, 1 << 20, 0), b"\0" * (1 << 20), "allocated range reads zeros")
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 1 << 20, 1 << 20)
        a = os.fstat(fd)
        eq(a.st_size, 1 << 20, "size after KEEP_SIZE beyond the end")
        check(a.st_blocks * 512 >= 2 << 20, f"st_blocks after KEEP_SIZE: {a.st_blocks}")
        data = bytes(range(256)) * 4096  # 1 MiB
        os.pwrite(fd, data, 0)
        os.fsync(fd)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 65536, 131072)
        eq(os.fstat(fd).st_size, 1 << 20, "size after PUNCH_HOLE")
        got = os.pread(fd, 1 << 20, 0)
        eq(got[:65536], data[:65536], "bytes before the hole")
        eq(got[65536:196608], b"\0" * 131072, "punched hole reads zeros")
        eq(got[196608:], data[196608:], "bytes after the hole")
        expect_errno(errno.EOPNOTSUPP, fallocate, fd, FALLOC_FL_PUNCH_HOLE, 0, 4096)
        expect_errno(errno.EINVAL, fallocate, fd, 0, 0, 0)
    finally:
        os.close(fd)
    eq(read_file("f")[65536:196608], b"\0" * 131072, "hole after reopen")


@case("open-unlinked-file-readable-writable")
def _():
    fd = os.open("f", os.O_RDWR | os.O_CREAT, 0o644)
    fd2 = os.open("f", os.O_RDONLY)
    try:
        os.write(fd, b"before unlink " * 1000)
        os.unlink("f")
        expect_errno(errno.ENOENT, os.stat, "f")
        eq(listing(), [], "directory after unlink")
        eq(os.fstat(fd).st_nlink, 0, "nlink of an open unlinked file")
        os.write(fd, b"|after unlink")
        os.fsync(fd)
        want = b"before unlink " * 1000 + b"|after unlink"
        eq(os.pread(fd, len(want) + 10, 0), want, "read through the writing descriptor")
        eq(os.pread(fd2, len(want) + 10, 0), want, "read through another descriptor")
        eq(os.fstat(fd2).st_size, len(want), "size through fstat")
        os.ftruncate(fd, 5)
        eq(os.pread(fd2, 100, 0), b"befor", "after ftruncate of the unlinked file")
        write_file("f", b"new file")  # the name is free for a new inode
        eq(os.pread(fd2, 100, 0), b"befor", "the old inode is not the new file")
    finally:
        os.close(fd)
        os.close(fd2)
    eq(read_file("f"), b"new file", "new file under the old name")


@case("write-read-exact-and-O_APPEND")
def _():
    data = os.urandom(300_000)
    write_file("f", data)
    eq(read_file("f"), data, "content")
    fd = os.open("f", os.O_WRONLY | os.O_APPEND)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, b"tail")
    finally:
        os.close(fd)
    eq(read_file("f"), data + b"tail", "O_APPEND writes at the end whatever the offset")
    fd = os.open("f", os.O_RDWR)
    try:
        os.pwrite(fd, b"MID", 1000)
    finally:
        os.close(fd)
    eq(read_file("f"), data[:1000] + b"MID" + data[1003:] + b"tail", "pwrite in the middle")


# ---------------------------------------------------------------------------------------------- runner

def fixtures():
    """The root-owned fixtures made by --prepare-user (the unprivileged run needs another owner's files)."""
    fx = os.path.join(ROOT_DIR, ".fixtures")
    if not os.path.isfile(os.path.join(fx, "rootfile")):
        raise Fail(f"no fixtures in {fx}: run '--prepare-user {ROOT_DIR}' as root first")
    return fx


def prepare_user(d):
    os.makedirs(d, exist_ok=True)
    os.chmod(d, 0o1777)
    fx = os.path.join(d, ".fixtures")
    os.makedirs(fx, exist_ok=True)
    os.chmod(fx, 0o755)
    write_file(os.path.join(fx, "rootfile"), b"root's", 0o644)
    sticky = os.path.join(fx, "sticky")
    os.makedirs(sticky, exist_ok=True)
    os.chmod(sticky, 0o1777)
    write_file(os.path.join(sticky, "rootfile"), b"root's", 0o666)
    os.makedirs(os.path.join(sticky, "rootdir"), exist_ok=True)
    os.chmod(os.path.join(sticky, "rootdir"), 0o777)
    sg = os.path.join(fx, "setgid")
    os.makedirs(sg, exist_ok=True)
    os.chown(sg, 0, FIXTURE_GID)
    os.chmod(sg, 0o2777)


ROOT_DIR = None


def main(argv):
    global ROOT_DIR
    args, only, mode = [], [], "run"
    it = iter(argv)
    for a in it:
        if a == "-k":
            only.append(next(it))
        elif a == "--prepare-user":
            mode = "prepare"
        elif a == "--list":
            mode = "list"
        else:
            args.append(a)
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    ROOT_DIR = os.path.abspath(args[0])
    if mode == "prepare":
        prepare_user(ROOT_DIR)
        print(f"prepared {ROOT_DIR} for an unprivileged run")
        return 0
    who = "root" if IS_ROOT else "user"
    todo = [(n, f) for n, f, w in CASES if w in ("any", who) and (not only or any(k in n for k in only))]
    if mode == "list":
        for n, _ in todo:
            print(n)
        return 0
    os.makedirs(ROOT_DIR, exist_ok=True)
    os.umask(0o022)
    run_dir = os.path.join(ROOT_DIR, f"run-{who}-{os.getpid()}")
    os.mkdir(run_dir)
    print(f"cases: {len(todo)} (as {who}, uid {os.geteuid()}) in {run_dir}", flush=True)
    passed = failed = 0
    for i, (name, fn) in enumerate(todo):
        d = os.path.join(run_dir, f"{i:03d}-{name}")
        try:
            os.mkdir(d)
            os.chdir(d)
            fn()
            print(f"PASS {name}", flush=True)
            passed += 1
        except Fail as e:
            print(f"FAIL {name}: {e}", flush=True)
            failed += 1
        except OSError as e:
            print(f"FAIL {name}: unexpected {errno.errorcode.get(e.errno, e.errno)} ({e}) at "
                  f"{_where(e)}", flush=True)
            failed += 1
        except Exception as e:  # noqa: BLE001 - a broken case is a failure, not a crash of the suite
            print(f"FAIL {name}: {type(e).__name__}: {e} at {_where(e)}", flush=True)
            failed += 1
        finally:
            os.chdir(ROOT_DIR)
    print(f"{passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


def _where(e):
    tb = traceback.extract_tb(e.__traceback__)
    mine = [f for f in tb if f.filename == __file__]
    f = (mine or tb)[-1]
    return f"line {f.lineno}"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
