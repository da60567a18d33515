package io.shoalfs.meta;

/** The POSIX operations against a one-replica group. */
class SingleReplicaPosixOpsTest extends PosixOpsTest {
  @Override
  int replicas() {
    return 1;
  }
}
