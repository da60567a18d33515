package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicated storage as a user runs it: {@code shoal local --storage-daemons 4 --replication 3}, every component
 * its own process. One storage daemon is killed with SIGKILL in the middle of a sequential write through the
 * mount, another in the middle of reading it back (page cache dropped): the application sees no error and the
 * file's SHA-256 matches. Then one is stopped with SIGSTOP during a write, longer than a request's deadline and
 * than {@code --daemon-dead-after}: the write goes on, and the stopped daemon is replaced in its groups, which
 * {@code shoal status} shows (no group under-replicated, the stopped daemon in none).
 */
class ReplicatedStorageIT {
  /** Bytes written per phase: large enough that a kill lands in the middle (see the printed timings). */
  static final int FILE_MIB = Integer.getInteger("shoal.it.replicatedMib", 32);

  @TempDir Path tmp;

  @Test
  @Timeout(value = 10, unit = TimeUnit.MINUTES)
  void killingAStorageDaemonDuringWritesAndReadsCostsTheApplicationNothing() throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    byte[] data = new byte[FILE_MIB << 20];
    new Random(42).nextBytes(data);
    byte[] sha = MessageDigest.getInstance("SHA-256").digest(data);
    ShoalProcess shoal = null;
    try {
      shoal = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("data").toString(), "--mount", mnt.toString(),
          "--meta-replicas", "1", "--storage-daemons", "4", "--replication", "3", "--daemon-dead-after", "15s");
      LocalClusterIT.awaitStarted(shoal, mnt);
      assertTrue(shoal.err.stream().anyMatch(l -> l.contains("storage group r3-") && l.contains(" formed")),
          "a group of three is formed before the mount: " + shoal.lastErr(20));

      // SIGKILL of s1 while the file is being written.
      Path f = mnt.resolve("written-through-a-kill.bin");
      CompletableFuture<Long> write = CompletableFuture.supplyAsync(() -> timed(() -> writeAll(f, data)));
      Thread.sleep(1500);
      ProcessHandle s1 = LocalFaultIT.component(shoal, "storage", "--id", "s1").orElseThrow();
      s1.destroyForcibly();
      long writeMs = write.get(5, TimeUnit.MINUTES);
      System.out.printf("replicated write of %d MiB with s1 killed after 1.5 s: %d ms%n", FILE_MIB, writeMs);
      assertArrayEquals(sha, sha256(f), "the file written through the kill reads back exactly");
      LocalFaultIT.awaitComponent(shoal, s1.pid(), 60, "storage", "--id", "s1");

      // SIGKILL of s2 while the file is read from the daemons (not the page cache).
      Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3");
      CompletableFuture<byte[]> read = CompletableFuture.supplyAsync(() -> {
        try {
          return sha256(f);
        } catch (Exception e) {
          throw new RuntimeException(e);
        }
      });
      Thread.sleep(300);
      ProcessHandle s2 = LocalFaultIT.component(shoal, "storage", "--id", "s2").orElseThrow();
      s2.destroyForcibly();
      assertArrayEquals(sha, read.get(5, TimeUnit.MINUTES), "the read through the kill returns the same bytes");
      LocalFaultIT.awaitComponent(shoal, s2.pid(), 60, "storage", "--id", "s2");

      // SIGSTOP of s3 for longer than one request's deadline (5 s) and than --daemon-dead-after during a write.
      Path g = mnt.resolve("written-through-a-stop.bin");
      CompletableFuture<Long> write2 = CompletableFuture.supplyAsync(() -> timed(() -> writeAll(g, data)));
      Thread.sleep(1000);
      ProcessHandle s3 = LocalFaultIT.component(shoal, "storage", "--id", "s3").orElseThrow();
      Runtime.getRuntime().exec(new String[] {"kill", "-STOP", String.valueOf(s3.pid())}).waitFor();
      long stopped = System.nanoTime();
      try {
        long write2Ms = write2.get(5, TimeUnit.MINUTES);
        System.out.printf("replicated write of %d MiB with s3 stopped: %d ms%n", FILE_MIB, write2Ms);
        assertArrayEquals(sha, sha256(g), "the file written through the stop reads back exactly");
        // Re-replication: s3 leaves every replicated group; shoal status shows all groups with 3 live copies.
        List<String> status = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline) {
          status = status(tmp, shoal);
          if (status.contains("under-replicated: 0 group(s), 0 chunk(s)") && !inReplicatedGroup(status, "s3")) {
            break;
          }
          Thread.sleep(1000);
        }
        System.out.printf("re-replicated without s3 %d ms after it was stopped; shoal status:%n%s%n",
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped), String.join("\n", status));
        assertTrue(status.contains("under-replicated: 0 group(s), 0 chunk(s)"), String.join("\n", status));
        assertTrue(!inReplicatedGroup(status, "s3"), "s3 was replaced in every group: " + String.join("\n", status));
      } finally {
        Runtime.getRuntime().exec(new String[] {"kill", "-CONT", String.valueOf(s3.pid())}).waitFor();
      }
      assertArrayEquals(sha, sha256(g), "and it still reads back exactly after the changes");
      assertArrayEquals(sha, sha256(f));

      LocalClusterIT.stopAndCheckClean(shoal, mnt);
    } finally {
      if (shoal != null) {
        shoal.close();
      }
      TestMounts.forceUnmount(mnt);
    }
  }

  /** The lines of {@code shoal status} against the running local cluster. */
  private static List<String> status(Path tmp, ShoalProcess shoal) throws Exception {
    String meta = shoal.out.stream().filter(l -> l.startsWith("meta: ")).findFirst().orElseThrow().substring(6);
    try (ShoalProcess p = ShoalProcess.start(tmp, "status", "--meta", meta)) {
      p.waitFor(60);
      return List.copyOf(p.out);
    }
  }

  /** Whether {@code shoal status} lists daemon {@code id} as a member of a replicated group. */
  private static boolean inReplicatedGroup(List<String> status, String id) {
    boolean replicated = false;
    for (String l : status) {
      if (l.startsWith("  ") && !l.startsWith("    ")) {
        replicated = l.contains("(replicated");
      } else if (replicated && l.trim().startsWith(id + " ")) {
        return true;
      }
    }
    return false;
  }

  private interface Io {
    void run() throws Exception;
  }

  private static long timed(Io io) {
    long start = System.nanoTime();
    try {
      io.run();
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
    return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
  }

  /** Writes in 1 MiB calls, as dd bs=1M does, and closes (which flushes). */
  private static void writeAll(Path f, byte[] data) throws Exception {
    try (OutputStream out = Files.newOutputStream(f)) {
      for (int off = 0; off < data.length; off += 1 << 20) {
        out.write(data, off, Math.min(1 << 20, data.length - off));
      }
    }
  }

  private static byte[] sha256(Path f) throws Exception {
    MessageDigest md = MessageDigest.getInstance("SHA-256");
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(f)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return md.digest();
  }
}
