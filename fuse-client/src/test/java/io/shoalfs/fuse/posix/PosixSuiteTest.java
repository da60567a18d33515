package io.shoalfs.fuse.posix;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.shoalfs.fuse.ClusterExtension;
import io.shoalfs.storage.testing.TestCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Acceptance 1 and 8 of issue 5: our POSIX conformance suite (src/test/resources/posix/posix_suite.py) on a real
 * Shoal mount, as root and as an unprivileged user (uid/gid 65534 through setpriv, no supplementary groups).
 * Fails with the list of failing cases.
 */
@Tag("posix")
@ExtendWith(ClusterExtension.class)
@Timeout(value = 300, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class PosixSuiteTest {
  private static final Duration SUITE_TIMEOUT = Duration.ofSeconds(240);
  private static final Pattern CASES = Pattern.compile("^cases: (\\d+) ");
  private static final Pattern SUMMARY = Pattern.compile("^(\\d+) passed, (\\d+) failed$");

  static PosixVolume volume;
  static Path root;

  @BeforeAll
  static void mount(TestCluster cluster) throws Exception {
    volume = PosixVolume.create(cluster, "suite");
    root = volume.mount("a");
  }

  @AfterAll
  static void unmount() throws Exception {
    if (volume != null) {
      volume.close();
    }
  }

  @Test
  void passesAsRoot() throws Exception {
    Path dir = Files.createDirectories(root.resolve("as-root"));
    check(ChildProcess.run(volume.base(), SUITE_TIMEOUT, PosixVolume.PYTHON,
        volume.script("posix_suite.py").toString(), dir.toString()), "root");
  }

  @Test
  void passesAsAnUnprivilegedUser() throws Exception {
    Path dir = root.resolve("as-user");
    String script = volume.script("posix_suite.py").toString();
    // Root prepares a world-writable dir and root-owned fixtures (sticky dir, setgid dir of another group).
    ChildProcess.run(volume.base(), SUITE_TIMEOUT, PosixVolume.PYTHON, script, "--prepare-user", dir.toString())
        .ok();
    Files.setPosixFilePermissions(root, PosixFilePermissions.fromString("rwxr-xr-x"));
    check(ChildProcess.run(volume.base(), SUITE_TIMEOUT, "setpriv", "--reuid=65534", "--regid=65534",
        "--clear-groups", PosixVolume.PYTHON, script, dir.toString()), "uid 65534");
  }

  private static void check(ChildProcess.Result r, String who) {
    System.out.println("posix suite as " + who + ":\n" + r.output());
    List<String> failed = new ArrayList<>();
    int cases = -1;
    int passed = -1;
    int failedCount = -1;
    for (String line : r.output().split("\n")) {
      if (line.startsWith("FAIL ")) {
        failed.add(line);
      }
      Matcher c = CASES.matcher(line);
      if (c.find()) {
        cases = Integer.parseInt(c.group(1));
      }
      Matcher s = SUMMARY.matcher(line);
      if (s.matches()) {
        passed = Integer.parseInt(s.group(1));
        failedCount = Integer.parseInt(s.group(2));
      }
    }
    assertTrue(passed >= 0, "the suite as " + who + " did not finish (exit " + r.exit() + "):\n"
        + ChildProcess.tail(r.output()));
    if (!failed.isEmpty()) {
      fail(failed.size() + " of " + cases + " POSIX cases fail as " + who + ":\n" + String.join("\n", failed));
    }
    assertEquals(0, failedCount, "failed count in the summary line as " + who);
    assertEquals(cases, passed, "every case that was announced passed, as " + who);
    assertTrue(cases >= 80, "the suite ran only " + cases + " cases as " + who);
    assertEquals(0, r.exit(), "exit code of the suite as " + who);
  }
}
