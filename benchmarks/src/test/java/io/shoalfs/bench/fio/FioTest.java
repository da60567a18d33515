package io.shoalfs.bench.fio;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.cli.UserError;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The real fio binary on the packaged job files, and its JSON report parsed back. */
@Timeout(60)
class FioTest {
  private static final long SIZE = 8L * 1024 * 1024;

  @TempDir
  Path tmp;

  private Map<String, String> env(Path dir) {
    return Map.of("BENCH_DIR", dir.toString(), "BENCH_SIZE", Long.toString(SIZE), "BENCH_RUNTIME", "30");
  }

  @Test
  void writeThenReadOnTwoDirectoriesAreParsedFromRealFioOutput() throws Exception {
    Fio fio = Fio.locate(System.getenv("PATH"));
    Path jobs = tmp.resolve("jobs");
    Path write = JobFiles.extract(JobFiles.SEQ_WRITE_1M, jobs);
    Path read = JobFiles.extract(JobFiles.SEQ_READ_1M, jobs);
    for (String name : new String[] {"a", "b"}) {
      Path dir = Files.createDirectories(tmp.resolve(name));
      Fio.Run w = fio.run(write, env(dir), tmp.resolve(name + "-w.json"), Duration.ofSeconds(60));
      assertTrue(w.output().fioVersion().startsWith("fio-"), w.output().fioVersion());
      FioOutput.Job wj = w.output().job("seq-write-1m");
      assertEquals(0, wj.error());
      assertEquals(SIZE, wj.write().ioBytes(), "the whole size is written");
      assertEquals(0, wj.read().ioBytes());
      assertTrue(wj.write().mibPerSec() > 0);
      assertEquals(SIZE, Files.size(dir.resolve("shoal-bench-seq-1m.dat")), "fio wrote where BENCH_DIR pointed");
      assertTrue(w.commandLine().contains("BENCH_SIZE=" + SIZE) && w.commandLine().contains("--output-format=json")
          && w.commandLine().endsWith(write.toString()), w.commandLine());

      FioOutput.Job rj = fio.run(read, env(dir), tmp.resolve(name + "-r.json"), Duration.ofSeconds(60)).output().job("seq-read-1m");
      assertEquals(0, rj.error());
      assertEquals(SIZE, rj.read().ioBytes());
      assertEquals(0, rj.write().ioBytes(), "the read job must not rewrite the file");
      assertTrue(rj.read().mibPerSec() > 0);
    }
  }

  @Test
  void parserSkipsWarningsBeforeTheJsonAndRejectsWhatIsNotAReport() throws Exception {
    Fio fio = Fio.locate(System.getenv("PATH"));
    Path dir = Files.createDirectories(tmp.resolve("d"));
    Path json = tmp.resolve("out.json");
    fio.run(JobFiles.extract(JobFiles.SEQ_WRITE_1M, tmp), env(dir), json, Duration.ofSeconds(60));
    String real = Files.readString(json);
    FioOutput withNoise = FioOutput.parse("fio: this platform does not support fallocate\n" + real);
    assertEquals(SIZE, withNoise.job("seq-write-1m").write().ioBytes());

    assertThrows(IllegalArgumentException.class, () -> FioOutput.parse("no report here"));
    assertThrows(IllegalArgumentException.class, () -> FioOutput.parse("{\"jobs\": []}"));
    assertThrows(IllegalArgumentException.class, () -> FioOutput.parse("{\"jobs\": [{\"jobname\": \"x\"}]}"));
    IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> withNoise.job("nope"));
    assertTrue(missing.getMessage().contains("seq-write-1m"), missing.getMessage());
  }

  @Test
  void aFailingRunIsOneLineWithFiosReason() throws Exception {
    Fio fio = Fio.locate(System.getenv("PATH"));
    Path notADir = Files.writeString(tmp.resolve("plain-file"), "x");
    UserError e = assertThrows(UserError.class, () -> fio.run(JobFiles.extract(JobFiles.SEQ_WRITE_1M, tmp),
        env(notADir), tmp.resolve("fail.json"), Duration.ofSeconds(60)));
    assertTrue(e.getMessage().startsWith("fio failed"), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
  }

  @Test
  void missingFioIsReportedWithTheInstallHint() throws Exception {
    Path emptyBin = Files.createDirectories(tmp.resolve("bin"));
    UserError e = assertThrows(UserError.class, () -> Fio.locate(emptyBin + ":" + tmp.resolve("nope")));
    assertEquals("fio not found: install fio (apt-get install fio)", e.getMessage());
    assertThrows(UserError.class, () -> Fio.locate(null));
  }
}
