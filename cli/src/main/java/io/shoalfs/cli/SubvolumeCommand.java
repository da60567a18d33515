package io.shoalfs.cli;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.proto.meta.Subvolume;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code shoal subvolume create|delete|list}: subvolumes, the unit a CSI volume maps to. */
@Command(
    name = "subvolume",
    mixinStandardHelpOptions = true,
    description = "Create, delete and list subvolumes.",
    subcommands = {SubvolumeCommand.Create.class, SubvolumeCommand.Delete.class, SubvolumeCommand.ListCmd.class})
public final class SubvolumeCommand implements Runnable {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(), "missing subcommand: create, delete or list");
  }

  static UserError failure(String what, MetaException e) {
    return new UserError(what + ": " + e.getMessage(), 1);
  }

  @Command(name = "create", mixinStandardHelpOptions = true, description = "Create a subvolume with a capacity.")
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", description = "Name: letters, digits, '.', '_' or '-'.")
    String name;

    @Option(names = "--size", required = true, description = "Capacity: bytes or Ki/Mi/Gi/Ti (e.g. 10Gi).")
    String size;

    @Option(names = "--meta", required = true, description = "Metadata replicas: HOST:PORT,...")
    String meta;

    @Override
    public Integer call() {
      long bytes = Sizes.parse(size);
      try (MetaClient client = MetaClient.connect(meta)) {
        Subvolume s = client.createSubvolume(name, bytes);
        System.out.println("created " + s.getName() + " " + Sizes.format(s.getCapacityBytes()));
        return 0;
      } catch (MetaException e) {
        throw failure("cannot create subvolume " + name, e);
      }
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true, description = "Delete a subvolume and all its files.")
  static final class Delete implements Callable<Integer> {
    @Parameters(index = "0")
    String name;

    @Option(names = "--meta", required = true)
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(meta)) {
        client.deleteSubvolume(name);
        System.out.println("deleted " + name);
        return 0;
      } catch (MetaException e) {
        throw failure("cannot delete subvolume " + name, e);
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true, description = "List subvolumes.")
  static final class ListCmd implements Callable<Integer> {
    @Option(names = "--meta", required = true)
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(meta)) {
        for (Subvolume s : client.listSubvolumes()) {
          System.out.println(s.getName() + "\t" + Sizes.format(s.getCapacityBytes()));
        }
        return 0;
      } catch (MetaException e) {
        throw failure("cannot list subvolumes", e);
      }
    }
  }
}
