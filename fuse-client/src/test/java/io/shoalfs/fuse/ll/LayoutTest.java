package io.shoalfs.fuse.ll;

import static io.shoalfs.fuse.ll.jnr.Layout.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.kenai.jffi.MemoryIO;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.Flock;
import ru.serce.jnrfuse.struct.Statvfs;

/**
 * The struct layouts the binding relies on, measured again with gcc against the installed headers
 * (/usr/include/fuse3, FUSE_USE_VERSION 312) and compared with {@code Layout} and with jnr-fuse's FileStat,
 * Statvfs and Flock. Numbers seen on x86_64 Debian 12, libfuse 3.14: fuse_lowlevel_ops 352 bytes (44 slots);
 * fuse_file_info 40 (flags @0, bitfields in the word @4: writepage 0x1, direct_io 0x2, keep_cache 0x4,
 * flush 0x8, nonseekable 0x10, flock_release 0x20, cache_readdir 0x40, noflush 0x80; fh @16, lock_owner @24);
 * fuse_entry_param 176 (attr @16, timeouts @160/@168); fuse_conn_info 128; fuse_ctx 16; stat 144; statvfs
 * 112; flock 32.
 */
class LayoutTest {
  static final String PROGRAM = """
      #define FUSE_USE_VERSION 312
      #define _GNU_SOURCE
      #include <fuse3/fuse_lowlevel.h>
      #include <linux/fuse.h>
      #include <stdio.h>
      #include <stddef.h>
      #include <string.h>
      #include <sys/stat.h>
      #include <sys/statvfs.h>
      #include <fcntl.h>
      #define O(t, f) printf("%s.%s %zu\\n", #t, #f, offsetof(struct t, f))
      #define S(t) printf("sizeof.%s %zu\\n", #t, sizeof(struct t))
      #define B(f) { struct fuse_file_info fi; unsigned w; memset(&fi, 0, sizeof fi); fi.f = 1; \\
          memcpy(&w, ((char *) &fi) + 4, 4); printf("bit.%s %u\\n", #f, w); }
      int main(void) {
        S(fuse_lowlevel_ops);
        O(fuse_lowlevel_ops, init); O(fuse_lowlevel_ops, destroy); O(fuse_lowlevel_ops, lookup);
        O(fuse_lowlevel_ops, forget); O(fuse_lowlevel_ops, getattr); O(fuse_lowlevel_ops, setattr);
        O(fuse_lowlevel_ops, readlink); O(fuse_lowlevel_ops, mknod); O(fuse_lowlevel_ops, mkdir);
        O(fuse_lowlevel_ops, unlink); O(fuse_lowlevel_ops, rmdir); O(fuse_lowlevel_ops, symlink);
        O(fuse_lowlevel_ops, rename); O(fuse_lowlevel_ops, link); O(fuse_lowlevel_ops, open);
        O(fuse_lowlevel_ops, read); O(fuse_lowlevel_ops, write); O(fuse_lowlevel_ops, flush);
        O(fuse_lowlevel_ops, release); O(fuse_lowlevel_ops, fsync); O(fuse_lowlevel_ops, opendir);
        O(fuse_lowlevel_ops, readdir); O(fuse_lowlevel_ops, releasedir); O(fuse_lowlevel_ops, fsyncdir);
        O(fuse_lowlevel_ops, statfs); O(fuse_lowlevel_ops, setxattr); O(fuse_lowlevel_ops, getxattr);
        O(fuse_lowlevel_ops, listxattr); O(fuse_lowlevel_ops, removexattr); O(fuse_lowlevel_ops, access);
        O(fuse_lowlevel_ops, create); O(fuse_lowlevel_ops, getlk); O(fuse_lowlevel_ops, setlk);
        O(fuse_lowlevel_ops, bmap); O(fuse_lowlevel_ops, ioctl); O(fuse_lowlevel_ops, poll);
        O(fuse_lowlevel_ops, write_buf); O(fuse_lowlevel_ops, retrieve_reply); O(fuse_lowlevel_ops, forget_multi);
        O(fuse_lowlevel_ops, flock); O(fuse_lowlevel_ops, fallocate); O(fuse_lowlevel_ops, readdirplus);
        O(fuse_lowlevel_ops, copy_file_range); O(fuse_lowlevel_ops, lseek);
        S(fuse_file_info); O(fuse_file_info, flags); O(fuse_file_info, fh); O(fuse_file_info, lock_owner);
        B(writepage) B(direct_io) B(keep_cache) B(flush) B(nonseekable) B(flock_release) B(cache_readdir) B(noflush)
        S(fuse_entry_param); O(fuse_entry_param, ino); O(fuse_entry_param, generation); O(fuse_entry_param, attr);
        O(fuse_entry_param, attr_timeout); O(fuse_entry_param, entry_timeout);
        S(fuse_conn_info); O(fuse_conn_info, proto_major); O(fuse_conn_info, proto_minor);
        O(fuse_conn_info, max_write); O(fuse_conn_info, max_read); O(fuse_conn_info, max_readahead);
        O(fuse_conn_info, capable); O(fuse_conn_info, want); O(fuse_conn_info, max_background);
        S(fuse_ctx); O(fuse_ctx, uid); O(fuse_ctx, gid); O(fuse_ctx, pid); O(fuse_ctx, umask);
        S(fuse_forget_data); S(fuse_args); O(fuse_args, argc); O(fuse_args, argv); O(fuse_args, allocated);
        S(stat); O(stat, st_ino); O(stat, st_nlink); O(stat, st_mode); O(stat, st_uid); O(stat, st_gid);
        O(stat, st_rdev); O(stat, st_size); O(stat, st_blksize); O(stat, st_blocks); O(stat, st_atim);
        O(stat, st_mtim); O(stat, st_ctim);
        S(statvfs); O(statvfs, f_bsize); O(statvfs, f_frsize); O(statvfs, f_blocks); O(statvfs, f_bfree);
        O(statvfs, f_bavail); O(statvfs, f_files); O(statvfs, f_ffree); O(statvfs, f_favail); O(statvfs, f_namemax);
        S(flock); O(flock, l_type); O(flock, l_whence); O(flock, l_start); O(flock, l_len); O(flock, l_pid);
        O(fuse_dirent, off); S(fuse_entry_out);
        printf("cap.writeback %d\\ncap.readdirplus_auto %d\\ncap.handle_killpriv %d\\n", FUSE_CAP_WRITEBACK_CACHE,
            FUSE_CAP_READDIRPLUS_AUTO, FUSE_CAP_HANDLE_KILLPRIV);
        printf("utime.now %ld\\nutime.omit %ld\\n", (long) UTIME_NOW, (long) UTIME_OMIT);
        return 0;
      }
      """;

