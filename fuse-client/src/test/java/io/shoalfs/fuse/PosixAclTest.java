package io.shoalfs.fuse;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

class PosixAclTest {
  private static byte[] acl(int... tagPermId) {
    ByteBuffer b = ByteBuffer.allocate(4 + tagPermId.length / 3 * 8).order(ByteOrder.LITTLE_ENDIAN).putInt(2);
    for (int i = 0; i < tagPermId.length; i += 3) {
      b.putShort((short) tagPermId[i]).putShort((short) tagPermId[i + 1]).putInt(tagPermId[i + 2]);
    }
    return b.array();
  }

  @Test
  void minimalAclIsTheMode() {
    // What cp -a of a 0644 file sends (seen with strace): user::rw- group::r-- other::r--.
    PosixAcl a = PosixAcl.parse(acl(0x01, 6, -1, 0x04, 4, -1, 0x20, 4, -1));
    assertEquals(0644, a.permissionBits());
    assertTrue(a.equivalentToMode());
  }

  @Test
  void extendedAclTakesTheGroupBitsFromTheMask() {
    PosixAcl a = PosixAcl.parse(acl(0x01, 7, -1, 0x02, 7, 1000, 0x04, 5, -1, 0x10, 1, -1, 0x20, 0, -1));
    assertEquals(0710, a.permissionBits());
    assertFalse(a.equivalentToMode());
  }

  @Test
  void malformedAclsAreRefused() {
    assertNull(PosixAcl.parse(new byte[] {2, 0, 0}));
    assertNull(PosixAcl.parse(acl(0x01, 6, -1, 0x20, 4, -1)), "no group entry");
    assertNull(PosixAcl.parse(acl(0x01, 6, -1, 0x02, 6, 7, 0x04, 4, -1, 0x20, 4, -1)), "named entry without mask");
    byte[] v3 = acl(0x01, 6, -1, 0x04, 4, -1, 0x20, 4, -1);
    v3[0] = 3;
    assertNull(PosixAcl.parse(v3), "unknown version");
  }
}
