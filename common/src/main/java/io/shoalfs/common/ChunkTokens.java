package io.shoalfs.common;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Chunk tokens: the metadata service's authority for one mutation of one chunk, checked by the storage daemons.
 * A token is the first {@value #TOKEN_BYTES} bytes of HMAC-SHA256 under the cluster's write key over the
 * operation, the chunk id and (for writes) the chunk's epoch. alloc_chunk hands a writer its chunk's token, so a
 * daemon refuses a write to a chunk nobody reserved, to an epoch nobody handed out (a writer cannot lift itself
 * over a snapshot's fence), and a delete nobody decided.
 *
 * <p>Only the metadata replicas (the key is in their replicated state) and the registered daemons hold the key.
 */
public final class ChunkTokens {
  private ChunkTokens() {}

  /** Bytes of a write key. */
  public static final int KEY_BYTES = 32;
  /** Bytes of a token (128 bits of the HMAC: forging one takes 2^128 tries). */
  public static final int TOKEN_BYTES = 16;

  /** What a token allows. */
  public enum Op {
    /** Write, truncate, or copy into the chunk, at one epoch. */
    WRITE,
    /** Raise the chunk's fence (freeze it before a copy-on-write). */
    FENCE,
    /** Delete the chunk (the collector). */
    DELETE
  }

  /** The token for {@code op} on {@code chunkId} (epoch: the chunk's epoch for WRITE, 0 for the others). */
  public static byte[] sign(byte[] key, Op op, long chunkId, long epoch) {
    if (key == null || key.length != KEY_BYTES) {
      throw new IllegalArgumentException("a write key has " + KEY_BYTES + " bytes");
    }
    try {
      // One Mac per thread, kept: Mac.getInstance looks the provider up, and this runs on every daemon
      // mutation and every alloc_chunk apply. init() with the key resets it for this use.
      Mac mac = MACS.get();
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update(ByteBuffer.allocate(1 + 8 + 8).put((byte) op.ordinal()).putLong(chunkId).putLong(epoch).flip());
      byte[] full = mac.doFinal();
      return java.util.Arrays.copyOf(full, TOKEN_BYTES);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }

  private static final ThreadLocal<Mac> MACS = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  });

  /** Whether {@code token} is {@code op}'s token for {@code chunkId} at {@code epoch} (constant time). */
  public static boolean verify(byte[] key, Op op, long chunkId, long epoch, byte[] token) {
    return token != null && token.length == TOKEN_BYTES
        && MessageDigest.isEqual(sign(key, op, chunkId, epoch), token);
  }
}
