package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * Key of the xattrs table: {@code u64 ino (big-endian) ++ UTF-8 attribute name}. All attributes of one inode
 * share the 8-byte prefix, so listxattr and the removal of an inode's attributes are one prefix scan (in name
 * byte order).
 */
public record XattrKey(long ino, String name) {
  public static final Codec<XattrKey> CODEC = new Codec<>() {
    @Override
    public byte[] encode(XattrKey k) {
      byte[] n = k.name.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(8 + n.length).putLong(k.ino).put(n).array();
    }

    @Override
    public XattrKey decode(byte[] b) {
      if (b.length < 8) {
        throw new IllegalStateException("xattr key of " + b.length + " bytes");
      }
      long ino = ByteBuffer.wrap(b).getLong();
      return new XattrKey(ino, new String(b, 8, b.length - 8, StandardCharsets.UTF_8));
    }
  };

  /** The prefix shared by every attribute of inode {@code ino}. */
  public static byte[] prefix(long ino) {
    return ByteBuffer.allocate(8).putLong(ino).array();
  }
}
