package io.shoalfs.meta;

import io.shoalfs.common.cli.Cli;

/** Runs {@link MetaCommand} on its own: {@code java -cp ... io.shoalfs.meta.MetaMain --id ...}. */
public final class MetaMain {
  private MetaMain() {}

  public static void main(String[] args) {
    Cli.logLevelFromEnvironment();
    System.exit(Cli.run(new MetaCommand(), args));
  }
}
