package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.cli.Cli;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Bad arguments give one line on stderr, a non-zero exit, and start nothing. */
@Timeout(60)
class MetaCommandTest {
  @TempDir Path tmp;

  record Outcome(int exit, String err) {}

  Outcome run(String... args) {
    CommandLine cl = Cli.commandLine(new MetaCommand());
    StringWriter err = new StringWriter();
    cl.setErr(new PrintWriter(err));
    cl.setOut(new PrintWriter(new StringWriter()));
    return new Outcome(cl.execute(args), err.toString());
  }

  @Test
  void badArgumentsFailWithOneLine() {
    String dir = tmp.resolve("d").toString();
    List<String[]> cases = List.of(
        new String[] {"--id", "c", "--peers", "a=127.0.0.1:9000,b=127.0.0.1:9002", "--dir", dir},
        new String[] {"--id", "a", "--peers", "a=127.0.0.1", "--dir", dir},
        new String[] {"--id", "a", "--peers", "127.0.0.1:9000", "--dir", dir},
        new String[] {"--id", "a", "--peers", "a=127.0.0.1:9000,a=127.0.0.1:9002", "--dir", dir},
        new String[] {"--id", "a", "--peers", "a=127.0.0.1:70000", "--dir", dir},
        new String[] {"--id", "a", "--peers", ",", "--dir", dir},
        new String[] {"--id", "a", "--dir", dir},
        new String[] {"--id", "a", "--peers", "a=127.0.0.1:9000", "--dir", dir, "--bogus"},
        new String[] {"--id", "a", "--peers", "a=127.0.0.1:9000,b=127.0.0.1:9001", "--dir", dir},
        new String[] {"--id", "b", "--peers", "a=127.0.0.1:9001,b=127.0.0.1:9000,c=127.0.0.1:9004", "--dir", dir});
    for (String[] args : cases) {
      Outcome o = run(args);
      assertTrue(o.exit() != 0, String.join(" ", args));
      assertEquals(1, o.err().strip().lines().count(), "one line for " + String.join(" ", args) + ": " + o.err());
      assertTrue(o.err().startsWith("shoal: "), o.err());
    }
    assertTrue(run(cases.get(0)).err().contains("--id c is not among --peers a,b"), run(cases.get(0)).err());
    String clash = run(cases.get(cases.size() - 1)).err();
    assertTrue(clash.contains("127.0.0.1:9001 would be both the raft port of a and the client port of b"), clash);
    assertTrue(!Files.exists(tmp.resolve("d")), "nothing was started or created");
  }

  @Test
  void peersOnOtherHostsOrFarApartDoNotClash() {
    assertEquals(null, MetaServer.Config.portClash(MetaCommand.parsePeers("a=h1:9000,b=h2:9001,c=h1:9002")));
  }

  @Test
  void parsesPeersInOrder() {
    assertEquals(List.of("b", "a"), List.copyOf(MetaCommand.parsePeers("b=h:1, a=[::1]:2").keySet()));
    assertEquals("::1", MetaCommand.parsePeers("a=[::1]:2").get("a").host());
  }
}
