package io.shoalfs.common.cli;

import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * Runs a picocli command the Shoal way: a bad flag or a {@link UserError} prints exactly one line
 * ({@code shoal: REASON}) to stderr and exits non-zero; anything else prints one line plus the cause's class.
 */
public final class Cli {
  private Cli() {}

  public static CommandLine commandLine(Object command) {
    CommandLine cl = new CommandLine(command);
    cl.setParameterExceptionHandler((ex, args) -> {
      PrintWriter err = ex.getCommandLine().getErr();
      err.println("shoal: " + oneLine(ex.getMessage()) + " (see '"
          + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
      err.flush();
      return 2;
    });
    cl.setExecutionExceptionHandler((ex, line, parseResult) -> {
      PrintWriter err = line.getErr();
      if (ex instanceof UserError ue) {
        err.println("shoal: " + oneLine(ue.getMessage()));
        err.flush();
        return ue.exitCode();
      }
      if (ex instanceof IllegalArgumentException iae) {
        err.println("shoal: " + oneLine(iae.getMessage()));
        err.flush();
        return 2;
      }
      err.println("shoal: " + oneLine(String.valueOf(ex.getMessage())) + " (" + ex.getClass().getSimpleName() + ")");
      err.flush();
      return 1;
    });
    return cl;
  }

  public static int run(Object command, String... args) {
    return commandLine(command).execute(args);
  }

  public static String oneLine(String s) {
    if (s == null) {
      return "";
    }
    return s.replace('\n', ' ').replace('\r', ' ').trim();
  }
}
