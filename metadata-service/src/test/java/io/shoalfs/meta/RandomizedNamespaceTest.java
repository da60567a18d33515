package io.shoalfs.meta;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Layout;
import io.shoalfs.proto.meta.Attr;
import io.shoalfs.proto.meta.ChunkRef;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.GetXattrRequest;
import io.shoalfs.proto.meta.ListXattrRequest;
import io.shoalfs.proto.meta.MetaReply;
import io.shoalfs.proto.meta.MetaRequest;
import io.shoalfs.proto.meta.SetAttrRequest;
import io.shoalfs.proto.meta.StatFsReply;
import io.shoalfs.proto.meta.StatFsRequest;
import io.shoalfs.proto.meta.StorageDaemon;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random mkdir / create / symlink / link / unlink / rmdir / rename (plain, RENAME_NOREPLACE, RENAME_EXCHANGE) /
 * set_attr size / alloc_chunk / set_xattr (with XATTR_CREATE / XATTR_REPLACE) / remove_xattr against the real service and a small in-memory model of POSIX semantics, comparing
 * every reply code and, after each batch, the whole tree (hard links share one model node: nlink is its number
 * of names) and the usage counters. Between batches the replica restarts from an older snapshot plus the log (as after a
 * crash). The seed is printed; replay one with {@code -Dshoal.seed=N}.
 */
class RandomizedNamespaceTest {
  static final int BATCHES = 3;
  static final int OPS_PER_BATCH = 100;
  static final List<String> NAMES = List.of("a", "b", "c", "d", "e");
  static final long CS = Layout.CHUNK_SIZE;

  @TempDir Path tmp;

  /** The model: a plain tree. */
  static final class Node {
    final boolean dir;
    final boolean symlink;
    final TreeMap<String, Node> children = new TreeMap<>();
    final TreeSet<Integer> chunks = new TreeSet<>();
    final TreeMap<String, String> xattrs = new TreeMap<>();
    Node parent;
    long ino;
    long size;

    Node(boolean dir, Node parent, long ino) {
      this(dir, false, parent, ino);
    }

    Node(boolean dir, boolean symlink, Node parent, long ino) {
      this.dir = dir;
      this.symlink = symlink;
      this.parent = parent;
      this.ino = ino;
    }

    boolean isAncestorOrSelfOf(Node n) {
      for (Node cur = n; cur != null; cur = cur.parent) {
        if (cur == this) {
          return true;
        }
      }
      return false;
    }
  }

  private final Node root = new Node(true, null, Layout.ROOT_INO);
  private Random rnd;
  private MetaClient client;

  @Test
  @Timeout(120)
  void serviceMatchesModel() throws Exception {
    long seed = Long.getLong("shoal.seed", new SplittableRandom().nextLong());
    System.err.println("RandomizedNamespaceTest seed=" + seed + " (replay: -Dshoal.seed=" + seed + ")");
    rnd = new Random(seed);
    try {
      run(seed);
    } catch (AssertionError e) {
      throw e; // carries the seed already
    } catch (Exception e) {
      throw new AssertionError("seed=" + seed + " (replay: -Dshoal.seed=" + seed + "): " + e, e);
    }
  }

  private void run(long seed) throws Exception {
    MetaServer.Tuning tuning = MetaCluster.fastSingle().withSnapshots(64, 1_000_000, 8L << 20, false);
    try (MetaCluster cluster = MetaCluster.start(tmp, 1, tuning)) {
      cluster.awaitLeader(Duration.ofSeconds(30));
      client = cluster.client();
      client.registerDaemon(StorageDaemon.newBuilder().setId("d").setAddress("127.0.0.1:1").setCapacityBytes(1)
          .build());
      List<String> history = new ArrayList<>();
      for (int batch = 0; batch < BATCHES; batch++) {
        for (int i = 0; i < OPS_PER_BATCH; i++) {
          String op = step();
          history.add(op);
          if (op.startsWith("MISMATCH")) {
            throw new AssertionError("seed=" + seed + " batch " + batch + " op " + i + ": " + op + "\nlast ops:\n"
                + String.join("\n", history.subList(Math.max(0, history.size() - 15), history.size())));
          }
        }
        // Before the restart through the replica's own reads (quick), after it through the client.
        compareTrees(seed, batch, cluster.server("m0").stateMachine()::readLocal);
        cluster.stopAll();
        cluster.startAll();
        cluster.awaitLeader(Duration.ofSeconds(30));
        compareTrees(seed, batch, req -> {
          try {
            return client.callRaw(req);
          } catch (MetaException e) {
            throw new IllegalStateException(e);
          }
        });
      }
    }
  }