  static final Map<String, Long> C = new HashMap<>();
  static final MemoryIO MEM = MemoryIO.getInstance();
  static final Runtime RT = Runtime.getSystemRuntime();

  @BeforeAll
  static void measure(@TempDir Path dir) throws Exception {
    Path src = Files.writeString(dir.resolve("layout.c"), PROGRAM);
    Path exe = dir.resolve("layout");
    Py.exec(List.of("gcc", "-Wall", "-o", exe.toString(), src.toString()));
    for (String line : Py.exec(List.of(exe.toString())).split("\n")) {
      String[] kv = line.split(" ");
      C.put(kv[0], Long.parseLong(kv[1]));
    }
  }

  static long c(String key) {
    Long v = C.get(key);
    if (v == null) {
      throw new AssertionError("gcc printed no " + key);
    }
    return v;
  }

  @Test
  void opsTableInHeaderOrder() {
    assertEquals(OPS_SIZE, c("sizeof.fuse_lowlevel_ops"));
    Object[][] slots = {{"init", OP_INIT}, {"destroy", OP_DESTROY}, {"lookup", OP_LOOKUP}, {"forget", OP_FORGET},
        {"getattr", OP_GETATTR}, {"setattr", OP_SETATTR}, {"readlink", OP_READLINK}, {"mknod", OP_MKNOD},
        {"mkdir", OP_MKDIR}, {"unlink", OP_UNLINK}, {"rmdir", OP_RMDIR}, {"symlink", OP_SYMLINK},
        {"rename", OP_RENAME}, {"link", OP_LINK}, {"open", OP_OPEN}, {"read", OP_READ}, {"write", OP_WRITE},
        {"flush", OP_FLUSH}, {"release", OP_RELEASE}, {"fsync", OP_FSYNC}, {"opendir", OP_OPENDIR},
        {"readdir", OP_READDIR}, {"releasedir", OP_RELEASEDIR}, {"fsyncdir", OP_FSYNCDIR}, {"statfs", OP_STATFS},
        {"setxattr", OP_SETXATTR}, {"getxattr", OP_GETXATTR}, {"listxattr", OP_LISTXATTR},
        {"removexattr", OP_REMOVEXATTR}, {"access", OP_ACCESS}, {"create", OP_CREATE}, {"getlk", OP_GETLK},
        {"setlk", OP_SETLK}, {"bmap", OP_BMAP}, {"ioctl", OP_IOCTL}, {"poll", OP_POLL}, {"write_buf", OP_WRITE_BUF},
        {"retrieve_reply", OP_RETRIEVE_REPLY}, {"forget_multi", OP_FORGET_MULTI}, {"flock", OP_FLOCK},
        {"fallocate", OP_FALLOCATE}, {"readdirplus", OP_READDIRPLUS}, {"copy_file_range", OP_COPY_FILE_RANGE},
        {"lseek", OP_LSEEK}};
    for (Object[] s : slots) {
      assertEquals(((Integer) s[1]).longValue(), c("fuse_lowlevel_ops." + s[0]), (String) s[0]);
    }
  }

