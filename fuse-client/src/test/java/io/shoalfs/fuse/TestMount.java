package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import io.shoalfs.common.mount.MountInfo;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** A ShoalMount on a fresh directory; close() unmounts, forces it if needed, and checks nothing is left. */
final class TestMount implements AutoCloseable {
  private final ShoalMount mount;
  private final Path dir;

  private TestMount(ShoalMount mount, Path dir) {
    this.mount = mount;
    this.dir = dir;
  }

  static TestMount open(TestCluster cluster, Path parent, String name) throws IOException {
    return open(cluster, null, parent, name);
  }

  static TestMount open(TestCluster cluster, String subvolume, Path parent, String name) throws IOException {
    return open(cluster, subvolume, parent, name, List.of());
  }

  static TestMount open(TestCluster cluster, String subvolume, Path parent, String name, List<String> options)
      throws IOException {
    Path dir = Files.createDirectories(parent.resolve(name));
    return new TestMount(ShoalMount.mount(cluster.metaAddrs(), subvolume, dir, options), dir);
  }

  Path root() {
    return dir;
  }

  ShoalMount mount() {
    return mount;
  }

  @Override
  public void close() {
    try {
      mount.close();
    } finally {
      forceUnmount(dir);
    }
    assertFalse(MountInfo.hasFuseMount(dir), "mount left behind at " + dir);
  }

  /** Safety net: whatever failed, detach a FUSE mount still on {@code dir}. */
  static void forceUnmount(Path dir) {
    for (int i = 0; i < 3 && MountInfo.hasFuseMount(dir); i++) {
      try {
        new ProcessBuilder("umount", "-l", dir.toString()).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
      } catch (Exception e) {
        System.err.println("umount -l " + dir + " failed: " + e);
      }
    }
  }
}