  /** One random operation, done on the model and on the service; returns its description or a MISMATCH. */
  private String step() throws MetaException {
    List<Node> dirs = new ArrayList<>();
    List<Node> all = new ArrayList<>();
    collect(root, dirs, all);
    Node p = dirs.get(rnd.nextInt(dirs.size()));
    String n = NAMES.get(rnd.nextInt(NAMES.size()));
    int kind = rnd.nextInt(100);
    if (kind >= 90 && rnd.nextBoolean()) {
      return linkOrSymlink(p, n, all);
    }
    if (kind >= 80 && kind < 90 && rnd.nextBoolean()) {
      return xattr(all);
    }
    if (kind < 20) {
      Code expected = p.children.containsKey(n) ? Code.EEXIST : Code.OK;
      Code got = code(() -> {
        Attr a = client.mkdir(p.ino, n, 0755, 0, 0);
        p.children.put(n, new Node(true, p, a.getIno()));
      });
      return check("mkdir " + path(p) + "/" + n, expected, got);
    } else if (kind < 40) {
      boolean excl = rnd.nextBoolean();
      Node existing = p.children.get(n);
      Code expected = existing == null ? Code.OK : excl ? Code.EEXIST : existing.dir ? Code.EISDIR : Code.OK;
      Code got = code(() -> {
        Attr a = client.create(p.ino, n, 0644, 0, 0, excl);
        if (existing == null) {
          p.children.put(n, new Node(false, p, a.getIno()));
        } else if (a.getIno() != existing.ino) {
          throw new AssertionError("create returned another inode");
        }
      });
      return check("create " + path(p) + "/" + n + " excl=" + excl, expected, got);
    } else if (kind < 50) {
      Node target = p.children.get(n);
      Code expected = target == null ? Code.ENOENT : target.dir ? Code.EISDIR : Code.OK;
      Code got = code(() -> client.unlink(p.ino, n, 0));
      if (got == Code.OK && expected == Code.OK) {
        p.children.remove(n);
      }
      return check("unlink " + path(p) + "/" + n, expected, got);
    } else if (kind < 60) {
      Node target = p.children.get(n);
      Code expected = target == null ? Code.ENOENT : !target.dir ? Code.ENOTDIR
          : !target.children.isEmpty() ? Code.ENOTEMPTY : Code.OK;
      Code got = code(() -> client.rmdir(p.ino, n));
      if (got == Code.OK && expected == Code.OK) {
        p.children.remove(n);
      }
      return check("rmdir " + path(p) + "/" + n, expected, got);
    } else if (kind < 80) {
      Node dp = dirs.get(rnd.nextInt(dirs.size()));
      String dn = NAMES.get(rnd.nextInt(NAMES.size()));
      int f = rnd.nextInt(10);
      int flags = f == 0 ? 1 : f < 3 ? 2 : 0;
      Code expected = expectRename(p, n, dp, dn, flags);
      Code got = code(() -> client.rename(p.ino, n, dp.ino, dn, flags, 0));
      if (got == Code.OK && expected == Code.OK && flags == 2) {
        Node src = p.children.get(n);
        Node dst = dp.children.get(dn);
        if (src != dst) {
          p.children.put(n, dst);
          dp.children.put(dn, src);
          if (src.dir) {
            src.parent = dp;
          }
          if (dst.dir) {
            dst.parent = p;
          }
        }
      } else if (got == Code.OK && expected == Code.OK) {
        Node src = p.children.get(n);
        if (dp.children.get(dn) != src) {
          p.children.remove(n);
          dp.children.put(dn, src);
          src.parent = dp;
        }
      }
      return check("rename " + path(p) + "/" + n + " -> " + path(dp) + "/" + dn + " flags=" + flags, expected, got);
    } else if (kind < 90) {
      Node target = all.get(rnd.nextInt(all.size()));
      long size = List.of(0L, 1L, CS - 1, CS, CS + 1, 3 * CS + 7, 6 * CS).get(rnd.nextInt(7));
      Code expected = target.dir ? Code.EISDIR : target.symlink ? Code.EINVAL : Code.OK;
      Code got = code(() -> client.setAttr(SetAttrRequest.newBuilder().setIno(target.ino).setSize(size).build()));
      if (got == Code.OK && expected == Code.OK) {
        target.size = size;
        target.chunks.removeIf(i -> (long) i * CS >= size);
      }
      return check("truncate " + path(target) + " " + size, expected, got);
    } else {
      Node target = all.get(rnd.nextInt(all.size()));
      int index = rnd.nextInt(6);
      Code expected = target.dir ? Code.EISDIR : target.symlink ? Code.EINVAL : Code.OK;
      Code got = code(() -> client.allocChunk(target.ino, index));
      if (got == Code.OK && expected == Code.OK) {
        target.chunks.add(index);
      }
      return check("alloc " + path(target) + " #" + index, expected, got);
    }
  }