  @Test
  void structsTheBindingDefines() {
    assertEquals(FI_SIZE, c("sizeof.fuse_file_info"));
    assertEquals(FI_FLAGS, c("fuse_file_info.flags"));
    assertEquals(FI_FH, c("fuse_file_info.fh"));
    assertEquals(FI_LOCK_OWNER, c("fuse_file_info.lock_owner"));
    assertEquals(FI_BIT_WRITEPAGE, c("bit.writepage"));
    assertEquals(FI_BIT_DIRECT_IO, c("bit.direct_io"));
    assertEquals(FI_BIT_KEEP_CACHE, c("bit.keep_cache"));
    assertEquals(FI_BIT_FLUSH, c("bit.flush"));
    assertEquals(FI_BIT_NONSEEKABLE, c("bit.nonseekable"));
    assertEquals(FI_BIT_FLOCK_RELEASE, c("bit.flock_release"));
    assertEquals(FI_BIT_CACHE_READDIR, c("bit.cache_readdir"));
    assertEquals(FI_BIT_NOFLUSH, c("bit.noflush"));
    assertEquals(ENTRY_SIZE, c("sizeof.fuse_entry_param"));
    assertEquals(ENTRY_INO, c("fuse_entry_param.ino"));
    assertEquals(ENTRY_GENERATION, c("fuse_entry_param.generation"));
    assertEquals(ENTRY_ATTR, c("fuse_entry_param.attr"));
    assertEquals(ENTRY_ATTR_TIMEOUT, c("fuse_entry_param.attr_timeout"));
    assertEquals(ENTRY_ENTRY_TIMEOUT, c("fuse_entry_param.entry_timeout"));
    assertEquals(128, c("sizeof.fuse_conn_info"));
    assertEquals(CONN_PROTO_MAJOR, c("fuse_conn_info.proto_major"));
    assertEquals(CONN_PROTO_MINOR, c("fuse_conn_info.proto_minor"));
    assertEquals(CONN_MAX_WRITE, c("fuse_conn_info.max_write"));
    assertEquals(CONN_MAX_READAHEAD, c("fuse_conn_info.max_readahead"));
    assertEquals(CONN_CAPABLE, c("fuse_conn_info.capable"));
    assertEquals(CONN_WANT, c("fuse_conn_info.want"));
    assertEquals(CONN_MAX_BACKGROUND, c("fuse_conn_info.max_background"));
    assertEquals(16, c("sizeof.fuse_ctx"));
    assertEquals(CTX_UID, c("fuse_ctx.uid"));
    assertEquals(CTX_GID, c("fuse_ctx.gid"));
    assertEquals(CTX_PID, c("fuse_ctx.pid"));
    assertEquals(CTX_UMASK, c("fuse_ctx.umask"));
    assertEquals(FORGET_SIZE, c("sizeof.fuse_forget_data"));
    assertEquals(ARGS_SIZE, c("sizeof.fuse_args"));
    assertEquals(ARGS_ARGC, c("fuse_args.argc"));
    assertEquals(ARGS_ARGV, c("fuse_args.argv"));
    assertEquals(ARGS_ALLOCATED, c("fuse_args.allocated"));
    assertEquals(DIRENT_OFF, c("fuse_dirent.off"));
    assertEquals(DIRENTPLUS_OFF, c("sizeof.fuse_entry_out") + c("fuse_dirent.off"));
    assertEquals(CAP_WRITEBACK_CACHE, c("cap.writeback"));
    assertEquals(CAP_READDIRPLUS_AUTO, c("cap.readdirplus_auto"));
    assertEquals(CAP_HANDLE_KILLPRIV, c("cap.handle_killpriv"));
    assertEquals(UTIME_NOW, c("utime.now"));
    assertEquals(UTIME_OMIT, c("utime.omit"));
  }

