package io.shoalfs.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.handler.ssl.SslContext;
import io.shoalfs.common.net.Tls;
import io.shoalfs.proto.storage.DaemonStatusRequest;
import io.shoalfs.proto.storage.StorageServiceGrpc;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Mutual TLS for end-to-end tests: certificates made with openssl (the cluster's key in RSA PKCS#1, as Helm's
 * genSignedCert writes it, and an intruder's from another CA), the SHOAL_TLS_* environment that gives a process
 * the cluster's identity, and the check that every port of a {@code shoal local} cluster (metadata Raft and
 * client API, storage API and Raft) refuses a plaintext client, one without a certificate and one whose
 * certificate another CA signed, while the cluster's certificate gets through. LocalClusterIT runs its cluster
 * with it.
 */
final class MutualTls {
  private final Path certs;

  private MutualTls(Path certs) {
    this.certs = certs;
  }

  /** Makes a cluster CA with a certificate for 127.0.0.1, and another CA with an intruder's certificate. */
  static MutualTls make(Path dir) throws Exception {
    Path certs = Files.createDirectories(dir);
    ca(certs, "cluster-ca");
    leaf(certs, "cluster-ca", "cluster", true);
    ca(certs, "other-ca");
    leaf(certs, "other-ca", "intruder", false);
    assertTrue(Files.readString(certs.resolve("cluster.key")).contains("BEGIN RSA PRIVATE KEY"), "PKCS#1 key");
    return new MutualTls(certs);
  }

  /** The environment that gives a process (and its children) the cluster's identity. */
  Map<String, String> env() {
    return Map.of("SHOAL_TLS_CA", certs.resolve("cluster-ca.crt").toString(),
        "SHOAL_TLS_CERT", certs.resolve("cluster.crt").toString(),
        "SHOAL_TLS_KEY", certs.resolve("cluster.key").toString());
  }

  /** Every port of the {@code shoal local} cluster in {@code dataDir} refuses strangers and admits the cluster. */
  void assertEveryPortRefusesStrangers(Path dataDir) throws Exception {
    Properties ports = new Properties();
    try (Reader r = Files.newBufferedReader(dataDir.resolve("cluster.properties"))) {
      ports.load(r);
    }
    Map<String, Integer> endpoints = new LinkedHashMap<>();
    for (int p : list(ports.getProperty("meta.ports"))) {
      endpoints.put("metadata Raft " + p, p);
      endpoints.put("metadata client API " + (p + 1), p + 1);
    }
    for (int p : list(ports.getProperty("storage.ports"))) {
      endpoints.put("storage API " + p, p);
      endpoints.put("storage Raft " + (p + 1), p + 1);
    }
    Tls.Identity clusterId = Tls.load(certs.resolve("cluster-ca.crt"), certs.resolve("cluster.crt"),
        certs.resolve("cluster.key"));
    Tls.Identity intruder = Tls.load(certs.resolve("cluster-ca.crt"), certs.resolve("intruder.crt"),
        certs.resolve("intruder.key"));
    SslContext noCertificate = GrpcSslContexts.forClient()
        .trustManager(clusterId.trusted().toArray(java.security.cert.X509Certificate[]::new)).build();
    for (Map.Entry<String, Integer> e : endpoints.entrySet()) {
      int port = e.getValue();
      // The cluster's own certificate passes the handshake: the port then answers as gRPC (UNIMPLEMENTED where
      // it is not a storage API), which shows what the refusals below refuse is the TLS peer, not the call.
      Status.Code ok = call(port, b -> b.sslContext(Tls.clientContext(clusterId)));
      assertTrue(ok == Status.Code.OK || ok == Status.Code.UNIMPLEMENTED, e.getKey() + " with the cluster's "
          + "certificate: " + ok);
      assertEquals(Status.Code.UNAVAILABLE, call(port, NettyChannelBuilder::usePlaintext), e.getKey()
          + " refuses plaintext");
      assertEquals(Status.Code.UNAVAILABLE, call(port, b -> b.sslContext(noCertificate)), e.getKey()
          + " refuses a client without a certificate");
      assertEquals(Status.Code.UNAVAILABLE, call(port, b -> b.sslContext(Tls.clientContext(intruder))), e.getKey()
          + " refuses a certificate from another CA");
    }
    assertEquals(12, endpoints.size(), "3 metadata replicas and 3 daemons, two ports each: " + endpoints.keySet());
  }

  /** One StorageService/Status call on {@code port} through a channel {@code tls} configures; its code. */
  private static Status.Code call(int port, Function<NettyChannelBuilder, NettyChannelBuilder> tls)
      throws InterruptedException {
    ManagedChannel ch = tls.apply(NettyChannelBuilder.forAddress("127.0.0.1", port)).build();
    try {
      StorageServiceGrpc.newBlockingStub(ch).withDeadlineAfter(10, TimeUnit.SECONDS)
          .status(DaemonStatusRequest.getDefaultInstance());
      return Status.Code.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static List<Integer> list(String csv) {
    return Arrays.stream(csv.split(",")).map(String::trim).map(Integer::parseInt).toList();
  }

  private static void ca(Path dir, String name) throws Exception {
    openssl(dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".crt",
        "-days", "2", "-subj", "/CN=" + name);
  }

  /** A certificate for 127.0.0.1 signed by {@code ca}; RSA in PKCS#1 when {@code pkcs1}, else EC in PKCS#8. */
  private static void leaf(Path dir, String ca, String name, boolean pkcs1) throws Exception {
    if (pkcs1) {
      openssl(dir, "genrsa", "-traditional", "-out", name + ".key", "2048");
    } else {
      openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key");
    }
    openssl(dir, "req", "-new", "-key", name + ".key", "-out", name + ".csr", "-subj", "/CN=" + name);
    Files.writeString(dir.resolve(name + ".ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n");
    openssl(dir, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
        "-CAcreateserial", "-out", name + ".crt", "-days", "2", "-extfile", name + ".ext");
  }

  private static void openssl(Path dir, String... args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add("openssl");
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertTrue(p.waitFor(60, TimeUnit.SECONDS), "openssl finished");
    assertEquals(0, p.exitValue(), String.join(" ", cmd) + ": " + out);
  }
}
