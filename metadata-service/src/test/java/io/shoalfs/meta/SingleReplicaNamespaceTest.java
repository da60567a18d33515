package io.shoalfs.meta;

/** The namespace behaviour against one replica. */
class SingleReplicaNamespaceTest extends NamespaceBehaviourTest {
  @Override
  int replicas() {
    return 1;
  }
}
