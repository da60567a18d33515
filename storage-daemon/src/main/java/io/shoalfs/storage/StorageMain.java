package io.shoalfs.storage;

import io.shoalfs.common.cli.Cli;

/** Runs {@link StorageCommand} as its own process. */
public final class StorageMain {
  private StorageMain() {}

  public static void main(String[] args) {
    Cli.logLevelFromEnvironment();
    System.exit(Cli.run(new StorageCommand(), args));
  }
}