  @Test
  void structStatMatchesLayoutAndJnrFuseFileStat() {
    assertEquals(STAT_SIZE, c("sizeof.stat"));
    assertEquals(STAT_INO, c("stat.st_ino"));
    assertEquals(STAT_NLINK, c("stat.st_nlink"));
    assertEquals(STAT_MODE, c("stat.st_mode"));
    assertEquals(STAT_UID, c("stat.st_uid"));
    assertEquals(STAT_GID, c("stat.st_gid"));
    assertEquals(STAT_RDEV, c("stat.st_rdev"));
    assertEquals(STAT_SIZE_FIELD, c("stat.st_size"));
    assertEquals(STAT_BLKSIZE, c("stat.st_blksize"));
    assertEquals(STAT_BLOCKS, c("stat.st_blocks"));
    assertEquals(STAT_ATIM, c("stat.st_atim"));
    assertEquals(STAT_MTIM, c("stat.st_mtim"));
    assertEquals(STAT_CTIM, c("stat.st_ctim"));
    ByteBuffer b = ByteBuffer.allocateDirect(256);
    long a = MEM.getDirectBufferAddress(b);
    FileStat st = FileStat.of(Pointer.wrap(RT, a));
    st.st_ino.set(11);
    st.st_nlink.set(12);
    st.st_mode.set(013);
    st.st_uid.set(14);
    st.st_gid.set(15);
    st.st_rdev.set(16);
    st.st_size.set(17);
    st.st_blksize.set(18);
    st.st_blocks.set(19);
    st.st_atim.tv_sec.set(20);
    st.st_atim.tv_nsec.set(21);
    st.st_mtim.tv_sec.set(22);
    st.st_ctim.tv_sec.set(23);
    assertEquals(11, MEM.getLong(a + c("stat.st_ino")));
    assertEquals(12, MEM.getLong(a + c("stat.st_nlink")));
    assertEquals(013, MEM.getInt(a + c("stat.st_mode")));
    assertEquals(14, MEM.getInt(a + c("stat.st_uid")));
    assertEquals(15, MEM.getInt(a + c("stat.st_gid")));
    assertEquals(16, MEM.getLong(a + c("stat.st_rdev")));
    assertEquals(17, MEM.getLong(a + c("stat.st_size")));
    assertEquals(18, MEM.getLong(a + c("stat.st_blksize")));
    assertEquals(19, MEM.getLong(a + c("stat.st_blocks")));
    assertEquals(20, MEM.getLong(a + c("stat.st_atim")));
    assertEquals(21, MEM.getLong(a + c("stat.st_atim") + 8));
    assertEquals(22, MEM.getLong(a + c("stat.st_mtim")));
    assertEquals(23, MEM.getLong(a + c("stat.st_ctim")));
  }

