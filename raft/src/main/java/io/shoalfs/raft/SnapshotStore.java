package io.shoalfs.raft;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.ratis.server.protocol.TermIndex;
import org.apache.ratis.server.storage.FileInfo;
import org.apache.ratis.server.storage.RaftStorage;
import org.apache.ratis.statemachine.SnapshotRetentionPolicy;
import org.apache.ratis.statemachine.StateMachineStorage;
import org.apache.ratis.statemachine.impl.FileListSnapshotInfo;

/**
 * Snapshots are RocksDB checkpoints, one directory each: {@code <raft sm dir>/snapshot.<term>_<index>/}. A
 * snapshot is built in a hidden temporary directory and renamed into place, so a directory with the final
 * name is always complete. Ratis ships the files of the latest one to followers that fell behind the log; it
 * writes them into the same layout, so an installed snapshot is found like a local one.
 */
public final class SnapshotStore implements StateMachineStorage {
  private static final Pattern NAME = Pattern.compile("snapshot\\.(\\d+)_(\\d+)");
  private static final String TMP_PREFIX = ".tmp.";
  /** Ratis writes a digest next to every file it receives; it is not part of the database. */
  private static final String DIGEST_SUFFIX = ".md5";

  private volatile Path smDir;
  private volatile Snapshot latest;

  /** One complete snapshot on disk. */
  public record Snapshot(TermIndex termIndex, Path dir, FileListSnapshotInfo info) {}

  @Override
  public void init(RaftStorage storage) throws IOException {
    smDir = storage.getStorageDir().getStateMachineDir().toPath();
    Files.createDirectories(smDir);
    reload();
  }

  /** Re-reads the directory: after start, and after Ratis installed a snapshot from the leader. */
  public void reload() throws IOException {
    Snapshot best = null;
    for (Path p : list(smDir)) {
      Matcher m = NAME.matcher(p.getFileName().toString());
      if (Files.isDirectory(p) && m.matches()) {
        TermIndex ti = TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
        if (best == null || ti.compareTo(best.termIndex()) > 0) {
          best = new Snapshot(ti, p, null);
        }
      }
    }
    latest = best == null ? null : describe(best.termIndex(), best.dir());
  }

  public Snapshot latest() {
    return latest;
  }

  @Override
  public FileListSnapshotInfo getLatestSnapshot() {
    Snapshot s = latest;
    return s == null ? null : s.info();
  }

  /** A fresh, non-existing temporary path for building the snapshot of {@code ti}. */
  public Path tempDir(TermIndex ti) throws IOException {
    Path tmp = smDir.resolve(TMP_PREFIX + name(ti));
    deleteRecursively(tmp);
    return tmp;
  }

  /** Moves a finished temporary snapshot into place and makes it the latest. */
  public void publish(Path tmp, TermIndex ti) throws IOException {
    Path dir = smDir.resolve(name(ti));
    if (Files.exists(dir)) {
      throw new FileAlreadyExistsException(dir.toString(), null, "a snapshot at " + ti + " exists already");
    }
    Files.move(tmp, dir, StandardCopyOption.ATOMIC_MOVE);
    fsyncDir(smDir);
    latest = describe(ti, dir);
  }

  @Override
  public void format() {}

  @Override
  public void cleanupOldSnapshots(SnapshotRetentionPolicy policy) throws IOException {
    int keep = policy == null ? -1 : policy.getNumSnapshotsRetained();
    List<Path> snapshots = new ArrayList<>();
    for (Path p : list(smDir)) {
      String n = p.getFileName().toString();
      if (n.startsWith(TMP_PREFIX)) {
        deleteRecursively(p);
      } else if (NAME.matcher(n).matches()) {
        snapshots.add(p);
      }
    }
    if (keep <= 0 || snapshots.size() <= keep) {
      return;
    }
    snapshots.sort(Comparator.comparing(SnapshotStore::termIndexOf).reversed());
    for (Path old : snapshots.subList(keep, snapshots.size())) {
      deleteRecursively(old);
    }
  }

  /**
   * Replaces {@code db} with a copy of the snapshot in {@code from}. SST files are immutable in RocksDB, so
   * they are hard-linked; everything else is copied, so the snapshot never changes under the live database.
   */
  public static void restore(Path from, Path db) throws IOException {
    deleteRecursively(db);
    Files.createDirectories(db);
    for (Path f : list(from)) {
      String n = f.getFileName().toString();
      if (!Files.isRegularFile(f) || n.endsWith(DIGEST_SUFFIX)) {
        continue;
      }
      Path target = db.resolve(n);
      if (n.endsWith(".sst")) {
        try {
          Files.createLink(target, f);
          continue;
        } catch (IOException | UnsupportedOperationException e) {
          // Another file system or no hard links: fall through to a copy.
        }
      }
      Files.copy(f, target);
    }
  }

  public static void deleteRecursively(Path p) throws IOException {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(p)) {
      for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    } catch (UncheckedIOException e) {
      throw e.getCause();
    }
  }

  private static Snapshot describe(TermIndex ti, Path dir) throws IOException {
    List<FileInfo> files = new ArrayList<>();
    for (Path f : list(dir)) {
      if (Files.isRegularFile(f) && !f.getFileName().toString().endsWith(DIGEST_SUFFIX)) {
        // No digest: Ratis computes it while sending.
        files.add(new FileInfo(f.toAbsolutePath(), null));
      }
    }
    return new Snapshot(ti, dir, new FileListSnapshotInfo(files, ti));
  }

  private static String name(TermIndex ti) {
    return "snapshot." + ti.getTerm() + "_" + ti.getIndex();
  }

  private static TermIndex termIndexOf(Path p) {
    Matcher m = NAME.matcher(p.getFileName().toString());
    if (!m.matches()) {
      throw new IllegalArgumentException(p + " is not a snapshot");
    }
    return TermIndex.valueOf(Long.parseLong(m.group(1)), Long.parseLong(m.group(2)));
  }

  private static List<Path> list(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }

  private static void fsyncDir(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }
}
