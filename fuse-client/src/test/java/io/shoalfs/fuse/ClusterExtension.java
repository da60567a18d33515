package io.shoalfs.fuse;

import io.shoalfs.storage.testing.TestCluster;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * Injects the one {@link TestCluster} of the test run (started on first use, closed by JUnit at the end of the
 * run because it lives in the root context's store): a metadata election costs seconds, no need to pay it
 * per class.
 */
public final class ClusterExtension implements ParameterResolver {
  private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(ClusterExtension.class);

  @Override
  public boolean supportsParameter(ParameterContext p, ExtensionContext ctx) {
    return p.getParameter().getType() == TestCluster.class;
  }

  @Override
  public Object resolveParameter(ParameterContext p, ExtensionContext ctx) {
    return ctx.getRoot().getStore(NS).getOrComputeIfAbsent(TestCluster.class, k -> {
      try {
        return TestCluster.start();
      } catch (Exception e) {
        throw new IllegalStateException("cannot start the test cluster: " + e.getMessage(), e);
      }
    }, TestCluster.class);
  }
}
