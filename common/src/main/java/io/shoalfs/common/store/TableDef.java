package io.shoalfs.common.store;

/**
 * One RocksDB column family with its key and value codecs. Each store lists its tables in one class whose
 * javadoc documents every key layout (see the metadata service's {@code MetaTables}).
 */
public record TableDef<K, V>(String name, Codec<K> keyCodec, Codec<V> valueCodec) {
  public TableDef {
    if (name == null || name.isBlank()) {
      throw new IllegalArgumentException("table needs a name");
    }
  }
}
