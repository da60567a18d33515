package io.shoalfs.meta.store;

import io.shoalfs.common.store.Codec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Key of the dentries table: {@code u64 parent ino (big-endian) ++ UTF-8 name bytes}. All entries of one
 * directory share the 8-byte prefix and sort by the name's bytes, so a readdir is one prefix scan.
 */
public record DentryKey(long parent, String name) {
  public static final Codec<DentryKey> CODEC = new Codec<>() {
    @Override
    public byte[] encode(DentryKey k) {
      byte[] n = k.name.getBytes(StandardCharsets.UTF_8);
      return ByteBuffer.allocate(8 + n.length).putLong(k.parent).put(n).array();
    }

    @Override
    public DentryKey decode(byte[] b) {
      if (b.length < 8) {
        throw new IllegalStateException("dentry key of " + b.length + " bytes");
      }
      long parent = ByteBuffer.wrap(b).getLong();
      return new DentryKey(parent, new String(b, 8, b.length - 8, StandardCharsets.UTF_8));
    }
  };

  /** The prefix shared by every entry of directory {@code parent}. */
  public static byte[] prefix(long parent) {
    return ByteBuffer.allocate(8).putLong(parent).array();
  }

  /**
   * The smallest key strictly after {@code (parent, name)}: names never contain NUL, so appending one zero
   * byte skips exactly that name (readdir paging with {@code after}).
   */
  public static byte[] after(long parent, String name) {
    byte[] k = CODEC.encode(new DentryKey(parent, name));
    return Arrays.copyOf(k, k.length + 1);
  }
}
