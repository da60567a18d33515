package io.shoalfs.fuse.core;

/** The kernel's buffer for a read reply. */
@FunctionalInterface
public interface ByteSink {
  void put(long dstOffset, byte[] src, int srcOffset, int length);
}
