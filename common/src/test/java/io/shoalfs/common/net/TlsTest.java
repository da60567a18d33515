package io.shoalfs.common.net;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the SHOAL_TLS_* environment turns into: plaintext, an identity, or an error that names what is wrong. */
class TlsTest {
  @TempDir Path tmp;

  @Test
  void noVariablesOrAnExplicitFalseIsPlaintext() {
    assertEquals(Optional.empty(), Tls.fromEnvironment(Map.of()));
    assertEquals(Optional.empty(), Tls.fromEnvironment(Map.of("SHOAL_TLS_ENABLED", "false", "SHOAL_TLS_CA", "/x",
        "SHOAL_TLS_CERT", "/y", "SHOAL_TLS_KEY", "/z")));
  }

  @Test
  void aHalfGivenConfigurationIsAnErrorNeverPlaintext() {
    IllegalStateException missing = assertThrows(IllegalStateException.class,
        () -> Tls.fromEnvironment(Map.of("SHOAL_TLS_CA", "/x", "SHOAL_TLS_CERT", "/y")));
    assertTrue(missing.getMessage().endsWith("missing: SHOAL_TLS_KEY"), missing.getMessage());
    IllegalStateException none = assertThrows(IllegalStateException.class,
        () -> Tls.fromEnvironment(Map.of("SHOAL_TLS_ENABLED", "true")));
    assertTrue(none.getMessage().contains("are not set"), none.getMessage());
  }

  @Test
  void unreadableFilesAreNamed() throws Exception {
    Path notPem = Files.writeString(tmp.resolve("key.pem"), "not a key");
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tls.privateKey(notPem));
    assertTrue(e.getMessage().contains(notPem.toString()), e.getMessage());
    IllegalStateException gone = assertThrows(IllegalStateException.class,
        () -> Tls.load(tmp.resolve("ca.crt"), tmp.resolve("tls.crt"), notPem));
    assertTrue(gone.getMessage().contains("key.pem") || gone.getMessage().contains("tls.crt"), gone.getMessage());
  }
}
