package io.shoalfs.meta.store;

/**
 * RocksDB failed underneath the metadata tables. Never a domain error: inside apply it stops the replica,
 * inside a read it becomes EIO.
 */
public final class StoreException extends RuntimeException {
  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
