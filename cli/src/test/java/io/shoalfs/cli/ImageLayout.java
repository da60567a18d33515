package io.shoalfs.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The files of the Shoal image, laid out on this machine as {@code helm/images/Dockerfile} lays them out: every
 * {@code COPY} of the build context (the repository, filtered by {@code Dockerfile.dockerignore} with Docker's
 * rules: the last matching pattern wins, and a pattern matching a directory matches what is under it), with file
 * modes kept, under a directory standing for the image's root. {@code RUN} lines (packages) are the only part not
 * reproduced: the machine's own packages stand in for them.
 */
final class ImageLayout {
  /** An instruction of the Dockerfile, continuation lines joined. */
  record Instruction(String keyword, String arguments) {}

  private record IgnoreRule(Pattern pattern, boolean include) {}

  private final Path context;
  private final List<Instruction> instructions;
  private final List<IgnoreRule> ignore;

  private ImageLayout(Path context, List<Instruction> instructions, List<IgnoreRule> ignore) {
    this.context = context;
    this.instructions = instructions;
    this.ignore = ignore;
  }

  static ImageLayout read(Path context, Path dockerfile) throws IOException {
    Path ignoreFile = dockerfile.resolveSibling(dockerfile.getFileName() + ".dockerignore");
    List<IgnoreRule> rules = new ArrayList<>();
    if (Files.exists(ignoreFile)) {
      for (String line : Files.readAllLines(ignoreFile)) {
        String l = line.strip();
        if (l.isEmpty() || l.startsWith("#")) {
          continue;
        }
        boolean include = l.startsWith("!");
        String p = strip(include ? l.substring(1).strip() : l);
        rules.add(new IgnoreRule(glob(p), include));
      }
    }
    return new ImageLayout(context, parse(Files.readAllLines(dockerfile)), rules);
  }

  private static List<Instruction> parse(List<String> lines) {
    List<Instruction> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (String line : lines) {
      String l = line.strip();
      if (current.isEmpty() && (l.isEmpty() || l.startsWith("#"))) {
        continue;
      }
      if (l.startsWith("#")) {
        continue; // a comment inside a continued instruction
      }
      if (l.endsWith("\\")) {
        current.append(l, 0, l.length() - 1).append(' ');
        continue;
      }
      current.append(l);
      String text = current.toString().strip();
      current.setLength(0);
      int space = text.indexOf(' ');
      out.add(new Instruction(text.substring(0, space).toUpperCase(), text.substring(space + 1).strip()));
    }
    return out;
  }

  List<Instruction> instructions(String keyword) {
    return instructions.stream().filter(i -> i.keyword().equals(keyword)).toList();
  }

  /** The {@code ENV} variables, in order (later ones see earlier ones through {@code ${NAME}}). */
  Map<String, String> env(Map<String, String> base) {
    Map<String, String> env = new LinkedHashMap<>();
    for (Instruction i : instructions("ENV")) {
      for (String pair : i.arguments().split("\\s+")) {
        int eq = pair.indexOf('=');
        if (eq <= 0) {
          throw new IllegalArgumentException("ENV not in NAME=value form: " + i.arguments());
        }
        String value = pair.substring(eq + 1);
        Matcher m = Pattern.compile("\\$\\{(\\w+)}").matcher(value);
        StringBuilder expanded = new StringBuilder();
        while (m.find()) {
          String name = m.group(1);
          m.appendReplacement(expanded, Matcher.quoteReplacement(env.getOrDefault(name, base.getOrDefault(name, ""))));
        }
        m.appendTail(expanded);
        env.put(pair.substring(0, eq), expanded.toString());
      }
    }
    return env;
  }

  /** The words of an exec-form ({@code ["a", "b"]}) instruction such as CMD or ENTRYPOINT. */
  List<String> execForm(String keyword) {
    List<Instruction> found = instructions(keyword);
    if (found.size() != 1 || !found.get(0).arguments().startsWith("[")) {
      throw new IllegalArgumentException("expected one exec-form " + keyword + ", found " + found);
    }
    List<String> words = new ArrayList<>();
    Matcher m = Pattern.compile("\"([^\"]*)\"").matcher(found.get(0).arguments());
    while (m.find()) {
      words.add(m.group(1));
    }
    return words;
  }

