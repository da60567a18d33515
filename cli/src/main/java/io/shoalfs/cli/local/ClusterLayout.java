package io.shoalfs.cli.local;

import io.shoalfs.common.cli.UserError;
import io.shoalfs.common.net.Ports;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;

/**
 * The ports a local cluster uses, chosen once at its first start and kept in {@code DIR/cluster.properties}:
 * the metadata replicas' Raft addresses are part of the Raft configuration stored in their logs, so a restart
 * must use the same ones.
 */
public record ClusterLayout(List<Integer> metaPorts, List<Integer> storagePorts) {
  public static final String HOST = "127.0.0.1";
  private static final String FILE = "cluster.properties";

  public static ClusterLayout loadOrCreate(Path dir, int metaReplicas, int storageDaemons) {
    Path file = dir.resolve(FILE);
    if (Files.exists(file)) {
      ClusterLayout existing = load(file);
      if (existing.metaPorts.size() != metaReplicas) {
        throw new UserError(dir + " holds a cluster with " + existing.metaPorts.size()
            + " metadata replicas; start it with --meta-replicas " + existing.metaPorts.size());
      }
      if (existing.storagePorts.size() != storageDaemons) {
        throw new UserError(dir + " holds a cluster with " + existing.storagePorts.size()
            + " storage daemons; start it with --storage-daemons " + existing.storagePorts.size());
      }
      return existing;
    }
    List<Integer> meta = new ArrayList<>();
    List<Integer> storage = new ArrayList<>();
    while (meta.size() < metaReplicas) {
      int p = Ports.freePortPair();
      if (!meta.contains(p) && !meta.contains(p + 1) && !meta.contains(p - 1)) {
        meta.add(p);
      }
    }
    // A storage daemon takes two ports: its storage API and (p + 1) its Raft server for replicated groups.
    while (storage.size() < storageDaemons) {
      int p = Ports.freePortPair();
      if (!storage.contains(p) && !storage.contains(p + 1) && !storage.contains(p - 1) && !meta.contains(p)
          && !meta.contains(p - 1) && !meta.contains(p + 1)) {
        storage.add(p);
      }
    }
    ClusterLayout layout = new ClusterLayout(List.copyOf(meta), List.copyOf(storage));
    layout.save(file);
    return layout;
  }

  /**
   * The layout of the local cluster in {@code dir}, or null if none was ever started there (commands without
   * --meta find the cluster of ./.shoal this way).
   */
  public static ClusterLayout readIfPresent(Path dir) {
    Path file = dir.resolve(FILE);
    return Files.exists(file) ? load(file) : null;
  }

  /** ADDRS: the metadata replicas' Raft addresses, as every component's --meta takes them. */
  public String metaAddrs() {
    return metaPorts.stream().map(p -> HOST + ":" + p).collect(Collectors.joining(","));
  }

  /** --peers for the replicas: m1=HOST:PORT,... */
  public String metaPeers() {
    List<String> peers = new ArrayList<>();
    for (int i = 0; i < metaPorts.size(); i++) {
      peers.add(metaId(i) + "=" + HOST + ":" + metaPorts.get(i));
    }
    return String.join(",", peers);
  }

  public static String metaId(int i) {
    return "m" + (i + 1);
  }

  public static String storageId(int i) {
    return "s" + (i + 1);
  }

  /** Ports that are in use by something else right now (a restart needs them all). */
  public List<Integer> busyPorts() {
    List<Integer> busy = new ArrayList<>();
    for (int p : metaPorts) {
      if (!Ports.isFree(p)) {
        busy.add(p);
      }
      if (!Ports.isFree(p + 1)) {
        busy.add(p + 1);
      }
    }
    for (int p : storagePorts) {
      if (!Ports.isFree(p)) {
        busy.add(p);
      }
      if (!Ports.isFree(p + 1)) {
        busy.add(p + 1);
      }
    }
    return busy;
  }

  private static ClusterLayout load(Path file) {
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(file)) {
      props.load(r);
      return new ClusterLayout(ports(props, "meta.ports"), ports(props, "storage.ports"));
    } catch (IOException | RuntimeException e) {
      throw new UserError("cannot read " + file + ": " + e.getMessage());
    }
  }

  private static List<Integer> ports(Properties props, String key) {
    String v = props.getProperty(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("missing " + key);
    }
    return Arrays.stream(v.split(",")).map(String::trim).map(Integer::parseInt).toList();
  }

  private void save(Path file) {
    Properties props = new Properties();
    props.setProperty("meta.ports", metaPorts.stream().map(String::valueOf).collect(Collectors.joining(",")));
    props.setProperty("storage.ports", storagePorts.stream().map(String::valueOf).collect(Collectors.joining(",")));
    props.setProperty("meta.addrs", metaAddrs()); // for people and scripts; commands read the ports
    try (Writer w = Files.newBufferedWriter(file)) {
      props.store(w, "Ports of this shoal local cluster; chosen at its first start. Delete the directory to reset.");
    } catch (IOException e) {
      throw new UserError("cannot write " + file + ": " + e.getMessage());
    }
  }
}
