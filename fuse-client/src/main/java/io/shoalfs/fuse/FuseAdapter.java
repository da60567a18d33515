package io.shoalfs.fuse;

import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.fuse.core.FsException;
import io.shoalfs.fuse.core.ShoalFs;
import io.shoalfs.fuse.core.ShoalFs.TimeUpdate;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.StatFsReply;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import jnr.ffi.Memory;
import jnr.ffi.Pointer;
import jnr.ffi.Runtime;
import jnr.ffi.Struct;
import jnr.ffi.types.gid_t;
import jnr.ffi.types.mode_t;
import jnr.ffi.types.off_t;
import jnr.ffi.types.size_t;
import jnr.ffi.types.uid_t;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import ru.serce.jnrfuse.ErrorCodes;
import ru.serce.jnrfuse.FuseFillDir;
import ru.serce.jnrfuse.FuseStubFS;
import ru.serce.jnrfuse.struct.FileStat;
import ru.serce.jnrfuse.struct.FuseFileInfo;
import ru.serce.jnrfuse.struct.Statvfs;
import ru.serce.jnrfuse.struct.Timespec;

/**
 * The jnr-fuse callbacks: translate between native structs and {@link ShoalFs}, and nothing else.
 *
 * <p>Every callback catches everything (STYLE, FUSE): a metadata errno goes back unchanged, a storage failure
 * becomes EIO with one log line, anything unexpected becomes EIO with one log line. Nothing is thrown into
 * native code, where it would take down the FUSE loop.
 */
final class FuseAdapter extends FuseStubFS {
  private static final Logger LOG = LoggerFactory.getLogger(FuseAdapter.class);
  private static final long UTIME_NOW = (1L << 30) - 1;
  private static final long UTIME_OMIT = (1L << 30) - 2;
  private static final int STAT_BLOCK = 4096;
  /** st_blksize: what cp and friends size their buffers by; matches max_write. */
  private static final int IO_BLOCK = 128 << 10;
  private static final byte[] DOT = {'.', 0};
  private static final byte[] DOTDOT = {'.', '.', 0};

  private final ShoalFs fs;

  FuseAdapter(ShoalFs fs) {
    this.fs = fs;
  }

  /**
   * Mounts and serves until the filesystem is unmounted; returns libfuse's exit code. Runs fuse_main itself
   * rather than through jnr-fuse's mount(), which sleeps two seconds to guess whether mounting worked and
   * registers a shutdown hook per mount; {@link ShoalMount} probes the mount instead and owns the unmount.
   */
  int serve(java.nio.file.Path mountPoint, String[] argv) {
    this.mountPoint = mountPoint;
    mounted.set(true);
    return libFuse.fuse_main_real(argv.length, argv, fuseOperations, Struct.size(fuseOperations), null);
  }

  @FunctionalInterface
  private interface Op {
    int run() throws MetaException, IOException, FsException;
  }

  private static int call(String what, String path, Op op) {
    try {
      return op.run();
    } catch (FsException e) {
      LOG.debug("{} {}: {}", what, path, e.getMessage());
      return -e.errno();
    } catch (MetaException e) {
      LOG.debug("{} {}: {}", what, path, e.getMessage());
      return -e.errno();
    } catch (IOException e) {
      LOG.warn("{} {} failed: {}", what, path, firstLine(e.getMessage()));
      return -ErrorCodes.EIO();
    } catch (Throwable t) {
      LOG.error("{} {} failed unexpectedly: {}", what, path, firstLine(t.toString()));
      return -ErrorCodes.EIO();
    }
  }

