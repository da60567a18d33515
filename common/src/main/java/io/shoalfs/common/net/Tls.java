package io.shoalfs.common.net;

import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.NettyServerBuilder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * Mutual TLS between Shoal's components (DESIGN decision 10): one identity per process, from three PEM files
 * (the layout of a Kubernetes TLS Secret with its CA, as the chart mounts it): {@code SHOAL_TLS_CA} (the CA every
 * peer's certificate must chain to), {@code SHOAL_TLS_CERT} (this process's certificate chain) and
 * {@code SHOAL_TLS_KEY} (its private key, PKCS#8 or RSA PKCS#1). {@code SHOAL_TLS_ENABLED=false} turns it off;
 * without the three files it is off (plaintext, as for {@code shoal local}).
 *
 * <p>With TLS on, every gRPC server of the process (the metadata client API, the storage API) asks every client
 * for a certificate from the CA and refuses a connection without one; every channel the process opens presents
 * its certificate and checks the server's against the CA and the name dialed. The Ratis servers (the metadata
 * group, storage groups) get the same identity through {@code RaftDefaults}.
 */
public final class Tls {
  /** The material of one identity: its key, its certificate chain and the CA certificates it trusts. */
  public record Identity(PrivateKey key, List<X509Certificate> chain, List<X509Certificate> trusted,
      String source) {}

  private static volatile Optional<Identity> identity;

  private Tls() {}

  /** This process's identity: from the environment the first time it is asked, unless {@link #use} set one. */
  public static Optional<Identity> identity() {
    Optional<Identity> id = identity;
    if (id == null) {
      synchronized (Tls.class) {
        if (identity == null) {
          identity = fromEnvironment(System.getenv());
        }
        id = identity;
      }
    }
    return id;
  }

  /** Sets this process's identity (tests, and commands given files on their command line); empty: plaintext. */
  public static synchronized void use(Optional<Identity> id) {
    identity = id;
  }

  public static boolean enabled() {
    return identity().isPresent();
  }

  /**
   * The identity the environment names, or empty. A half-given configuration (some of the three files, or
   * {@code SHOAL_TLS_ENABLED=true} without them) is an error naming what is missing, never a silent fall back
   * to plaintext.
   */
  public static Optional<Identity> fromEnvironment(Map<String, String> env) {
    String enabled = env.getOrDefault("SHOAL_TLS_ENABLED", "").trim();
    if (enabled.equalsIgnoreCase("false")) {
      return Optional.empty();
    }
    String ca = env.get("SHOAL_TLS_CA");
    String cert = env.get("SHOAL_TLS_CERT");
    String key = env.get("SHOAL_TLS_KEY");
    if (ca == null && cert == null && key == null) {
      if (enabled.equalsIgnoreCase("true")) {
        throw new IllegalStateException("SHOAL_TLS_ENABLED=true but SHOAL_TLS_CA, SHOAL_TLS_CERT and SHOAL_TLS_KEY "
            + "are not set");
      }
      return Optional.empty();
    }
    if (ca == null || cert == null || key == null) {
      throw new IllegalStateException("TLS needs all of SHOAL_TLS_CA, SHOAL_TLS_CERT and SHOAL_TLS_KEY; missing: "
          + (ca == null ? "SHOAL_TLS_CA " : "") + (cert == null ? "SHOAL_TLS_CERT " : "")
          + (key == null ? "SHOAL_TLS_KEY" : "").trim());
    }
    return Optional.of(load(Path.of(ca), Path.of(cert), Path.of(key)));
  }

  /** Reads an identity from PEM files; a one-line reason naming the file when one cannot be used. */
  public static Identity load(Path ca, Path cert, Path key) {
    return new Identity(privateKey(key), certificates(cert), certificates(ca), cert.toString());
  }

