package io.shoalfs.common.store;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.MessageLite;
import com.google.protobuf.Parser;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Turns a typed key or value into the bytes RocksDB stores, and back. Key codecs must preserve order. */
public interface Codec<T> {
  byte[] encode(T value);

  T decode(byte[] bytes);

  /** Big-endian unsigned 64-bit: byte order equals numeric order for non-negative values. */
  Codec<Long> U64 = new Codec<>() {
    @Override
    public byte[] encode(Long v) {
      return ByteBuffer.allocate(8).putLong(v).array();
    }

    @Override
    public Long decode(byte[] b) {
      if (b.length != 8) {
        throw new IllegalStateException("u64 key of " + b.length + " bytes");
      }
      return ByteBuffer.wrap(b).getLong();
    }
  };

  Codec<String> UTF8 = new Codec<>() {
    @Override
    public byte[] encode(String v) {
      return v.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public String decode(byte[] b) {
      return new String(b, StandardCharsets.UTF_8);
    }
  };

  Codec<byte[]> BYTES = new Codec<>() {
    @Override
    public byte[] encode(byte[] v) {
      return v;
    }

    @Override
    public byte[] decode(byte[] b) {
      return b;
    }
  };

  /** A protobuf message stored as its serialized bytes. */
  static <M extends MessageLite> Codec<M> proto(Parser<M> parser) {
    return new Codec<>() {
      @Override
      public byte[] encode(M v) {
        return v.toByteArray();
      }

      @Override
      public M decode(byte[] b) {
        try {
          return parser.parseFrom(b);
        } catch (InvalidProtocolBufferException e) {
          throw new IllegalStateException("corrupt record: " + e.getMessage(), e);
        }
      }
    };
  }
}
