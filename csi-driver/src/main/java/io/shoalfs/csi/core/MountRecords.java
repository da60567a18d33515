package io.shoalfs.csi.core;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;

/**
 * What this node plugin staged, kept in its state directory so a restarted plugin still knows which FUSE
 * process serves which staging path (the processes outlive the plugin). One small properties file per staging
 * path, written atomically (temp file + rename); the mount process's log sits next to it.
 */
public final class MountRecords {
  private final Path dir;

  /**
   * @param volumeId the CSI volume id that was staged
   * @param stagingPath where it is mounted
   * @param pid the mount process
   * @param startMillis the mount process's start time, so a reused pid is not mistaken for it
   */
  public record Record(String volumeId, Path stagingPath, long pid, long startMillis) {}

  public MountRecords(Path stateDir) {
    this.dir = stateDir.resolve("mounts");
  }

  public Path logFile(Path stagingPath) {
    return dir.resolve(key(stagingPath) + ".log");
  }

  public Optional<Record> load(Path stagingPath) throws CsiError.Internal {
    return StateFiles.load(file(stagingPath), MountRecords::parse, "mount record");
  }

  /** Every record, in no particular order; unreadable ones are skipped (they name no usable mount). */
  public List<Record> list() throws CsiError.Internal {
    List<Record> out = new ArrayList<>();
    try {
      for (Path f : StateFiles.list(dir)) {
        try {
          out.add(parse(StateFiles.read(f)));
        } catch (IOException | RuntimeException e) {
          // unreadable: names no usable mount
        }
      }
    } catch (IOException e) {
      throw new CsiError.Internal("cannot list mount records in " + dir + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static Record parse(Properties p) {
    return new Record(p.getProperty("volume_id"), Path.of(p.getProperty("staging_path")),
        Long.parseLong(p.getProperty("pid")), Long.parseLong(p.getProperty("start_millis")));
  }

  public void save(Record rec) throws CsiError.Internal {
    Properties p = new Properties();
    p.setProperty("volume_id", rec.volumeId());
    p.setProperty("staging_path", rec.stagingPath().toString());
    p.setProperty("pid", Long.toString(rec.pid()));
    p.setProperty("start_millis", Long.toString(rec.startMillis()));
    Path f = file(rec.stagingPath());
    try {
      StateFiles.write(f, p, "Shoal CSI mount of " + rec.volumeId());
    } catch (IOException e) {
      throw new CsiError.Internal("cannot write mount record " + f + ": " + e.getMessage(), e);
    }
  }

  /** Forgets a staging path's mount; its log stays for whoever investigates a failed mount. */
  public void delete(Path stagingPath) throws CsiError.Internal {
    deleteFile(file(stagingPath));
  }

  /** Forgets a cleanly unmounted staging path: its record and its mount process's log. */
  public void deleteWithLog(Path stagingPath) throws CsiError.Internal {
    deleteFile(file(stagingPath));
    deleteFile(logFile(stagingPath));
  }

  private static void deleteFile(Path f) throws CsiError.Internal {
    try {
      Files.deleteIfExists(f);
    } catch (IOException e) {
      throw new CsiError.Internal("cannot delete " + f + ": " + e.getMessage(), e);
    }
  }

  private Path file(Path stagingPath) {
    return dir.resolve(key(stagingPath) + ".properties");
  }

  private static String key(Path stagingPath) {
    return StateFiles.key(stagingPath.toString());
  }
}
