package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.net.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The image's files, laid out exactly as {@code helm/images/Dockerfile} copies them from the build context its
 * {@code .dockerignore} lets through, must run: {@code shoal --version} and a metadata replica, from that layout
 * alone (no sources, no Maven, nothing of the checkout). A file the launcher needs that the Dockerfile does not
 * copy, or that the ignore file keeps out of the context, fails here instead of crash-looping every pod.
 */
class ImageLayoutIT {
  @TempDir Path tmp;

  private static final Path ROOT = ShoalProcess.projectRoot();
  private static final Path DOCKERFILE = ROOT.resolve("helm/images/Dockerfile");

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void theImageRunsVersionAndAMetadataReplicaFromItsOwnFiles() throws Exception {
    ImageLayout image = ImageLayout.read(ROOT, DOCKERFILE);
    Path root = Files.createDirectories(tmp.resolve("image"));
    image.layOut(root);

    // CMD ["shoal", ...] under the entrypoint: "shoal" must resolve through the image's PATH to a laid-out file.
    List<String> cmd = image.execForm("CMD");
    Map<String, String> env = image.env(Map.of("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"));
    Path shoal = resolveOnPath(root, env.get("PATH"), cmd.get(0));
    assertTrue(Files.isExecutable(shoal), shoal + " is executable");
    // The entrypoint (tini) comes from a package, not the context: the RUN lines must install it.
    String entrypoint = Path.of(image.execForm("ENTRYPOINT").get(0)).getFileName().toString();
    assertTrue(image.instructions("RUN").stream().anyMatch(r -> r.arguments().matches("(?s).*apt-get install.*\\b"
        + entrypoint + "\\b.*")), "a RUN line installs the entrypoint " + entrypoint);

    Map<String, String> runEnv = new HashMap<>();
    runEnv.put("SHOAL_HOME", root.resolve(env.get("SHOAL_HOME").substring(1)).toString());
    try (ShoalProcess p = ShoalProcess.startProgram(shoal, tmp, runEnv, "--version")) {
      assertEquals(0, p.waitFor(60), "shoal --version from the layout; stderr: " + p.err);
      assertEquals(1, p.out.size(), "one line: " + p.out);
      assertTrue(p.out.get(0).matches("shoal \\d+\\.\\d+\\.\\d+\\S*"), "a release version: " + p.out);
      assertEquals(List.of(), p.err, "nothing on stderr (no build attempt, no missing file)");
    }
    assertTrue(Files.notExists(root.resolve("opt/shoal/.build.log")), "the launcher never tried to build");

    int port = Ports.freePortPair();
    Path data = Files.createDirectories(root.resolve("data/meta"));
    try (ShoalProcess meta = ShoalProcess.startProgram(shoal, tmp, runEnv, "meta", "--id", "m1", "--peers",
        "m1=127.0.0.1:" + port, "--dir", data.toString())) {
      String ready = meta.awaitLine("ready: meta m1", 90);
      assertTrue(ready.contains("raft=127.0.0.1:" + port), ready);
      meta.terminate();
      assertEquals(0, meta.waitFor(30), "a clean stop on SIGTERM; stderr: " + meta.lastErr(10));
    }
  }

  @Test
  @Timeout(value = 2, unit = TimeUnit.MINUTES)
  void aLauncherFileLeftOutOfTheImageFailsTheLayoutOrTheRun() throws Exception {
    String dockerfile = Files.readString(DOCKERFILE);
    String ignore = Files.readString(DOCKERFILE.resolveSibling("Dockerfile.dockerignore"));
    assertTrue(dockerfile.contains("COPY bin/lib/ /opt/shoal/bin/lib/") && ignore.contains("!bin/lib/"),
        "the image copies bin/lib and its context lets it through");

    // The ignore file keeps bin/lib out of the context: the COPY has nothing to copy.
    Path variant = Files.createDirectories(tmp.resolve("a")).resolve("Dockerfile");
    Files.writeString(variant, dockerfile);
    Files.writeString(variant.resolveSibling("Dockerfile.dockerignore"), ignore.replace("!bin/lib/\n", ""));
    AssertionError refused = assertThrows(AssertionError.class,
        () -> ImageLayout.read(ROOT, variant).layOut(Files.createDirectories(tmp.resolve("a/root"))));
    assertTrue(refused.getMessage().contains("COPY bin/lib/"), refused.getMessage());

    // The Dockerfile forgets bin/lib (the bug this test was written for): the launcher cannot start.
    Path forgot = Files.createDirectories(tmp.resolve("b")).resolve("Dockerfile");
    Files.writeString(forgot, dockerfile.replace("COPY bin/lib/ /opt/shoal/bin/lib/\n", ""));
    Files.writeString(forgot.resolveSibling("Dockerfile.dockerignore"), ignore);
    Path root = Files.createDirectories(tmp.resolve("b/root"));
    ImageLayout.read(ROOT, forgot).layOut(root);
    try (ShoalProcess p = ShoalProcess.startProgram(root.resolve("opt/shoal/bin/shoal"), tmp, Map.of(), "--version")) {
      assertNotEquals(0, p.waitFor(60));
      assertTrue(String.join("\n", p.err).contains("java.sh"), "names the missing file: " + p.err);
    }
  }

  private static Path resolveOnPath(Path root, String path, String program) {
    for (String dir : path.split(":")) {
      Path candidate = root.resolve(dir.substring(1)).resolve(program);
      if (Files.isRegularFile(candidate)) {
        return candidate;
      }
    }
    throw new AssertionError(program + " is not on the image's PATH " + path + " (nothing laid out there)");
  }
}
