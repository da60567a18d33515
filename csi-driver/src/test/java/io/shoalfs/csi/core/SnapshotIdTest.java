package io.shoalfs.csi.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SnapshotIdTest {
  private static final String PVC = "pvc-0f3c8a52-7f0e-4b1e-9a53-1d2c3b4a5e6f";
  private static final String SNAP = "snapshot-6b1f4c1e-2f9d-4e2c-8a57-0c9b1d3e5f7a";

  @Test
  void snapshotterNamesAreUsedAsTheyAre() {
    SnapshotId id = SnapshotId.forName(PVC, SNAP);
    assertEquals("shoal:s1:" + PVC + "@" + SNAP, id.encode());
    assertEquals(Optional.of(id), SnapshotId.parse(id.encode()));
    assertEquals(new VolumeId(PVC), id.source());
  }

  @Test
  void everyNameFitsEvenOnTheLongestSubvolume() {
    String longest = "v".repeat(100);
    for (String name : new String[] {SNAP, "x".repeat(128), "snapshot ✓ with spaces", "h-looks-hashed"}) {
      SnapshotId id = SnapshotId.forName(longest, name);
      assertTrue(id.encode().getBytes(StandardCharsets.UTF_8).length <= VolumeId.MAX_BYTES, id.encode());
      assertEquals(id, SnapshotId.forName(longest, name), "deterministic: CreateSnapshot is idempotent by name");
      assertEquals(Optional.of(id), SnapshotId.parse(id.encode()));
    }
    assertNotEquals(SnapshotId.forName(longest, SNAP), SnapshotId.forName(longest, SNAP + "2"));
    assertTrue(SnapshotId.forName(longest, SNAP).snapshot().startsWith("h-"), "too long to use as it is: hashed");
  }

  @Test
  void foreignOrDamagedIdsAreRejected() {
    for (String bad : new String[] {"", "snap", "shoal:v1:" + PVC, "shoal:s1:" + PVC, "shoal:s1:@" + SNAP,
        "shoal:s1:" + PVC + "@", "shoal:s1:" + PVC + "@a@b", "shoal:s1:../x@y", "shoal:s2:" + PVC + "@" + SNAP,
        "shoal:s1:" + "x".repeat(100) + "@" + "y".repeat(30)}) {
      assertEquals(Optional.empty(), SnapshotId.parse(bad), bad);
    }
    assertEquals(Optional.empty(), SnapshotId.of("x".repeat(100), "y".repeat(30)), "does not fit an id");
  }

  @Test
  void groupIdsNameTheGroup() {
    GroupSnapshotId g = GroupSnapshotId.forName("groupsnapshot-1");
    assertEquals("shoal:g1:groupsnapshot-1", g.encode());
    assertEquals(Optional.of(g), GroupSnapshotId.parse(g.encode()));
    GroupSnapshotId hashed = GroupSnapshotId.forName("my group ✓");
    assertTrue(hashed.group().startsWith("h-"));
    assertEquals(hashed, GroupSnapshotId.forName("my group ✓"));
    assertEquals(Optional.empty(), GroupSnapshotId.parse("shoal:s1:a@b"));
  }
}
