package io.shoalfs.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A rendered hook container's script run on this machine as its pod would run it: the container's args
 * ({@code /bin/sh -ec SCRIPT}), its literal env, the real fio, and a local directory in place of the volume
 * (the scripts take it from {@code DATA_DIR}). The image is Ubuntu's, where /bin/sh is dash, as it is here.
 */
final class HookScript {
  /** What one run printed (stdout and stderr together) and how it ended. */
  record Result(int exit, String output) {}

  private HookScript() {}

  /** Starts the script; {@code env} is added to the container's env and wins over it (DATA_DIR, the index). */
  static Process start(Container c, Map<String, String> env, Path log) throws IOException {
    List<String> args = c.getArgs();
    assertEquals(List.of("/bin/sh", "-ec"), args.subList(0, 2), "the hook scripts run under sh -e");
    // In the log's directory: fio leaves its verify state files (*-verify.state) where it runs after a failure.
    ProcessBuilder pb = new ProcessBuilder(args).directory(log.getParent().toFile()).redirectErrorStream(true)
        .redirectOutput(log.toFile());
    for (EnvVar e : c.getEnv()) {
      if (e.getValue() != null) {
        pb.environment().put(e.getName(), e.getValue());
      }
    }
    pb.environment().putAll(env);
    return pb.start();
  }

  /** Waits (bounded: the scripts' own waits are for a cluster and take minutes to give up) and reads the log. */
  static Result finish(Process p, Path log) throws Exception {
    if (!p.waitFor(90, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("hook script still running after 90 s; it printed:\n" + Files.readString(log));
    }
    return new Result(p.exitValue(), Files.readString(log));
  }

  static Result run(Container c, Map<String, String> env, Path log) throws Exception {
    return finish(start(c, env, log), log);
  }

  /**
   * A directory holding an {@code fio} that, when asked to {@code --verify_only} the file {@code target},
   * first flips one byte in the middle of the first block it will read (past the block's header), then runs
   * the real fio: data that changed between its writer and its reader. Put the directory first on PATH.
   */
  static Path corruptingFio(Path dir, Path target, long blockBytes) throws IOException {
    return fioWrapper(dir, target, "", """
        at=$((offset + %d / 2))
        byte=$(dd if="$file" bs=1 skip=$at count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
        printf "$(printf '\\\\%%03o' $((255 - byte)))" | dd of="$file" bs=1 seek=$at conv=notrunc 2>/dev/null
        """.formatted(blockBytes));
  }

  /** Like {@link #corruptingFio}, but the fio waits {@code seconds} before it writes to {@code target}. */
  static Path lateWritingFio(Path dir, Path target, int seconds) throws IOException {
    return fioWrapper(dir, target, "sleep " + seconds, "");
  }

  /** An fio on PATH that runs {@code onWrite} or {@code onVerify} (sh; $file and $offset set) for target. */
  private static Path fioWrapper(Path dir, Path target, String onWrite, String onVerify) throws IOException {
    Files.createDirectories(dir);
    String script = """
        #!/bin/sh
        verify=0 offset=0 file=
        for a in "$@"; do
          case "$a" in
            --verify_only) verify=1 ;;
            --offset=*) offset=${a#--offset=} ;;
            --filename=*) file=${a#--filename=} ;;
          esac
        done
        if [ "$file" = "%s" ]; then
          if [ "$verify" = 1 ]; then
            :
        %s
          else
            :
        %s
          fi
        fi
        exec %s "$@"
        """.formatted(target, onVerify, onWrite, realFio());
    Path fio = dir.resolve("fio");
    Files.writeString(fio, script);
    Files.setPosixFilePermissions(fio, PosixFilePermissions.fromString("rwxr-xr-x"));
    return dir;
  }

  /** The fio on PATH: the project's tests (benchmarks' FioTest) need it installed, and so do these. */
  static String realFio() {
    for (String d : System.getenv("PATH").split(":")) {
      Path candidate = Path.of(d, "fio");
      if (Files.isExecutable(candidate)) {
        return candidate.toString();
      }
    }
    throw new AssertionError("fio not found on PATH: the helm test scripts are run with the real fio");
  }
}
