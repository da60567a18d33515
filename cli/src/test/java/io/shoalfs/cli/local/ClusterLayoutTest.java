package io.shoalfs.cli.local;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.shoalfs.common.cli.UserError;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClusterLayoutTest {
  @TempDir Path dir;

  @Test
  void portsAreChosenOnceAndReused() {
    ClusterLayout first = ClusterLayout.loadOrCreate(dir, 3, 2);
    assertEquals(3, first.metaPorts().size());
    assertEquals(2, first.storagePorts().size());
    Set<Integer> all = new HashSet<>();
    for (int p : first.metaPorts()) {
      assertTrue(all.add(p) && all.add(p + 1), "raft and client ports of every replica are distinct: " + first);
    }
    for (int p : first.storagePorts()) {
      assertTrue(all.add(p), "storage ports distinct from metadata ports: " + first);
    }
    assertEquals(first, ClusterLayout.loadOrCreate(dir, 3, 2), "a restart gets the same ports");
  }

  @Test
  void addressListsUseTheSamePorts() {
    ClusterLayout layout = new ClusterLayout(List.of(9860, 9870), List.of(9900));
    assertEquals("127.0.0.1:9860,127.0.0.1:9870", layout.metaAddrs());
    assertEquals("m1=127.0.0.1:9860,m2=127.0.0.1:9870", layout.metaPeers());
  }

  @Test
  void aDifferentShapeIsRefusedWithTheShapeToUse() {
    ClusterLayout.loadOrCreate(dir, 3, 3);
    UserError meta = assertThrows(UserError.class, () -> ClusterLayout.loadOrCreate(dir, 1, 3));
    assertTrue(meta.getMessage().contains("--meta-replicas 3"), meta.getMessage());
    UserError storage = assertThrows(UserError.class, () -> ClusterLayout.loadOrCreate(dir, 3, 1));
    assertTrue(storage.getMessage().contains("--storage-daemons 3"), storage.getMessage());
  }

  @Test
  void busyPortsAreNamed() throws Exception {
    ClusterLayout layout = ClusterLayout.loadOrCreate(dir, 1, 1);
    assertEquals(List.of(), layout.busyPorts());
    int storagePort = layout.storagePorts().get(0);
    try (ServerSocket taken = new ServerSocket(storagePort, 1, InetAddress.getLoopbackAddress())) {
      assertEquals(List.of(storagePort), layout.busyPorts());
      UserError e = assertThrows(UserError.class, () -> LocalCluster.checkPorts(layout));
      assertTrue(e.getMessage().contains(String.valueOf(storagePort)), e.getMessage());
    }
    assertNotEquals(List.of(storagePort), layout.busyPorts());
  }
}
