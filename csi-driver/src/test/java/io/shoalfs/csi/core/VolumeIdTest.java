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
class VolumeIdTest {
  @Test
  void provisionerNamesAreUsedAsTheyAre() {
    VolumeId id = VolumeId.forName("pvc-0f3c8a52-7f0e-4b1e-9a53-1d2c3b4a5e6f");
    assertEquals("pvc-0f3c8a52-7f0e-4b1e-9a53-1d2c3b4a5e6f", id.subvolume());
    assertEquals("shoal:v1:pvc-0f3c8a52-7f0e-4b1e-9a53-1d2c3b4a5e6f", id.encode());
    assertEquals(Optional.of(id), VolumeId.parse(id.encode()));
  }

  @Test
  void otherNamesAreHashedDeterministically() {
    String name = "my volume/with:odd ✓ chars";
    VolumeId a = VolumeId.forName(name);
    assertEquals(a, VolumeId.forName(name), "same name, same subvolume: CreateVolume is idempotent by name");
    assertTrue(a.subvolume().startsWith("h-"));
    assertNotEquals(a, VolumeId.forName(name + "2"));
    // A name that merely looks like a hash cannot collide with a hashed one.
    assertNotEquals(a, VolumeId.forName(a.subvolume()));
  }

  @Test
  void idsFitTheCsiLimit() {
    VolumeId longest = VolumeId.forName("x".repeat(100));
    assertTrue(longest.encode().getBytes(StandardCharsets.UTF_8).length <= VolumeId.MAX_BYTES);
    VolumeId hashed = VolumeId.forName("é".repeat(64));
    assertTrue(hashed.encode().getBytes(StandardCharsets.UTF_8).length <= VolumeId.MAX_BYTES);
  }

  @Test
  void foreignOrDamagedIdsAreRejected() {
    assertEquals(Optional.empty(), VolumeId.parse(""));
    assertEquals(Optional.empty(), VolumeId.parse("pvc-1"));
    assertEquals(Optional.empty(), VolumeId.parse("shoal:v2:pvc-1"));
    assertEquals(Optional.empty(), VolumeId.parse("shoal:v1:"));
    assertEquals(Optional.empty(), VolumeId.parse("shoal:v1:../etc"));
    assertEquals(Optional.empty(), VolumeId.parse("shoal:v1:a/b"));
    assertEquals(Optional.empty(), VolumeId.parse("shoal:v1:" + "x".repeat(120)));
  }
}
