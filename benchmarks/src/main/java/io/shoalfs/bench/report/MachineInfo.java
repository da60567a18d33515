package io.shoalfs.bench.report;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * The machine a benchmark ran on, read from /proc and /etc without running anything.
 *
 * @param nproc processors available to the JVM (what `nproc` prints)
 * @param memTotalBytes MemTotal of /proc/meminfo, or -1 when unknown
 * @param loadAverage the 1, 5 and 15 minute load averages of /proc/loadavg when the report was written: figures
 *     taken on a busy machine (load above nproc) are slower than the machine can do, on every target alike
 */
public record MachineInfo(int nproc, long memTotalBytes, String kernel, String cpuModel, String os, String java,
    String loadAverage) {

  public static MachineInfo current() {
    return new MachineInfo(
        Runtime.getRuntime().availableProcessors(),
        readMemTotalBytes(),
        firstLine(Path.of("/proc/sys/kernel/osrelease")).orElse(System.getProperty("os.version")),
        field(Path.of("/proc/cpuinfo"), "model name", ':').orElse(System.getProperty("os.arch")),
        field(Path.of("/etc/os-release"), "PRETTY_NAME", '=').map(v -> v.replace("\"", "")).orElse(System.getProperty("os.name")),
        System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
        firstLine(Path.of("/proc/loadavg")).map(l -> String.join(" ", List.of(l.split(" ")).subList(0, 3)))
            .orElse("unknown"));
  }

  private static long readMemTotalBytes() {
    // "MemTotal:       24731720 kB"
    return field(Path.of("/proc/meminfo"), "MemTotal", ':')
        .map(v -> v.replace("kB", "").trim())
        .map(v -> Long.parseLong(v) * 1024)
        .orElse(-1L);
  }

  private static Optional<String> firstLine(Path file) {
    return lines(file).stream().findFirst().map(String::trim);
  }

  private static Optional<String> field(Path file, String key, char separator) {
    for (String line : lines(file)) {
      int i = line.indexOf(separator);
      if (i > 0 && line.substring(0, i).trim().equals(key)) {
        return Optional.of(line.substring(i + 1).trim());
      }
    }
    return Optional.empty();
  }

  private static List<String> lines(Path file) {
    try {
      return Files.readAllLines(file);
    } catch (IOException | RuntimeException e) {
      return List.of();
    }
  }
}