  /** symlink (target length 1..9, so size is checked) or a hard link of a random node as p/n. */
  private String linkOrSymlink(Node p, String n, List<Node> all) throws MetaException {
    if (rnd.nextBoolean()) {
      byte[] target = "t".repeat(1 + rnd.nextInt(9)).getBytes();
      Code expected = p.children.containsKey(n) ? Code.EEXIST : Code.OK;
      Code got = code(() -> {
        Attr a = client.symlink(p.ino, n, target, 0, 0);
        Node l = new Node(false, true, p, a.getIno());
        l.size = target.length;
        p.children.put(n, l);
      });
      return check("symlink " + path(p) + "/" + n + " (" + target.length + " bytes)", expected, got);
    }
    Node target = all.get(rnd.nextInt(all.size()));
    Code expected = p.children.containsKey(n) ? Code.EEXIST : target.dir ? Code.EPERM : Code.OK;
    Code got = code(() -> {
      Attr a = client.link(target.ino, p.ino, n);
      p.children.put(n, target);
      if (a.getIno() != target.ino) {
        throw new AssertionError("link returned another inode");
      }
    });
    return check("link " + path(target) + " as " + path(p) + "/" + n, expected, got);
  }

  /** set_xattr with random flags or remove_xattr of one of two names on a random inode. */
  private String xattr(List<Node> all) {
    Node target = all.get(rnd.nextInt(all.size()));
    String name = rnd.nextBoolean() ? "user.x" : "trusted.y";
    boolean userOk = !target.symlink; // user.* only on regular files and directories
    boolean present = target.xattrs.containsKey(name);
    if (rnd.nextInt(4) == 0) {
      Code expected = name.startsWith("user.") && !userOk ? Code.EPERM : present ? Code.OK : Code.ENODATA;
      Code got = code(() -> client.removeXattr(target.ino, name));
      if (got == Code.OK && expected == Code.OK) {
        target.xattrs.remove(name);
      }
      return check("removexattr " + path(target) + " " + name, expected, got);
    }
    int flags = rnd.nextInt(3);
    String value = "v" + rnd.nextInt(100);
    Code expected = name.startsWith("user.") && !userOk ? Code.EPERM
        : flags == 1 && present ? Code.EEXIST : flags == 2 && !present ? Code.ENODATA : Code.OK;
    Code got = code(() -> client.setXattr(target.ino, name, value.getBytes(StandardCharsets.UTF_8), flags));
    if (got == Code.OK && expected == Code.OK) {
      target.xattrs.put(name, value);
    }
    return check("setxattr " + path(target) + " " + name + "=" + value + " flags=" + flags, expected, got);
  }

  /** Linux renameat2 order of checks (see Rename). */
  private static Code expectRename(Node sp, String sn, Node dp, String dn, int flags) {
    Node src = sp.children.get(sn);
    if (src == null) {
      return Code.ENOENT;
    }
    Node dst = dp.children.get(dn);
    if (dst != null && flags == 1) {
      return Code.EEXIST;
    }
    if (dst == null && flags == 2) {
      return Code.ENOENT;
    }
    if (src.dir && src.isAncestorOrSelfOf(dp)) {
      return Code.EINVAL;
    }
    if (dst != null) {
      if (dst.dir && dst.isAncestorOrSelfOf(sp)) {
        return flags == 2 ? Code.EINVAL : Code.ENOTEMPTY;
      }
      if (dst == src) {
        return Code.OK;
      }
      if (flags == 2) {
        return Code.OK;
      }
      if (src.dir && !dst.dir) {
        return Code.ENOTDIR;
      }
      if (!src.dir && dst.dir) {
        return Code.EISDIR;
      }
      if (dst.dir && !dst.children.isEmpty()) {
        return Code.ENOTEMPTY;
      }
    }
    return Code.OK;
  }