  /** A channel to {@code host:port}: TLS with this process's certificate when TLS is on, else plaintext. */
  public static NettyChannelBuilder channel(String host, int port) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress(host, port);
    Optional<Identity> id = identity();
    if (id.isEmpty()) {
      return b.usePlaintext();
    }
    return b.sslContext(clientContext(id.get())).useTransportSecurity();
  }

  /** Makes a server ask every client for a certificate from the CA when TLS is on. */
  public static NettyServerBuilder secure(NettyServerBuilder b) {
    identity().ifPresent(id -> b.sslContext(serverContext(id)));
    return b;
  }

  public static SslContext clientContext(Identity id) {
    try {
      return GrpcSslContexts.forClient().keyManager(id.key(), id.chain().toArray(X509Certificate[]::new))
          .trustManager(id.trusted().toArray(X509Certificate[]::new)).build();
    } catch (SSLException e) {
      throw new IllegalStateException("TLS client context from " + id.source() + ": " + e.getMessage(), e);
    }
  }

  public static SslContext serverContext(Identity id) {
    try {
      return GrpcSslContexts.configure(io.netty.handler.ssl.SslContextBuilder.forServer(id.key(),
          id.chain().toArray(X509Certificate[]::new)))
          .trustManager(id.trusted().toArray(X509Certificate[]::new)).clientAuth(ClientAuth.REQUIRE).build();
    } catch (SSLException e) {
      throw new IllegalStateException("TLS server context from " + id.source() + ": " + e.getMessage(), e);
    }
  }

  private static List<X509Certificate> certificates(Path pem) {
    try (InputStream in = Files.newInputStream(pem)) {
      CertificateFactory f = CertificateFactory.getInstance("X.509");
      List<X509Certificate> out = new ArrayList<>();
      for (var c : f.generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IllegalStateException("no certificate in " + pem);
      }
      return out;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException("cannot read certificates from " + pem + ": " + e.getMessage(), e);
    }
  }

  private static final Pattern PEM = Pattern.compile(
      "-----BEGIN ([A-Z ]+)-----([A-Za-z0-9+/=\\s]+)-----END \\1-----");

  /** A PKCS#8 ("PRIVATE KEY") or RSA PKCS#1 ("RSA PRIVATE KEY", what Helm's genSignedCert writes) PEM key. */
  static PrivateKey privateKey(Path pem) {
    String text;
    try {
      text = Files.readString(pem, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read the private key " + pem + ": " + e.getMessage(), e);
    }
    Matcher m = PEM.matcher(text);
    while (m.find()) {
      String type = m.group(1);
      byte[] der = Base64.getMimeDecoder().decode(m.group(2));
      try {
        switch (type) {
          case "PRIVATE KEY" -> {
            return keyOf(der);
          }
          case "RSA PRIVATE KEY" -> {
            return KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(pkcs8OfRsa(der)));
          }
          default -> {
            // certificates or parameters in the same file: look further
          }
        }
      } catch (GeneralSecurityException e) {
        throw new IllegalStateException("unusable private key in " + pem + ": " + e.getMessage(), e);
      }
    }
    throw new IllegalStateException("no PKCS#8 or RSA private key in " + pem + " (an encrypted key or an EC key in "
        + "SEC1 form must be converted: openssl pkcs8 -topk8 -nocrypt)");
  }

  private static PrivateKey keyOf(byte[] pkcs8) throws GeneralSecurityException {
    GeneralSecurityException last = null;
    for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
      try {
        return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
      } catch (GeneralSecurityException e) {
        last = e;
      }
    }
    throw last;
  }

  /** Wraps an RSA PKCS#1 key in PKCS#8: SEQUENCE { 0, SEQUENCE { rsaEncryption, NULL }, OCTET STRING key }. */
  private static byte[] pkcs8OfRsa(byte[] pkcs1) {
    byte[] algorithm = {0x30, 0x0d, 0x06, 0x09, 0x2a, (byte) 0x86, 0x48, (byte) 0x86, (byte) 0xf7, 0x0d, 0x01, 0x01,
        0x01, 0x05, 0x00};
    byte[] version = {0x02, 0x01, 0x00};
    byte[] octets = concat(new byte[] {0x04}, length(pkcs1.length), pkcs1);
    byte[] body = concat(version, algorithm, octets);
    return concat(new byte[] {0x30}, length(body.length), body);
  }

  private static byte[] length(int n) {
    if (n < 0x80) {
      return new byte[] {(byte) n};
    }
    int bytes = n > 0xffffff ? 4 : n > 0xffff ? 3 : n > 0xff ? 2 : 1;
    byte[] out = new byte[1 + bytes];
    out[0] = (byte) (0x80 | bytes);
    for (int i = 0; i < bytes; i++) {
      out[bytes - i] = (byte) (n >>> (8 * i));
    }
    return out;
  }

  private static byte[] concat(byte[]... parts) {
    int n = 0;
    for (byte[] p : parts) {
      n += p.length;
    }
    byte[] out = new byte[n];
    int at = 0;
    for (byte[] p : parts) {
      System.arraycopy(p, 0, out, at, p.length);
      at += p.length;
    }
    return out;
  }
}
