package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shoalfs.client.MetaClient;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class SmokeTest {
  @TempDir Path tmp;

  @Test
  @Timeout(60)
  void basic() throws Exception {
    try (MetaCluster c = MetaCluster.start(tmp, 1)) {
      long t0 = System.nanoTime();
      c.awaitLeader(Duration.ofSeconds(20));
      System.err.println("leader after " + (System.nanoTime() - t0) / 1_000_000 + " ms");
      MetaClient client = c.client();
      Attr d = client.mkdir(Layout.ROOT_INO, "a", 0755, 0, 0);
      t0 = System.nanoTime();
      for (int i = 0; i < 100; i++) {
        client.create(d.getIno(), "f" + i, 0644, 0, 0, true);
      }
      System.err.println("100 creates " + (System.nanoTime() - t0) / 1_000_000 + " ms");
      assertEquals(100, client.readDir(d.getIno(), "", 0).getEntriesCount());
      c.stopAll();
      c.startAll();
      c.awaitLeader(Duration.ofSeconds(20));
      assertEquals(100, client.readDir(d.getIno(), "", 0).getEntriesCount());
    }
  }
}
