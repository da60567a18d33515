package io.shoalfs.storage;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import io.shoalfs.common.cli.Cli;
import io.shoalfs.common.net.Ports;
import io.shoalfs.proto.storage.DaemonStatusRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

@Timeout(60)
class StorageCommandTest {
  static Stream<Arguments> badFlags() {
    return Stream.of(
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x"), "Missing required option"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "nope"),
            "--listen: bad address"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "0.0.0.0:7000"),
            "give a reachable host"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "0.0.0.0:7000",
            "--advertise", "0.0.0.0:7000"), "--advertise: 0.0.0.0:7000 is registered for clients to dial"),
        Arguments.of(List.of("--id", "a", "--meta", "", "--dir", "/tmp/x", "--listen", "127.0.0.1:7000"),
            "--meta: empty address list"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:x", "--dir", "/tmp/x", "--listen", "127.0.0.1:7000"),
            "--meta: bad port"),
        Arguments.of(List.of("--id", " ", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "127.0.0.1:7000"),
            "--id must not be empty"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "127.0.0.1:7000",
            "--capacity", "10Xi"), "--capacity: bad size"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "127.0.0.1:7000",
            "--capacity", "0"), "--capacity must be positive"),
        Arguments.of(List.of("--id", "a", "--meta", "127.0.0.1:9860", "--dir", "/tmp/x", "--listen", "127.0.0.1:7000",
            "--bogus"), "Unknown option"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("badFlags")
  void badFlagsGiveOneLineAndExitTwo(List<String> args, String reason) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = Cli.commandLine(new StorageCommand());
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int code = cl.execute(args.toArray(String[]::new));
    assertEquals(2, code, err.toString());
    String[] lines = err.toString().strip().split("\n");
    assertEquals(1, lines.length, err.toString());
    assertTrue(lines[0].startsWith("shoal: ") && lines[0].contains(reason), lines[0]);
    assertEquals("", out.toString());
  }

  /** A real process: it listens, serves, and on SIGTERM stops cleanly with exit code 0. */
  @Test
  void sigtermStopsTheDaemonWithExitZero(@TempDir Path dir) throws Exception {
    int port = Ports.freePort();
    // Files, not pipes: the JDK drains a dead process's pipes racily and a reader thread can lose the tail.
    Path out = dir.resolve("stdout");
    Path err = dir.resolve("stderr");
    String java = ProcessHandle.current().info().command().orElse("java");
    Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
        "-cp", System.getProperty("java.class.path"), StorageMain.class.getName(),
        "--id", "s7", "--meta", "127.0.0.1:" + Ports.freePortPair(), "--dir", dir.resolve("data").toString(),
        "--listen", "127.0.0.1:" + port, "--capacity", "1Gi")
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    ManagedChannel channel = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
    try {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!Files.readString(err).contains("listening on 127.0.0.1:" + port) && p.isAlive()
          && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertTrue(p.isAlive(), "daemon died: " + Files.readString(err));
      assertEquals("s7", StorageServiceGrpc.newBlockingStub(channel).withDeadlineAfter(10, TimeUnit.SECONDS)
          .status(DaemonStatusRequest.getDefaultInstance()).getId());

      p.destroy(); // SIGTERM
      assertTrue(p.waitFor(20, TimeUnit.SECONDS), "daemon did not stop on SIGTERM");
      String log = Files.readString(err);
      assertEquals(0, p.exitValue(), log);
      assertTrue(log.contains("storage s7 stopping"), log);
      assertTrue(log.contains("storage s7 stopped"), log);
      // Not registered (no metadata service): it must not claim to be ready.
      assertEquals("", Files.readString(out));
    } finally {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
      p.destroyForcibly();
      p.waitFor(10, TimeUnit.SECONDS);
    }
  }
}
