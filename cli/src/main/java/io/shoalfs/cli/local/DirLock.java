package io.shoalfs.cli.local;

import io.shoalfs.common.cli.UserError;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * One {@code shoal local} per data directory: an OS file lock on {@code DIR/lock} (released by the kernel if the
 * holder dies, so a crash never leaves a stale lock). The holder's pid is written into the file for the message.
 */
public final class DirLock implements AutoCloseable {
  private final FileChannel channel;
  private final FileLock lock;

  private DirLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  public static DirLock acquire(Path dir) {
    Path file = dir.resolve("lock");
    FileChannel ch = null;
    try {
      ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock l = ch.tryLock();
      if (l == null) {
        String holder = Files.readString(file, StandardCharsets.UTF_8).trim();
        ch.close();
        throw new UserError("another shoal local is running on " + dir
            + (holder.isEmpty() ? "" : " (pid " + holder + ")") + "; stop it first or use another --dir");
      }
      ch.truncate(0);
      ch.write(ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
      ch.force(true);
      return new DirLock(ch, l);
    } catch (IOException e) {
      closeQuietly(ch);
      throw new UserError("cannot lock " + file + ": " + e.getMessage());
    }
  }

  @Override
  public void close() {
    try {
      if (lock.isValid()) {
        channel.truncate(0);
        lock.release();
      }
    } catch (IOException ignored) {
      // the kernel drops the lock with the descriptor anyway
    }
    closeQuietly(channel);
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing to do on a failed close of a lock file
      }
    }
  }
}
