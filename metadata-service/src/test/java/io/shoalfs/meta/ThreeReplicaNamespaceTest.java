package io.shoalfs.meta;

/** The namespace behaviour against a three-replica group. */
class ThreeReplicaNamespaceTest extends NamespaceBehaviourTest {
  @Override
  int replicas() {
    return 3;
  }
}
