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
 * Replicated storage as a user runs it: {@code shoal local --storage-daemons 4 --replication 3} (and {@code 2},
 * groups of two with witnesses), every component its own process. One storage daemon is killed with SIGKILL in the middle of a sequential write through the
 * mount, another in the middle of reading it back (page cache dropped): the application sees no error and the
 * file's SHA-256 matches. Then one is stopped with SIGSTOP during a write, longer than a request's deadline and
 * than {@code --daemon-dead-after}: the write goes on, and the stopped daemon is replaced in its groups, which
 * {@code shoal status} shows (no group under-replicated, the stopped daemon in none).
 */
class ReplicatedStorageIT {
  /**
   * Bytes written per phase: large enough that a kill lands in the middle (see the printed timings). CI runs 32
   * MiB; issue 7's acceptance sizes are {@code -Dshoal.it.replicatedMib=1024 -Dshoal.it.stopSeconds=60}.
   */
  static final int FILE_MIB = Integer.getInteger("shoal.it.replicatedMib", 32);
  /** The SIGSTOP lasts at least this long (and until the stopped daemon was replaced everywhere). */
  static final int STOP_SECONDS = Integer.getInteger("shoal.it.stopSeconds", 0);

  @TempDir Path tmp;

  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void groupsOfThree() throws Exception {
    killingAStorageDaemonDuringWritesAndReadsCostsTheApplicationNothing(3);
  }

  /** Groups of two data members, each with a witness (a third daemon that votes and keeps no bytes). */
  @Test
  @Timeout(value = 20, unit = TimeUnit.MINUTES)
  void groupsOfTwoWithWitnesses() throws Exception {
    killingAStorageDaemonDuringWritesAndReadsCostsTheApplicationNothing(2);
  }

  private void killingAStorageDaemonDuringWritesAndReadsCostsTheApplicationNothing(int replication)
      throws Exception {
    Path mnt = Files.createDirectories(tmp.resolve("mnt"));
    boolean passed = false;
    // Streamed from a seed (1 GiB does not fit the test JVM's heap): the same bytes for every write.
    MessageDigest expected = MessageDigest.getInstance("SHA-256");
    Random gen = new Random(42);
    byte[] piece = new byte[1 << 20];
    for (int i = 0; i < FILE_MIB; i++) {
      gen.nextBytes(piece);
      expected.update(piece);
    }
    byte[] sha = expected.digest();
    int data = FILE_MIB;
    ShoalProcess shoal = null;
    try {
      shoal = ShoalProcess.start(tmp, "local", "--dir", tmp.resolve("data").toString(), "--mount", mnt.toString(),
          "--meta-replicas", "1", "--storage-daemons", "4", "--replication", String.valueOf(replication),
          "--daemon-dead-after", "15s");
      LocalClusterIT.awaitStarted(shoal, mnt);
      assertTrue(shoal.err.stream().anyMatch(l -> l.contains("storage group r" + replication + "-")
          && l.contains(" formed")), "a group of " + replication + " is formed before the mount: " + shoal.lastErr(20));

      // SIGKILL of s1 while the file is being written.
      Path f = mnt.resolve("written-through-a-kill.bin");
      CompletableFuture<Long> write = CompletableFuture.supplyAsync(() -> timed(() -> writeAll(f, data)));
      Thread.sleep(1500);
      ProcessHandle s1 = LocalFaultIT.component(shoal, "storage", "--id", "s1").orElseThrow();
      s1.destroyForcibly();
      long writeMs = write.get(5, TimeUnit.MINUTES);
      System.out.printf("R=%d: replicated write of %d MiB with s1 killed after 1.5 s: %d ms%n", replication,
          FILE_MIB, writeMs);
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
        System.out.printf("R=%d: replicated write of %d MiB with s3 stopped: %d ms%n", replication, FILE_MIB,
            write2Ms);
        assertArrayEquals(sha, sha256(g), "the file written through the stop reads back exactly");
        // Re-replication: s3 leaves every replicated group; shoal status shows all groups with 3 live copies.
        List<String> status = null;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        long replacedMs = -1;
        while (System.nanoTime() < deadline) {
          status = status(tmp, shoal);
          if (status.contains("under-replicated: 0 group(s), 0 chunk(s)") && !inReplicatedGroup(status, "s3")) {
            replacedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped);
            break;
          }
          Thread.sleep(1000);
        }
        System.out.printf("R=%d: re-replicated without s3 %d ms after it was stopped; shoal status:%n%s%n",
            replication, replacedMs, String.join("\n", status));
        long stopUntil = stopped + TimeUnit.SECONDS.toNanos(STOP_SECONDS);
        while (System.nanoTime() < stopUntil) {
          Thread.sleep(200);
        }
        assertTrue(status.contains("under-replicated: 0 group(s), 0 chunk(s)"), String.join("\n", status));
        assertTrue(!inReplicatedGroup(status, "s3"), "s3 was replaced in every group: " + String.join("\n", status));
      } finally {
        Runtime.getRuntime().exec(new String[] {"kill", "-CONT", String.valueOf(s3.pid())}).waitFor();
        System.out.printf("R=%d: s3 was stopped for %d ms%n", replication,
            TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - stopped));
      }
      assertArrayEquals(sha, sha256(g), "and it still reads back exactly after the changes");
      assertArrayEquals(sha, sha256(f));

      LocalClusterIT.stopAndCheckClean(shoal, mnt);
      passed = true;
    } finally {
      if (shoal != null) {
        shoal.close();
      }
      TestMounts.forceUnmount(mnt);
      if (!passed) {
        keepLogs(replication);
      }
    }
  }

  /** A failed run keeps the components' logs (the temp dir goes): target/replicated-it-logs/r{R}/. */
  private void keepLogs(int replication) {
    Path from = tmp.resolve("data").resolve("logs");
    Path to = Path.of("target", "replicated-it-logs", "r" + replication);
    try (var logs = Files.list(from)) {
      Files.createDirectories(to);
      for (Path log : logs.toList()) {
        Files.copy(log, to.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      }
      System.out.println("R=" + replication + ": the components' logs are kept in " + to.toAbsolutePath());
    } catch (java.io.IOException e) {
      System.out.println("R=" + replication + ": could not keep the logs: " + e);
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

  /** Writes {@code mib} MiB of the seeded stream in 1 MiB calls, as dd bs=1M does, and closes (which flushes). */
  private static void writeAll(Path f, int mib) throws Exception {
    Random gen = new Random(42);
    byte[] piece = new byte[1 << 20];
    try (OutputStream out = Files.newOutputStream(f)) {
      for (int i = 0; i < mib; i++) {
        gen.nextBytes(piece);
        out.write(piece);
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
