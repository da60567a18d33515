package io.shoalfs.csi;

import io.shoalfs.common.cli.Cli;

/** Entry point for {@code shoal csi} on its own (container images start the driver with this class). */
public final class CsiMain {
  private CsiMain() {}

  public static void main(String[] args) {
    Cli.logLevelFromEnvironment();
    // gRPC asks netty for TCP keep-alive on every channel, which a unix socket does not have; netty warns about
    // it on each connection. Set before the first logger exists; an explicit setting still wins.
    if (System.getProperty("org.slf4j.simpleLogger.log.io.netty.bootstrap") == null) {
      System.setProperty("org.slf4j.simpleLogger.log.io.netty.bootstrap", "error");
    }
    System.exit(Cli.run(new CsiCommand(), args));
  }
}
