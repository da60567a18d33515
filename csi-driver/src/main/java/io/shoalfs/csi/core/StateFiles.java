package io.shoalfs.csi.core;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;

/**
 * The node plugin's state on disk: small properties files, each written whole or not at all (a temp file in the
 * same directory, then an atomic rename), so a plugin killed in the middle of a write finds the old record or the
 * new one, never half of one.
 */
final class StateFiles {
  private StateFiles() {}

  /** The record in {@code f} parsed by {@code parse}; empty if there is none; INTERNAL naming it if unreadable. */
  static <T> java.util.Optional<T> load(Path f, java.util.function.Function<Properties, T> parse, String what)
      throws CsiError.Internal {
    if (!Files.exists(f)) {
      return java.util.Optional.empty();
    }
    try {
      return java.util.Optional.of(parse.apply(read(f)));
    } catch (IOException | RuntimeException e) {
      throw new CsiError.Internal("unreadable " + what + " " + f + ": " + e.getMessage(), e);
    }
  }

  static Properties read(Path f) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(f, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    return p;
  }

  static void write(Path f, Properties p, String comment) throws IOException {
    Files.createDirectories(f.getParent());
    Path tmp = Files.createTempFile(f.getParent(), "record", ".tmp");
    try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
      p.store(w, comment);
    }
    Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  /** The {@code *.properties} files of a directory (none if it does not exist). */
  static List<Path> list(Path dir) throws IOException {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, "*.properties")) {
      files.forEach(out::add);
    }
    return out;
  }

  /** Ids and paths are long and full of slashes; a hash makes a safe, fixed-length file name. */
  static String key(String s) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d, 0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every JDK", e);
    }
  }
}
