package io.shoalfs.fuse;

import io.shoalfs.common.cli.Cli;

/** Entry point of a mount process (the CSI node plugin starts one per volume): runs {@link MountCommand}. */
public final class MountMain {
  private MountMain() {}

  public static void main(String[] args) {
    Cli.logLevelFromEnvironment();
    System.exit(Cli.run(new MountCommand(), args));
  }
}
