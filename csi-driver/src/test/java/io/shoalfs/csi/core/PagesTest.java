package io.shoalfs.csi.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class PagesTest {
  private static final List<String> ALL = List.of("a", "b", "c", "d", "e");

  private static List<String> walk(List<String> all, int max) throws CsiError {
    List<String> out = new ArrayList<>();
    String token = "";
    do {
      Pages.Page<String> p = Pages.page(all, Function.identity(), max, token, k -> !k.isEmpty());
      out.addAll(p.items());
      token = p.nextToken();
    } while (!token.isEmpty());
    return out;
  }

  @Test
  void everyEntryOnceWhateverThePageSize() throws CsiError {
    for (int max = 0; max <= 6; max++) {
      assertEquals(ALL, walk(ALL, max), "max_entries " + max);
    }
    assertEquals(List.of(), walk(List.of(), 2));
  }

  @Test
  void aTokenSurvivesTheDeletionOfTheEntryItNames() throws CsiError {
    Pages.Page<String> first = Pages.page(ALL, Function.identity(), 2, "", k -> true);
    assertEquals(List.of("a", "b"), first.items());
    Pages.Page<String> next = Pages.page(List.of("a", "c", "d", "e"), Function.identity(), 2, first.nextToken(),
        k -> true);
    assertEquals(List.of("c", "d"), next.items());
  }

  @Test
  void tokensNotMadeHereAreAbortedAndNegativeLimitsInvalid() {
    for (String bad : new String[] {"x", "p1.", "p1.***", "p2.YQ"}) {
      assertThrows(CsiError.InvalidToken.class,
          () -> Pages.page(ALL, Function.identity(), 0, bad, k -> !k.isEmpty()), bad);
    }
    assertThrows(CsiError.InvalidArgument.class, () -> Pages.page(ALL, Function.identity(), -1, "", k -> true));
  }
}
