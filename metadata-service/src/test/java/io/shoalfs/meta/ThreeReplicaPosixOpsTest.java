package io.shoalfs.meta;

/** The POSIX operations against a three-replica group; the last test compares the replicas' tables. */
class ThreeReplicaPosixOpsTest extends PosixOpsTest {
  @Override
  int replicas() {
    return 3;
  }
}