  private void compareTrees(long seed, int batch, Function<MetaRequest, MetaReply> read) throws MetaException {
    Map<String, String> expected = new TreeMap<>();
    describe(root, "", expected);
    Map<String, String> actual = new TreeMap<>();
    for (Map.Entry<String, Trees.Node> e : Trees.dump(read, Layout.ROOT_INO).entrySet()) {
      Attr a = e.getValue().attr();
      List<Integer> chunks = e.getValue().chunks().stream().map(ChunkRef::getIndex).toList();
      Map<String, String> xattrs = new TreeMap<>();
      for (String name : read.apply(MetaRequest.newBuilder().setListXattr(ListXattrRequest.newBuilder()
          .setIno(a.getIno())).build()).getXattrNames().getNamesList()) {
        xattrs.put(name, read.apply(MetaRequest.newBuilder().setGetXattr(GetXattrRequest.newBuilder()
            .setIno(a.getIno()).setName(name)).build()).getXattrValue().toStringUtf8());
      }
      actual.put(e.getKey(), describe(a.getType().name(), a.getSize(), a.getNlink(), a.getIno(), chunks, xattrs));
    }
    assertEquals(expected, actual, "seed=" + seed + " after batch " + batch);
    StatFsReply fs = read.apply(MetaRequest.newBuilder().setStatFs(StatFsRequest.newBuilder()
        .setRootIno(Layout.ROOT_INO)).build()).getStatFs();
    long[] counts = new long[2];
    count(root, counts);
    assertEquals(counts[0], fs.getInodesUsed(), "seed=" + seed + " inode usage after batch " + batch);
    // Usage counts allocated bytes (written extents, core Quotas); this model commits none, so sizes set by
    // truncate allocate nothing however large (QuotaTest covers written extents).
    assertEquals(0, fs.getUsedBytes(), "seed=" + seed + " byte usage after batch " + batch);
  }

  private void describe(Node node, String path, Map<String, String> out) {
    Map<Node, Integer> names = new IdentityHashMap<>();
    countNames(root, names);
    describe(node, path, out, names);
  }

  private static void describe(Node node, String path, Map<String, String> out, Map<Node, Integer> names) {
    long subdirs = node.children.values().stream().filter(c -> c.dir).count();
    String type = node.dir ? "DIRECTORY" : node.symlink ? "SYMLINK" : "REGULAR";
    out.put(path.isEmpty() ? "/" : path, describe(type, node.dir ? 0 : node.size,
        node.dir ? 2 + subdirs : names.get(node), node.ino, List.copyOf(node.chunks), node.xattrs));
    for (Map.Entry<String, Node> c : node.children.entrySet()) {
      describe(c.getValue(), path + "/" + c.getKey(), out, names);
    }
  }

  private static void countNames(Node node, Map<Node, Integer> names) {
    names.merge(node, 1, Integer::sum);
    if (node.dir) {
      node.children.values().forEach(c -> countNames(c, names));
    }
  }

  private static String describe(String type, long size, long nlink, long ino, List<Integer> chunks,
      Map<String, String> xattrs) {
    return type + " size=" + size + " nlink=" + nlink + " ino=" + ino + " chunks=" + chunks + " xattrs=" + xattrs;
  }

  /** Inodes and bytes (regular files' sizes): each inode once, however many names it has. */
  private void count(Node node, long[] counts) {
    Map<Node, Integer> names = new IdentityHashMap<>();
    countNames(node, names);
    for (Node n : names.keySet()) {
      counts[0]++;
      counts[1] += n.dir || n.symlink ? 0 : n.size;
    }
  }

  /** Every directory, and every inode once (hard links share a node). */
  private static void collect(Node node, List<Node> dirs, List<Node> all) {
    collect(node, dirs, all, new IdentityHashMap<>());
  }

  /** In tree order (name order), so that a seed replays the same choices. */
  private static void collect(Node node, List<Node> dirs, List<Node> all, Map<Node, Boolean> seen) {
    if (seen.put(node, Boolean.TRUE) != null) {
      return;
    }
    all.add(node);
    if (node.dir) {
      dirs.add(node);
      node.children.values().forEach(c -> collect(c, dirs, all, seen));
    }
  }

  private static String path(Node n) {
    if (n.parent == null) {
      return "";
    }
    for (Map.Entry<String, Node> e : n.parent.children.entrySet()) {
      if (e.getValue() == n) {
        return path(n.parent) + "/" + e.getKey();
      }
    }
    return "?";
  }

  private static String check(String what, Code expected, Code got) {
    return (expected == got ? "" : "MISMATCH expected " + expected + " got " + got + ": ") + what;
  }

  interface Call {
    void run() throws MetaException;
  }

  private static Code code(Call call) {
    try {
      call.run();
      return Code.OK;
    } catch (MetaException e) {
      return e.code();
    }
  }
}
