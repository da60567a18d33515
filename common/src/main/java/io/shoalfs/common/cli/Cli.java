package io.shoalfs.common.cli;

import java.io.PrintWriter;
import picocli.CommandLine;

/**
 * Runs a picocli command the Shoal way: a bad flag or a {@link UserError} prints exactly one line
 * ({@code shoal: REASON}) to stderr and exits non-zero; anything else prints one line plus the cause's class.
 */
public final class Cli {
  private Cli() {}

  /**
   * {@code SHOAL_LOG_LEVEL} (trace, debug, info, warn, error; the chart's {@code logLevel}) as the default log
   * level, unless {@code -Dorg.slf4j.simpleLogger.defaultLogLevel} says otherwise. Call it first in a
   * {@code main}, before any logger exists: SLF4J's simple logger reads its level once.
   */
  public static void logLevelFromEnvironment() {
    String level = System.getenv("SHOAL_LOG_LEVEL");
    String property = "org.slf4j.simpleLogger.defaultLogLevel";
    if (level == null || level.isBlank() || System.getProperty(property) != null) {
      return;
    }
    String l = level.trim().toLowerCase(java.util.Locale.ROOT);
    if (java.util.List.of("trace", "debug", "info", "warn", "error").contains(l)) {
      System.setProperty(property, l);
    } else {
      System.err.println("shoal: SHOAL_LOG_LEVEL='" + level + "' is not one of trace, debug, info, warn, error;"
          + " logging at info");
    }
  }

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
