package io.shoalfs.common.mount;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class MountInfoTest {
  @Test
  void parsesFuseMountWithOptionalFields() {
    MountInfo m = MountInfo.parse("612 29 0:71 / /var/lib/kubelet/plugins/staging/pvc-1 rw,nosuid,nodev,relatime "
        + "shared:330 - fuse.shoal shoal rw,user_id=0,group_id=0,allow_other");
    assertEquals("0:71", m.device());
    assertEquals(Path.of("/var/lib/kubelet/plugins/staging/pvc-1"), m.mountPoint());
    assertTrue(m.isFuse());
    assertFalse(m.readOnly());
    assertEquals("shoal", m.source());
  }

  @Test
  void parsesReadOnlyBindWithoutOptionalFieldsAndEscapes() {
    MountInfo m = MountInfo.parse("700 612 0:71 / /pods/a\\040b/vol ro,relatime - fuse shoal rw");
    assertEquals(Path.of("/pods/a b/vol"), m.mountPoint());
    assertTrue(m.readOnly());
    assertTrue(m.isFuse());
  }

  @Test
  void nonFuseAndGarbage() {
    assertFalse(MountInfo.parse("25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw").isFuse());
    assertFalse(MountInfo.parse("26 25 0:5 / /dev rw - fusectl fusectl rw").isFuse());
    assertNull(MountInfo.parse("not a mountinfo line"));
  }
}
