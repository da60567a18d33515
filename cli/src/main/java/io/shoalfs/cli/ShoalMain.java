package io.shoalfs.cli;

import io.shoalfs.bench.BenchCommand;
import io.shoalfs.common.cli.Cli;
import io.shoalfs.csi.CsiCommand;
import io.shoalfs.fuse.MountCommand;
import io.shoalfs.meta.MetaCommand;
import io.shoalfs.storage.StorageCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code shoal} command: parses the command line and hands over to the subcommand. */
@Command(
    name = "shoal",
    mixinStandardHelpOptions = true,
    versionProvider = ShoalMain.Version.class,
    description = "Shoal: a shared, replicated POSIX filesystem for Kubernetes.",
    subcommands = {
      LocalCommand.class,
      MetaCommand.class,
      StorageCommand.class,
      MountCommand.class,
      CsiCommand.class,
      SubvolumeCommand.class,
      SnapshotCommand.class,
      CloneCommand.class,
      StatusCommand.class,
      BenchCommand.class,
    })
public final class ShoalMain implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    Cli.logLevelFromEnvironment();
    ParentWatch.startIfRequested();
    int code = Cli.run(new ShoalMain(), args);
    System.exit(code);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing command");
  }

  /** The build's version, from the jar manifest ("dev" when run from classes). */
  public static String version() {
    String v = ShoalMain.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"shoal " + version()};
    }
  }
}
