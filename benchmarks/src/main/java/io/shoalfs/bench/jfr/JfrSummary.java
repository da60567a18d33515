package io.shoalfs.bench.jfr;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where a recording's time went, in a few lines for the report: the hottest top frames of the CPU samples,
 * the Shoal code those samples were in (the first io.shoalfs frame of each stack), and where Shoal's threads
 * waited (parks and monitor waits over JFR's threshold, summed by the first io.shoalfs frame).
 */
public final class JfrSummary {
  /** Lines kept per list: enough to see the leaders, short enough for a report. */
  public static final int TOP = 10;
  private static final String SHOAL = "io.shoalfs.";

  /** One frame and its share. {@code value} is samples, or milliseconds for waits. */
  public record Entry(String frame, long value, double percent) {}

  /**
   * @param cpuSamples jdk.ExecutionSample events (threads running Java code)
   * @param nativeSamples jdk.NativeMethodSample events (threads inside native code, e.g. reading /dev/fuse)
   */
  public record Summary(String file, long pid, String part, long cpuSamples, long nativeSamples, List<Entry> topFrames,
      List<Entry> shoalFrames, List<Entry> nativeShoalFrames, List<Entry> waitsMs) {}

  private JfrSummary() {}

  public static Summary summarize(Path file, long pid, String part) throws IOException {
    Map<String, Long> top = new HashMap<>();
    Map<String, Long> shoal = new HashMap<>();
    Map<String, Long> nativeShoal = new HashMap<>();
    Map<String, Long> waits = new HashMap<>();
    long cpu = 0;
    long nat = 0;
    try (RecordingFile rf = new RecordingFile(file)) {
      while (rf.hasMoreEvents()) {
        RecordedEvent e = rf.readEvent();
        String type = e.getEventType().getName();
        RecordedStackTrace st = e.getStackTrace();
        if (st == null || st.getFrames().isEmpty()) {
          continue;
        }
        switch (type) {
          case "jdk.ExecutionSample" -> {
            cpu++;
            top.merge(name(st.getFrames().getFirst()), 1L, Long::sum);
            shoal.merge(firstShoal(st), 1L, Long::sum);
          }
          case "jdk.NativeMethodSample" -> {
            nat++;
            nativeShoal.merge(firstShoal(st), 1L, Long::sum);
          }
          case "jdk.ThreadPark", "jdk.JavaMonitorWait", "jdk.JavaMonitorEnter" -> {
            String f = firstShoal(st);
            if (!f.equals("(no Shoal frame)")) {
              Duration d = e.getDuration();
              waits.merge(type.substring(4) + " in " + f, d.toMillis(), Long::sum);
            }
          }
          default -> {
            // other events are not summarised
          }
        }
      }
    }
    return new Summary(file.getFileName().toString(), pid, part, cpu, nat, topOf(top), topOf(shoal),
        topOf(nativeShoal), topOf(waits));
  }

  private static List<Entry> topOf(Map<String, Long> counts) {
    long total = counts.values().stream().mapToLong(Long::longValue).sum();
    return counts.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()).thenComparing(Map.Entry.comparingByKey()))
        .limit(TOP)
        .map(en -> new Entry(en.getKey(), en.getValue(), total == 0 ? 0 : 100.0 * en.getValue() / total))
        .toList();
  }

  private static String firstShoal(RecordedStackTrace st) {
    for (RecordedFrame f : st.getFrames()) {
      if (f.isJavaFrame() && f.getMethod().getType().getName().startsWith(SHOAL)) {
        return name(f);
      }
    }
    return "(no Shoal frame)";
  }

  private static String name(RecordedFrame f) {
    String type = f.getMethod().getType().getName();
    return type.substring(type.lastIndexOf('.') + 1) + "." + f.getMethod().getName() + ":" + f.getLineNumber();
  }
}
