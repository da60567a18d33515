package io.shoalfs.cli;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.Sizes;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.proto.meta.Code;
import io.shoalfs.proto.meta.Subvolume;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code shoal subvolume create|resize|delete|list}: subvolumes, the unit a CSI volume maps to, with hard quotas
 * on bytes and inodes. Without {@code --meta} the commands use the local cluster of {@code ./.shoal}.
 */
@Command(
    name = "subvolume",
    mixinStandardHelpOptions = true,
    description = "Create, resize, delete and list subvolumes (hard quotas on bytes and inodes).",
    subcommands = {SubvolumeCommand.Create.class, SubvolumeCommand.Resize.class, SubvolumeCommand.Delete.class,
        SubvolumeCommand.ListCmd.class})
public final class SubvolumeCommand implements Runnable {
  static final String SIZE_HELP = "bytes, or a number with Ki/Mi/Gi/Ti (powers of 1024) or k/M/G/T (powers of 1000):"
      + " 10Gi = 10737418240, 10G = 10000000000";
  static final String META_HELP = "Metadata replicas: HOST:PORT,... (default: the local cluster in ./.shoal)";

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new picocli.CommandLine.ParameterException(spec.commandLine(),
        "missing subcommand: create, resize, delete or list");
  }

  static UserError failure(String what, MetaException e) {
    return new UserError(what + ": " + oneLine(e.getMessage()), 1);
  }

  private static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s+", " ").trim();
  }

  /** A size the user typed: more than 0 bytes (exit 2 with one line otherwise). */
  static long size(String text) {
    long bytes;
    try {
      bytes = Sizes.parse(text);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    if (bytes <= 0) {
      throw new UserError("size must be more than 0 bytes, got '" + text + "'");
    }
    return bytes;
  }

  static long inodes(Long n) {
    if (n != null && n < 0) {
      throw new UserError("--inodes must be 0 (no limit) or more, got " + n);
    }
    return n == null ? 0 : n;
  }

  /** "10.0Mi (10485760 bytes)": what a size means exactly, since 10M and 10Mi differ. */
  static String describeSize(long bytes) {
    return Sizes.format(bytes) + " (" + bytes + " bytes)";
  }

  static String describeInodes(long limit) {
    return limit == 0 ? "no inode limit" : limit + " inodes";
  }

  @Command(name = "create", mixinStandardHelpOptions = true,
      description = "Create a subvolume with a size (byte quota) and optionally an inode quota. Creating one that"
          + " exists with the same quotas says so and succeeds; with other quotas it fails.")
  static final class Create implements Callable<Integer> {
    @Parameters(index = "0", description = "Name: letters, digits, '.', '_' or '-'.")
    String name;

    @Option(names = "--size", required = true, description = "Byte quota: " + SIZE_HELP + ".")
    String size;

    @Option(names = "--inodes", description = "Inode quota (files, directories, links..., the root included);"
        + " 0 or absent: none.")
    Long inodes;

    @Option(names = "--replication", description = "Copies of each chunk: 1, 2 or 3 (default: the cluster's).")
    Integer replication;

    @Option(names = "--meta", description = META_HELP)
    String meta;

    @Override
    public Integer call() {
      long bytes = size(size);
      long limit = inodes(inodes);
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        Subvolume existing = find(client, name);
        if (existing != null) {
          if (existing.getCapacityBytes() == bytes && existing.getInodesLimit() == limit) {
            System.out.println("subvolume " + name + " exists: " + describeSize(bytes) + ", " + describeInodes(limit));
            return 0;
          }
          throw new UserError("subvolume " + name + " exists with " + describeSize(existing.getCapacityBytes()) + ", "
              + describeInodes(existing.getInodesLimit()) + "; asked for " + describeSize(bytes) + ", "
              + describeInodes(limit) + " (use 'shoal subvolume resize')", 1);
        }
        if (replication != null && (replication < 1 || replication > 3)) {
          throw new UserError("--replication must be 1, 2 or 3, got " + replication);
        }
        Subvolume s = client.createSubvolume(name, bytes, limit, replication == null ? 0 : replication);
        System.out.println("created " + s.getName() + ": " + describeSize(s.getCapacityBytes()) + ", "
            + describeInodes(s.getInodesLimit()));
        return 0;
      } catch (MetaException e) {
        throw failure("cannot create subvolume " + name, e);
      }
    }
  }

  @Command(name = "resize", mixinStandardHelpOptions = true,
      description = "Change a subvolume's quotas, up or down (never below what it uses).")
  static final class Resize implements Callable<Integer> {
    @Parameters(index = "0")
    String name;

    @Option(names = "--size", description = "New byte quota: " + SIZE_HELP + ".")
    String size;

    @Option(names = "--inodes", description = "New inode quota; 0: none.")
    Long inodes;

    @Option(names = "--meta", description = META_HELP)
    String meta;

    @Override
    public Integer call() {
      if (size == null && inodes == null) {
        throw new UserError("nothing to change: give --size and/or --inodes");
      }
      Long bytes = size == null ? null : size(size);
      Long limit = inodes == null ? null : inodes(inodes);
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        Subvolume s = client.resizeSubvolume(name, bytes, limit);
        System.out.println("resized " + s.getName() + ": " + describeSize(s.getCapacityBytes()) + ", "
            + describeInodes(s.getInodesLimit()) + "; uses " + describeSize(s.getUsedBytes()) + ", "
            + s.getUsedInodes() + " inodes");
        return 0;
      } catch (MetaException e) {
        if (e.code() == Code.EDQUOT) {
          throw new UserError("cannot resize subvolume " + name + " below its usage: " + oneLine(e.getMessage()), 1);
        }
        throw failure("cannot resize subvolume " + name, e);
      }
    }
  }

  @Command(name = "delete", mixinStandardHelpOptions = true,
      description = "Delete a subvolume and all its files. Refused while it is mounted, unless --force.")
  static final class Delete implements Callable<Integer> {
    @Parameters(index = "0")
    String name;

    @Option(names = "--force", description = "Delete even while mounts of it are live (they then see no files).")
    boolean force;

    @Option(names = "--meta", description = META_HELP)
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        client.deleteSubvolume(name, force);
        System.out.println("deleted " + name);
        return 0;
      } catch (MetaException e) {
        if (e.code() == Code.EBUSY) {
          throw new UserError("cannot delete subvolume " + name + ": " + oneLine(e.getMessage())
              .replace("(unmount it, or force)", "(unmount it first, or pass --force)"), 1);
        }
        throw failure("cannot delete subvolume " + name, e);
      }
    }
  }

  @Command(name = "list", mixinStandardHelpOptions = true,
      description = "List subvolumes with their quotas, live usage and mounts.")
  static final class ListCmd implements Callable<Integer> {
    @Option(names = "--meta", description = META_HELP)
    String meta;

    @Override
    public Integer call() {
      try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
        List<Subvolume> all = client.listSubvolumes();
        System.out.println(header());
        for (Subvolume s : all) {
          System.out.println(row(s));
        }
        return 0;
      } catch (MetaException e) {
        throw failure("cannot list subvolumes", e);
      }
    }
  }

  static String header() {
    return String.format(Locale.ROOT, "%-24s %10s %10s %5s %10s %10s %6s", "NAME", "SIZE", "USED", "USE%", "INODES",
        "IQUOTA", "MOUNTS");
  }

  /** One line of a subvolume: size, used bytes, percent, inodes used and their quota ("-": none), mounts. */
  static String row(Subvolume s) {
    long cap = s.getCapacityBytes();
    String pct = cap == 0 ? "-" : (s.getUsedBytes() * 100 / cap) + "%";
    return String.format(Locale.ROOT, "%-24s %10s %10s %5s %10d %10s %6d", s.getName(),
        cap == 0 ? "-" : Sizes.format(cap), Sizes.format(s.getUsedBytes()), pct, s.getUsedInodes(),
        s.getInodesLimit() == 0 ? "-" : String.valueOf(s.getInodesLimit()), s.getMountSessions());
  }

  private static Subvolume find(MetaClient client, String name) throws MetaException {
    try {
      return client.getSubvolume(name);
    } catch (MetaException e) {
      if (e.code() == Code.ENOENT) {
        return null;
      }
      throw e;
    }
  }
}
