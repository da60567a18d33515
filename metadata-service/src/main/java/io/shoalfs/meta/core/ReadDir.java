package io.shoalfs.meta.core;

import io.shoalfs.meta.store.DentryKey;
import io.shoalfs.meta.store.MetaTables;
import io.shoalfs.meta.store.Tx;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.ReadDirRequest;

/**
 * read_dir(ino, after, limit): entries in name byte order, resuming after {@code after}. "." and ".." are not
 * stored; the FUSE client adds them.
 */
final class ReadDir {
  static final int DEFAULT_LIMIT = 1000;
  /** Upper bound whatever the caller asks: keeps one reply well under the gRPC message limit. */
  static final int MAX_LIMIT = 10_000;

  private ReadDir() {}

  static MetaReply read(Tx tx, ReadDirRequest r) throws FsError {
    Inodes.requireDir(tx, r.getIno());
    int limit = r.getLimit() == 0 ? DEFAULT_LIMIT : Math.min(r.getLimit(), MAX_LIMIT);
    byte[] from = r.getAfter().isEmpty() ? null : DentryKey.after(r.getIno(), r.getAfter());
    ReadDirReply.Builder out = ReadDirReply.newBuilder();
    tx.scan(MetaTables.DENTRIES, DentryKey.prefix(r.getIno()), from, (k, v) -> {
      if (out.getEntriesCount() == limit) {
        out.setMore(true);
        return false;
      }
      out.addEntries(DirEntry.newBuilder().setName(k.name()).setIno(v.getIno())
          .setType(FileType.forNumber(v.getType())));
      return true;
    });
    return MetaReply.newBuilder().setDir(out).build();
  }
}