  /** Lays out every COPY under {@code root} (standing for the image's /); fails on a source the context lacks. */
  void layOut(Path root) throws IOException {
    for (Instruction copy : instructions("COPY")) {
      List<String> words = new ArrayList<>(List.of(copy.arguments().split("\\s+")));
      if (words.stream().anyMatch(w -> w.startsWith("--from"))) {
        throw new IllegalArgumentException("multi-stage COPY is not reproduced: " + copy.arguments());
      }
      words.removeIf(w -> w.startsWith("--"));
      String dest = words.remove(words.size() - 1);
      for (String source : words) {
        List<Path> files = sources(source);
        if (files.isEmpty()) {
          throw new AssertionError("COPY " + source + ": nothing in the build context (missing, or excluded by"
              + " the .dockerignore)");
        }
        boolean directory = Files.isDirectory(context.resolve(strip(source)));
        if (files.size() > 1 && !directory && !dest.endsWith("/")) {
          throw new AssertionError("COPY " + source + " matches several files but " + dest + " is not a directory");
        }
        for (Path f : files) {
          Path rel;
          if (directory) {
            rel = context.resolve(strip(source)).relativize(f);
          } else {
            rel = dest.endsWith("/") ? f.getFileName() : Path.of("");
          }
          Path target = root.resolve(strip(dest)).resolve(rel.toString());
          Files.createDirectories(target.getParent());
          Files.copy(f, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES,
              LinkOption.NOFOLLOW_LINKS);
        }
      }
    }
  }

  /** The context's files a COPY source names (a file, a directory's files, or a glob), after the ignore file. */
  private List<Path> sources(String source) throws IOException {
    String s = strip(source);
    int firstGlob = indexOfGlob(s);
    Path literal = context.resolve(firstGlob < 0 ? s : s.substring(0, Math.max(0, s.lastIndexOf('/', firstGlob))));
    if (!Files.exists(literal)) {
      return List.of();
    }
    Pattern pattern = firstGlob < 0 ? null : glob(s);
    List<Path> out = new ArrayList<>();
    try (Stream<Path> walk = Files.walk(literal, firstGlob < 0 ? Integer.MAX_VALUE : 1)) {
      for (Path p : (Iterable<Path>) walk::iterator) {
        if (Files.isDirectory(p)) {
          continue;
        }
        String rel = context.relativize(p).toString();
        if ((pattern == null || pattern.matcher(rel).matches()) && inContext(rel)) {
          out.add(p);
        }
      }
    }
    return out;
  }

  /** Docker's rule: the last pattern matching the path or one of its parent directories decides. */
  boolean inContext(String relativePath) {
    boolean excluded = false;
    for (IgnoreRule r : ignore) {
      if (matchesOrParent(r.pattern(), relativePath)) {
        excluded = !r.include();
      }
    }
    return !excluded;
  }

  private static boolean matchesOrParent(Pattern p, String path) {
    String candidate = path;
    while (true) {
      if (p.matcher(candidate).matches()) {
        return true;
      }
      int slash = candidate.lastIndexOf('/');
      if (slash < 0) {
        return false;
      }
      candidate = candidate.substring(0, slash);
    }
  }

  private static int indexOfGlob(String s) {
    for (int i = 0; i < s.length(); i++) {
      if ("*?[".indexOf(s.charAt(i)) >= 0) {
        return i;
      }
    }
    return -1;
  }

  private static String strip(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
  }

  /** Go's filepath.Match syntax ({@code *}, {@code ?}, classes) plus Docker's {@code **}, as a regex. */
  private static Pattern glob(String glob) {
    StringBuilder re = new StringBuilder();
    for (int i = 0; i < glob.length(); i++) {
      char c = glob.charAt(i);
      if (c == '*' && i + 1 < glob.length() && glob.charAt(i + 1) == '*') {
        re.append(".*");
        i++;
      } else if (c == '*') {
        re.append("[^/]*");
      } else if (c == '?') {
        re.append("[^/]");
      } else if (c == '[') {
        int end = glob.indexOf(']', i);
        re.append(glob, i, end + 1);
        i = end;
      } else {
        re.append(Pattern.quote(String.valueOf(c)));
      }
    }
    return Pattern.compile(re.toString());
  }
}
