package io.shoalfs.csi.grpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.google.protobuf.Message;
import io.shoalfs.proto.csi.CreateVolumeRequest;
import io.shoalfs.proto.csi.GetPluginInfoResponse;
import io.shoalfs.proto.csi.NodeStageVolumeRequest;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SecretRedactorTest {
  @Test
  void secretValuesAreMaskedAndEverythingElseKept() {
    CreateVolumeRequest req = CreateVolumeRequest.newBuilder().setName("pvc-1")
        .putParameters("tier", "fast").putSecrets("user", "bob").putSecrets("password", "abc123").build();
    CreateVolumeRequest out = (CreateVolumeRequest) SecretRedactor.redact(req);
    assertEquals("pvc-1", out.getName());
    assertEquals("fast", out.getParametersOrThrow("tier"));
    assertEquals(SecretRedactor.MASK, out.getSecretsOrThrow("user"));
    assertEquals(SecretRedactor.MASK, out.getSecretsOrThrow("password"));
    assertEquals(2, out.getSecretsCount());
    assertEquals("abc123", req.getSecretsOrThrow("password"), "the request itself is untouched");
  }

  @Test
  void messagesWithoutSecretsAreReturnedAsTheyAre() {
    Message m = GetPluginInfoResponse.newBuilder().setName("x").putManifest("k", "v").build();
    assertSame(m, SecretRedactor.redact(m));
    NodeStageVolumeRequest noSecrets = NodeStageVolumeRequest.newBuilder().setVolumeId("v")
        .putVolumeContext("k", "v").build();
    assertSame(noSecrets, SecretRedactor.redact(noSecrets));
  }
}
