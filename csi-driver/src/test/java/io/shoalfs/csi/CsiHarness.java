package io.shoalfs.csi;

import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.shoalfs.csi.core.MountProcesses;
import io.shoalfs.proto.csi.NodeUnpublishVolumeRequest;
import io.shoalfs.proto.csi.NodeUnstageVolumeRequest;
import io.shoalfs.proto.csi.Volume;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.function.Executable;

/**
 * One driver (controller and node) on a real unix socket in a test's directory, against a given metadata service,
 * with the paths kubelet would use and the calls the sidecars make. Closing it leaves no mount or mount process
 * behind.
 */
final class CsiHarness implements AutoCloseable {
  static final long MIB = 1 << 20;

  final Path tmp;
  final CsiDriver driver;
  final CsiClient client;

  private CsiHarness(Path tmp, CsiDriver driver) {
    this.tmp = tmp;
    this.driver = driver;
    this.client = new CsiClient(driver.socket());
  }

  static CsiHarness start(Path tmp, String metaAddrs) throws IOException {
    return new CsiHarness(tmp, CsiDriver.start(new CsiDriver.Config(tmp.resolve("plugin/csi.sock"), "node-1",
        metaAddrs, true, true, tmp.resolve("state"), Duration.ofSeconds(60), MountProcesses.currentJava())));
  }

  static String name() {
    return "pvc-" + UUID.randomUUID();
  }

  /** The status code a call fails with; fails the test if it succeeds. */
  static Status.Code code(Executable call) {
    return assertThrows(StatusRuntimeException.class, call).getStatus().getCode();
  }

  /** The CO creates the staging directory; the driver creates target paths. */
  Path staging(String pv) throws IOException {
    return Files.createDirectories(tmp.resolve("kubelet/plugins/kubernetes.io/csi/csi.shoalfs.io/" + pv
        + "/globalmount"));
  }

  Path target(String pod, String pv) throws IOException {
    Path parent = Files.createDirectories(tmp.resolve("kubelet/pods/" + pod + "/volumes/kubernetes.io~csi/" + pv));
    return parent.resolve("mount");
  }

  Volume create(String name, long bytes) {
    return client.controller().createVolume(Requests.create(name, bytes).build()).getVolume();
  }

  /** Stages the volume at its staging path and returns that path. */
  Path stage(Volume v) throws IOException {
    Path staging = staging(v.getVolumeContextOrThrow("shoal.io/subvolume"));
    client.node().nodeStageVolume(Requests.stage(v.getVolumeId(), staging).build());
    return staging;
  }

  Path publish(Volume v, Path staging, String pod) throws IOException {
    Path t = target(pod, v.getVolumeContextOrThrow("shoal.io/subvolume"));
    client.node().nodePublishVolume(Requests.publish(v.getVolumeId(), staging, t).build());
    return t;
  }

  void unpublish(String id, Path target) {
    client.node().nodeUnpublishVolume(NodeUnpublishVolumeRequest.newBuilder().setVolumeId(id)
        .setTargetPath(target.toString()).build());
  }

  void unstage(String id, Path staging) {
    client.node().nodeUnstageVolume(NodeUnstageVolumeRequest.newBuilder().setVolumeId(id)
        .setStagingTargetPath(staging.toString()).build());
  }

  @Override
  public void close() throws Exception {
    try {
      client.close();
      driver.close();
    } finally {
      MountCleanup.under(tmp);
    }
  }
}
