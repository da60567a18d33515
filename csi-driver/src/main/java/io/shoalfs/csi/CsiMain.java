package io.shoalfs.csi;

import io.shoalfs.common.cli.Cli;

/** Entry point for {@code shoal csi} on its own (container images start the driver with this class). */
public final class CsiMain {
  private CsiMain() {}

  public static void main(String[] args) {
    System.exit(Cli.run(new CsiCommand(), args));
  }
}
