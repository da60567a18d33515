package io.shoalfs.cli;

import io.shoalfs.cli.local.ClusterLayout;
import io.shoalfs.common.cli.UserError;
import java.nio.file.Path;

/**
 * The metadata addresses of a command: {@code --meta} when given, else those of the local cluster in
 * {@code ./.shoal} (what {@code shoal local} started with its default {@code --dir}; its ports are in
 * {@code ./.shoal/cluster.properties}). {@code status}, {@code subvolume}, {@code snapshot} and {@code clone}
 * use it.
 */
public final class MetaOption {
  /** Where {@code shoal local} keeps its cluster by default, relative to the working directory. */
  public static final Path LOCAL_DIR = Path.of(".shoal");

  private MetaOption() {}

  /** {@code meta} if given, else the local cluster's addresses; a one-line UserError when there is neither. */
  public static String resolve(String meta) {
    if (meta != null && !meta.isBlank()) {
      return meta;
    }
    Path dir = LOCAL_DIR.toAbsolutePath().normalize();
    ClusterLayout layout = ClusterLayout.readIfPresent(dir);
    if (layout == null) {
      throw new UserError("no --meta given and no local cluster in " + dir
          + " (start one with 'shoal local', or pass --meta HOST:PORT,...)");
    }
    return layout.metaAddrs();
  }
}