  @Test
  void jnrFuseStatvfsAndFlockMatchTheHeaders() {
    assertEquals(STATVFS_SIZE, c("sizeof.statvfs"));
    assertEquals(FLOCK_SIZE, c("sizeof.flock"));
    ByteBuffer b = ByteBuffer.allocateDirect(256);
    long a = MEM.getDirectBufferAddress(b);
    Statvfs v = Statvfs.of(Pointer.wrap(RT, a));
    v.f_bsize.set(1);
    v.f_frsize.set(2);
    v.f_blocks.set(3);
    v.f_bfree.set(4);
    v.f_bavail.set(5);
    v.f_files.set(6);
    v.f_ffree.set(7);
    v.f_favail.set(8);
    v.f_namemax.set(9);
    String[] f = {"f_bsize", "f_frsize", "f_blocks", "f_bfree", "f_bavail", "f_files", "f_ffree", "f_favail",
        "f_namemax"};
    for (int i = 0; i < f.length; i++) {
      assertEquals(i + 1, MEM.getLong(a + c("statvfs." + f[i])), f[i]);
    }
    ByteBuffer fb = ByteBuffer.allocateDirect(64);
    long fa = MEM.getDirectBufferAddress(fb);
    Flock l = Flock.of(Pointer.wrap(RT, fa));
    l.l_type.set((short) 1);
    l.l_whence.set((short) 2);
    l.l_start.set(3);
    l.l_len.set(4);
    l.l_pid.set(5);
    assertEquals(1, MEM.getShort(fa + c("flock.l_type")));
    assertEquals(2, MEM.getShort(fa + c("flock.l_whence")));
    assertEquals(3, MEM.getLong(fa + c("flock.l_start")));
    assertEquals(4, MEM.getLong(fa + c("flock.l_len")));
    assertEquals(5, MEM.getInt(fa + c("flock.l_pid")));
  }

  /** fuse_add_direntry ignores its req; the offset the binding writes must be the one the kernel reads. */
  @Test
  void direntryOffsetsAreWhereTheKernelReadsThem() {
    ByteBuffer b = ByteBuffer.allocateDirect(8192);
    long a = MEM.getDirectBufferAddress(b);
    long name = a + 4096;
    MEM.putByte(name, (byte) 'x');
    MEM.putByte(name + 1, (byte) 0);
    long entry = a + 5000;
    MEM.putLong(entry + ENTRY_ATTR + STAT_INO, 42);
    long n = Ops.addDirentryPlus(0, a, 4096, name, entry, 12345);
    assertEquals(c("sizeof.fuse_entry_out") + 24 + 8, n); // entry_out + dirent header + "x" padded to 8
    assertEquals(42, MEM.getLong(a + DIRENTPLUS_OFF - 8)); // dirent.ino, just before off
    assertEquals(12345, MEM.getLong(a + DIRENTPLUS_OFF));
    n = Ops.addDirentry(0, a, 4096, name, entry + ENTRY_ATTR, 777);
    assertEquals(32, n);
    assertEquals(42, MEM.getLong(a));
    assertEquals(777, MEM.getLong(a + DIRENT_OFF));
    // Too small: nothing written, the size needed returned (the filler then says "not taken").
    MEM.putLong(a + DIRENT_OFF, -5);
    assertEquals(32, Ops.addDirentry(0, a, 16, name, entry + ENTRY_ATTR, 999));
    assertEquals(-5, MEM.getLong(a + DIRENT_OFF));
  }
}
