package io.shoalfs.common;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/** Sizes as users type them: Kubernetes style, binary Ki/Mi/Gi/Ti/Pi and decimal k/M/G/T/P. */
class SizesTest {
  @Test
  void binaryAndDecimalSuffixes() {
    assertEquals(1048576, Sizes.parse("1048576"));
    assertEquals(10L << 30, Sizes.parse("10Gi"));
    assertEquals(10_000_000_000L, Sizes.parse("10G"));
    assertEquals(10L << 20, Sizes.parse("10Mi"));
    assertEquals(10_000_000L, Sizes.parse("10M"));
    assertEquals(5_000, Sizes.parse("5k"));
    assertEquals(5_000, Sizes.parse("5K"));
    assertEquals(5L << 10, Sizes.parse("5Ki"));
    assertEquals(2_000_000_000_000L, Sizes.parse("2T"));
    assertEquals(3L << 40, Sizes.parse("3Ti"));
    assertEquals(10L << 30, Sizes.parse("10GiB"), "a trailing B is allowed");
    assertEquals(10_000_000_000L, Sizes.parse(" 10 G "));
    assertEquals(0, Sizes.parse("0"));
  }

  @Test
  void badSizesAreRefusedWithOneLine() {
    for (String bad : new String[] {"", "ten", "10g", "10gi", "-1", "1.5Gi", "10X", "9223372036854775807Ki",
        "9300000P"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parse(bad), bad);
      assertEquals(1, e.getMessage().lines().count(), e.getMessage());
    }
  }
}
