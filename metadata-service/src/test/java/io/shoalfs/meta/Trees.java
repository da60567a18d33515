package io.shoalfs.meta;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.DirEntry;
import io.shoalfs.proto.meta.FileType;
import io.shoalfs.proto.meta.GetAttrRequest;
import io.shoalfs.proto.meta.GetChunksRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.ReadDirReply;
import io.shoalfs.proto.meta.ReadDirRequest;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/** Whole-tree dumps for comparing states: path -> attributes (and chunks of files). */
final class Trees {
  private Trees() {}

  /** One node of a dump: its attributes and, for files, its chunks. */
  record Node(Attr attr, List<ChunkRef> chunks) {}

  /** Walks the tree under {@code root} through the client (linearizable reads on the leader). */
  static Map<String, Node> dump(MetaClient client, long root) throws MetaException {
    return dump(req -> {
      try {
        return client.callRaw(req);
      } catch (MetaException e) {
        throw new IllegalStateException(e);
      }
    }, root);
  }

  /** Walks the tree under {@code root} with any way to serve reads (e.g. a replica's local reads). */
  static Map<String, Node> dump(Function<MetaRequest, MetaReply> read, long root) {
    Map<String, Node> out = new TreeMap<>();
    Deque<Map.Entry<String, Long>> todo = new ArrayDeque<>();
    todo.push(Map.entry("", root));
    out.put("/", new Node(ok(read.apply(MetaRequest.newBuilder()
        .setGetAttr(GetAttrRequest.newBuilder().setIno(root)).build())).getAttr(), List.of()));
    while (!todo.isEmpty()) {
      Map.Entry<String, Long> d = todo.pop();
      String after = "";
      while (true) {
        ReadDirReply page = ok(read.apply(MetaRequest.newBuilder().setReadDir(
            ReadDirRequest.newBuilder().setIno(d.getValue()).setAfter(after).setLimit(100)).build())).getDir();
        for (DirEntry e : page.getEntriesList()) {
          String path = d.getKey() + "/" + e.getName();
          Attr a = ok(read.apply(MetaRequest.newBuilder()
              .setGetAttr(GetAttrRequest.newBuilder().setIno(e.getIno())).build())).getAttr();
          List<ChunkRef> chunks = List.of();
          if (e.getType() == FileType.DIRECTORY) {
            todo.push(Map.entry(path, e.getIno()));
          } else {
            chunks = ok(read.apply(MetaRequest.newBuilder()
                .setGetChunks(GetChunksRequest.newBuilder().setIno(e.getIno())).build())).getChunks().getChunksList();
          }
          out.put(path, new Node(a, chunks));
          after = e.getName();
        }
        if (!page.getMore()) {
          break;
        }
      }
    }
    return out;
  }

  private static MetaReply ok(MetaReply r) {
    if (r.getCode() != io.shoalfs.proto.meta.Code.OK) {
      throw new IllegalStateException("read failed: " + r.getCode() + " " + r.getMessage());
    }
    return r;
  }
}
