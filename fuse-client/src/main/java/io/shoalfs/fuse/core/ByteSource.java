package io.shoalfs.fuse.core;

/** Bytes handed in by the kernel for a write (the FUSE request buffer), read once into the write buffer. */
@FunctionalInterface
public interface ByteSource {
  void copyTo(long srcOffset, byte[] dst, int dstOffset, int length);
}