  /** gRPC statuses print their cause's stack trace: keep the log to one line per failure. */
  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl).stripTrailing();
  }

  @Override
  public int getattr(String path, FileStat stat) {
    return call("getattr", path, () -> {
      fill(stat, fs.getAttr(path));
      return 0;
    });
  }

  @Override
  public int fgetattr(String path, FileStat stat, FuseFileInfo fi) {
    return call("fgetattr", path, () -> {
      fill(stat, fs.getAttr(fi.fh.get()));
      return 0;
    });
  }

  private static void fill(FileStat st, Attr a) {
    int type = a.getType() == FileType.DIRECTORY ? FileStat.S_IFDIR
        : a.getType() == FileType.SYMLINK ? FileStat.S_IFLNK : FileStat.S_IFREG;
    st.st_ino.set(a.getIno());
    st.st_mode.set(type | (a.getMode() & 07777));
    st.st_nlink.set(Math.max(1, a.getNlink()));
    st.st_uid.set(a.getUid());
    st.st_gid.set(a.getGid());
    st.st_size.set(a.getSize());
    st.st_blksize.set(IO_BLOCK);
    st.st_blocks.set((a.getSize() + 511) / 512);
    setTime(st.st_atim, a.getAtimeNs());
    setTime(st.st_mtim, a.getMtimeNs());
    setTime(st.st_ctim, a.getCtimeNs());
  }

  private static void setTime(Timespec t, long epochNanos) {
    t.tv_sec.set(Math.floorDiv(epochNanos, 1_000_000_000L));
    t.tv_nsec.set(Math.floorMod(epochNanos, 1_000_000_000L));
  }

  @Override
  public int readdir(String path, Pointer buf, FuseFillDir filler, @off_t long offset, FuseFileInfo fi) {
    return call("readdir", path, () -> {
      // One stat buffer for the whole listing: libfuse copies what it needs out of it per entry.
      Runtime runtime = Runtime.getSystemRuntime();
      FileStat st = FileStat.of(Memory.allocateDirect(runtime, Struct.size(new FileStat(runtime))));
      Pointer stMem = Struct.getMemory(st);
      // Offsets of 0: libfuse collects the whole listing in one call and pages it to the kernel itself.
      filler.apply(buf, ByteBuffer.wrap(DOT), null, 0);
      filler.apply(buf, ByteBuffer.wrap(DOTDOT), null, 0);
      fs.readDir(path, (name, ino, type) -> {
        st.st_ino.set(ino);
        st.st_mode.set(type == FileType.DIRECTORY ? FileStat.S_IFDIR
            : type == FileType.SYMLINK ? FileStat.S_IFLNK : FileStat.S_IFREG);
        return filler.apply(buf, ByteBuffer.wrap(cString(name)), stMem, 0) == 0;
      });
      return 0;
    });
  }

  /** The filler takes a C string: jnr passes the buffer's bytes as they are, so the NUL must be in them. */
  private static byte[] cString(String s) {
    byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
    byte[] out = new byte[utf8.length + 1];
    System.arraycopy(utf8, 0, out, 0, utf8.length);
    return out;
  }

  @Override
  public int mkdir(String path, @mode_t long mode) {
    return call("mkdir", path, () -> {
      fs.mkdir(path, (int) mode, uid(), gid());
      return 0;
    });
  }

  @Override
  public int rmdir(String path) {
    return call("rmdir", path, () -> {
      fs.rmdir(path);
      return 0;
    });
  }

  @Override
  public int unlink(String path) {
    return call("unlink", path, () -> {
      fs.unlink(path);
      return 0;
    });
  }

  @Override
  public int rename(String oldpath, String newpath) {
    return call("rename", oldpath, () -> {
      fs.rename(oldpath, newpath);
      return 0;
    });
  }

  @Override
  public int chmod(String path, @mode_t long mode) {
    return call("chmod", path, () -> {
      fs.chmod(path, (int) mode);
      return 0;
    });
  }

  @Override
  public int chown(String path, @uid_t long uid, @gid_t long gid) {
    return call("chown", path, () -> {
      fs.chown(path, uid, gid);
      return 0;
    });
  }

  @Override
  public int utimens(String path, Timespec[] timespec) {
    return call("utimens", path, () -> {
      fs.setTimes(path, time(timespec[0]), time(timespec[1]));
      return 0;
    });
  }

  private static TimeUpdate time(Timespec t) {
    long nsec = t.tv_nsec.longValue();
    if (nsec == UTIME_OMIT) {
      return TimeUpdate.OMIT;
    }
    if (nsec == UTIME_NOW) {
      return TimeUpdate.NOW;
    }
    return TimeUpdate.at(t.tv_sec.get() * 1_000_000_000L + nsec);
  }

  @Override
  public int truncate(String path, @off_t long size) {
    return call("truncate", path, () -> {
      fs.truncate(path, size);
      return 0;
    });
  }

  @Override
  public int ftruncate(String path, @off_t long size, FuseFileInfo fi) {
    return call("ftruncate", path, () -> {
      fs.truncate(fi.fh.get(), size);
      return 0;
    });
  }

  @Override
  public int statfs(String path, Statvfs st) {
    return call("statfs", path, () -> {
      StatFsReply s = fs.statFs();
      long capacity = s.getCapacityBytes();
      long free = Math.max(0, capacity - s.getUsedBytes());
      st.f_bsize.set(STAT_BLOCK);
      st.f_frsize.set(STAT_BLOCK);
      st.f_blocks.set(capacity / STAT_BLOCK);
      st.f_bfree.set(free / STAT_BLOCK);
      st.f_bavail.set(free / STAT_BLOCK);
      long files = s.getInodesCapacity();
      long freeFiles = Math.max(0, files - s.getInodesUsed());
      st.f_files.set(files);
      st.f_ffree.set(freeFiles);
      st.f_favail.set(freeFiles);
      st.f_namemax.set(Layout.NAME_MAX);
      return 0;
    });
  }

  @Override
  public int create(String path, @mode_t long mode, FuseFileInfo fi) {
    return call("create", path, () -> {
      fi.fh.set(fs.create(path, (int) mode, fi.flags.get(), uid(), gid()));
      return 0;
    });
  }

  @Override
  public int open(String path, FuseFileInfo fi) {
    return call("open", path, () -> {
      fi.fh.set(fs.open(path, fi.flags.get()));
      return 0;
    });
  }

  @Override
  public int read(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
    return call("read", path,
        () -> fs.read(fi.fh.get(), offset, (int) Math.min(size, Integer.MAX_VALUE), buf::put));
  }

  @Override
  public int write(String path, Pointer buf, @size_t long size, @off_t long offset, FuseFileInfo fi) {
    return call("write", path,
        () -> fs.write(fi.fh.get(), offset, (int) Math.min(size, Integer.MAX_VALUE), buf::get));
  }

  @Override
  public int flush(String path, FuseFileInfo fi) {
    return call("flush", path, () -> {
      fs.flush(fi.fh.get());
      return 0;
    });
  }

  @Override
  public int fsync(String path, int isdatasync, FuseFileInfo fi) {
    return call("fsync", path, () -> {
      fs.fsync(fi.fh.get());
      return 0;
    });
  }

  @Override
  public int release(String path, FuseFileInfo fi) {
    int rc = call("release", path, () -> {
      fs.release(fi.fh.get());
      return 0;
    });
    if (rc < 0) {
      // The kernel ignores release's result: this line is the only trace of writes that were not committed.
      LOG.warn("release of {} could not commit its writes (errno {})", path, -rc);
    }
    return rc;
  }

  private int uid() {
    return (int) getContext().uid.get();
  }

  private int gid() {
    return (int) getContext().gid.get();
  }
}
