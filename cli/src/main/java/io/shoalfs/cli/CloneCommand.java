package io.shoalfs.cli;

import io.shoalfs.client.MetaClient;
import io.shoalfs.client.MetaException;
import io.shoalfs.common.cli.UserError;
import io.shoalfs.proto.meta.Subvolume;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code shoal clone SOURCE NEW [--snapshot NAME]}: a new writable subvolume that shares SOURCE's files and chunks
 * copy-on-write, as of snapshot NAME or of now; created in O(1), no byte copied. Afterwards the two are independent.
 */
@Command(name = "clone", mixinStandardHelpOptions = true,
    description = "Clone a subvolume (copy-on-write, O(1)), live or as of a snapshot.")
public final class CloneCommand implements Callable<Integer> {
  @Parameters(index = "0", description = "The source subvolume.")
  String source;

  @Parameters(index = "1", description = "The new subvolume's name.")
  String name;

  @Option(names = "--snapshot", description = "Clone as of this snapshot of SOURCE (default: the live SOURCE).")
  String snapshot = "";

  @Option(names = "--meta", description = "Metadata replicas: HOST:PORT,... (default: the local cluster in ./.shoal)")
  String meta;

  @Override
  public Integer call() {
    try (MetaClient client = MetaClient.connect(MetaOption.resolve(meta))) {
      long t0 = System.nanoTime();
      Subvolume s = client.cloneSubvolume(source, name, snapshot, 0);
      System.out.printf("cloned %s%s as %s in %.1f ms%n", source, snapshot.isEmpty() ? "" : "@" + snapshot,
          s.getName(), (System.nanoTime() - t0) / 1e6);
      return 0;
    } catch (MetaException e) {
      throw new UserError("cannot clone " + source + " as " + name + ": " + e.getMessage(), 1);
    }
  }
}
