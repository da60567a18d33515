package io.shoalfs.cli;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.proto.meta.Snapshot;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code shoal snapshot create|delete|list}: O(1) snapshots of a subvolume, readable (read-only) under
 * {@code .snap/NAME} at the subvolume's root. A snapshot holds every write the metadata service applied before it;
 * data still in a client's write-back buffer is not in (crash-consistent: like pulling the plug).
 */
@Command(
    name = "snapshot",
    mixinStandardHelpOptions = true,
    description = "Create, delete and list snapshots of a subvolume (O(1), read-only under .snap/NAME).",
    subcommands = {SnapshotCommand.Create.class, SnapshotCommand.Delete.class, SnapshotCommand.ListCmd.class})
public final class SnapshotCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: create, delete or list");
  }

  static UserError failure(String what, MetaException e) {
    return new UserError(what + ": " + e.getMessage(), 1);
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Take a snapshot (the same name again: exit 0).")
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", description = "The subvolume.")
    String subvolume;

    @Parameters(index = "1", description = "The snapshot's name: letters, digits, '.', '_' or '-'.")
    String name;

    @Option(names = "--meta", description = "Metadata replicas: HOST:PORT,... (default: the local cluster in ./.shoal)")
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        long t0 = System.nanoTime();
        Snapshot s = client.createSnapshot(subvolume, name);
        System.out.printf("created snapshot %s of %s (seq %d) in %.1f ms%n", s.getName(), subvolume, s.getSeq(),
            (System.nanoTime() - t0) / 1e6);
        return 0;
      } catch (MetaException e) {
        throw failure("cannot create snapshot " + name + " of " + subvolume, e);
      }
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a snapshot (its data stays while clones of it exist).")
  static final class Delete implements Callable<Integer> {
    @Parameters(index = "0")
    String subvolume;

    @Parameters(index = "1")
    String name;

    @Option(names = "--meta", description = "Metadata replicas: HOST:PORT,... (default: the local cluster in ./.shoal)")
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        client.deleteSnapshot(subvolume, name);
        System.out.println("deleted snapshot " + name + " of " + subvolume);
        return 0;
      } catch (MetaException e) {
        throw failure("cannot delete snapshot " + name + " of " + subvolume, e);
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List a subvolume's snapshots.")
  static final class ListCmd implements Callable<Integer> {
    @Parameters(index = "0")
    String subvolume;

    @Option(names = "--meta", description = "Metadata replicas: HOST:PORT,... (default: the local cluster in ./.shoal)")
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        for (Snapshot s : client.listSnapshots(subvolume)) {
          Instant at = Instant.ofEpochSecond(0, s.getCreatedNs());
          System.out.println(s.getName() + "\t" + at + (s.getClones() > 0 ? "\tclones " + s.getClones() : ""));
        }
        return 0;
      } catch (MetaException e) {
        throw failure("cannot list snapshots of " + subvolume, e);
      }
    }
  }
}
