package io.shoalfs.cli.local;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SupervisedTest {
  private final Supervised slot = new Supervised("meta-m1", List.of("true"), Path.of("/tmp"));

  @Test
  void backoffDoublesUpToTheBudgetThenGivesUp() {
    long t = 0;
    assertEquals(1000, slot.nextBackoffMillis(t));
    assertEquals(2000, slot.nextBackoffMillis(t += 1));
    assertEquals(4000, slot.nextBackoffMillis(t += 1));
    assertEquals(8000, slot.nextBackoffMillis(t += 1));
    assertEquals(16000, slot.nextBackoffMillis(t += 1));
    assertEquals(-1, slot.nextBackoffMillis(t += 1), "a sixth crash within 10 minutes is a crash loop");
  }

  @Test
  void crashesOlderThanTheWindowAreForgiven() {
    long t = 0;
    for (int i = 0; i < Supervised.MAX_RESTARTS; i++) {
      slot.nextBackoffMillis(t);
    }
    long later = t + Supervised.WINDOW_NANOS + TimeUnit.SECONDS.toNanos(1);
    assertEquals(1000, slot.nextBackoffMillis(later), "after a quiet window the backoff starts over");
  }
}
