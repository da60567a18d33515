package io.shoalfs.helm;

import static io.shoalfs.helm.RenderedChart.NAMESPACE;
import static io.shoalfs.helm.RenderedChart.container;
import static io.shoalfs.helm.RenderedChart.containers;
import static io.shoalfs.helm.RenderedChart.flagValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.LintResult;
import io.fabric8.kubernetes.api.model.Affinity;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NodeSelectorRequirement;
import io.fabric8.kubernetes.api.model.PersistentVolumeClaim;
import io.fabric8.kubernetes.api.model.PodAffinityTerm;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.VolumeMount;
import io.fabric8.kubernetes.api.model.WeightedPodAffinityTerm;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.fabric8.kubernetes.api.model.storage.CSIDriver;
import io.fabric8.kubernetes.api.model.storage.StorageClass;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.ByteArrayInputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chart, checked through the real Helm engine: lint, then the default render and renders with changed
 * values, parsed back into typed Kubernetes objects.
 */
@Timeout(120)
class ChartTest {
  private static final String META = "shoal-meta";
  private static final String DRIVER = "csi.shoalfs.io";
  private static final String KUBELET = "/var/lib/kubelet";

  private static RenderedChart defaults;
  private static Map<String, Object> values;

  @BeforeAll
  @SuppressWarnings("unchecked")
  static void renderDefaults() throws Exception {
    defaults = RenderedChart.render(Map.of());
    // Kept for people reading a failure: the exact manifest the assertions ran against.
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target", "rendered-defaults.yaml"), defaults.yaml);
    String valuesYaml = Files.readString(RenderedChart.chartDir().resolve("values.yaml"));
    values = new KubernetesSerialization().unmarshal(valuesYaml, Map.class);
  }

  @Test
  void lintPassesInStrictMode() {
    LintResult result = new Helm(RenderedChart.chartDir()).lint().strict().call();
    assertFalse(result.isFailed(), () -> "helm lint --strict failed: " + result.getMessages());
    assertTrue(result.getMessages().stream().noneMatch(m -> m.contains("[ERROR]") || m.contains("[WARNING]")),
        () -> "lint reported: " + result.getMessages());
  }

  @Test
  void everyValueIsDocumented() throws Exception {
    // A key is documented by a "# --" comment right above it (helm-docs' convention) or above a map it is in.
    Pattern key = Pattern.compile("^( *)([A-Za-z0-9_]+):.*");
    List<String> undocumented = new ArrayList<>();
    List<String[]> open = new ArrayList<>(); // {indent, key, "true" when documented}, outermost first
    boolean docComment = false;
    for (String line : Files.readAllLines(RenderedChart.chartDir().resolve("values.yaml"))) {
      String trimmed = line.strip();
      if (trimmed.startsWith("#")) {
        docComment |= trimmed.startsWith("# --");
        continue;
      }
      Matcher m = key.matcher(line);
      if (m.matches()) {
        int indent = m.group(1).length();
        open.removeIf(k -> Integer.parseInt(k[0]) >= indent);
        boolean covered = docComment || open.stream().anyMatch(k -> k[2].equals("true"));
        if (!covered) {
          undocumented.add(String.join(".", open.stream().map(k -> k[1]).toList())
              + (open.isEmpty() ? "" : ".") + m.group(2));
        }
        open.add(new String[] {String.valueOf(indent), m.group(2), String.valueOf(docComment)});
      }
      docComment = false;
    }
    assertEquals(List.of(), undocumented, "values.yaml keys without a # -- comment of their own or a parent's");
  }

  @Test
  void defaultRenderHasEveryComponent() {
    Set<String> kinds = defaults.objects.stream().map(HasMetadata::getKind).collect(Collectors.toCollection(TreeSet::new));
    assertTrue(kinds.containsAll(List.of("Service", "StatefulSet", "DaemonSet", "Deployment", "CSIDriver",
        "StorageClass", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret",
        "PersistentVolumeClaim", "Job", "PodDisruptionBudget")), () -> "kinds rendered: " + kinds);
    defaults.one(StatefulSet.class, META);
    defaults.one(StatefulSet.class, "shoal-storage");
    defaults.one(DaemonSet.class, "shoal-csi-node");
    defaults.one(Deployment.class, "shoal-csi-controller");
    for (HasMetadata o : defaults.objects) {
      if (!(o instanceof CSIDriver || o instanceof StorageClass || o.getKind().startsWith("Cluster"))) {
        assertEquals(NAMESPACE, o.getMetadata().getNamespace(), () -> o.getKind() + "/" + o.getMetadata().getName());
      }
    }
  }

  @Test
  void metadataStatefulSetPeersAreTheHeadlessServicePodNames() {
    StatefulSet sts = defaults.one(StatefulSet.class, META);
    assertEquals(3, sts.getSpec().getReplicas());
    assertEquals("Parallel", sts.getSpec().getPodManagementPolicy());
    Service headless = defaults.one(Service.class, sts.getSpec().getServiceName());
    assertEquals("None", headless.getSpec().getClusterIP());
    assertTrue(headless.getSpec().getPublishNotReadyAddresses());
    assertEquals(sts.getSpec().getSelector().getMatchLabels(), headless.getSpec().getSelector());
    assertEquals(Map.of("raft", 9860, "client", 9861, "metrics", 9090), ports(headless.getSpec().getPorts()));

    List<String> command = container(sts.getSpec().getTemplate().getSpec(), "meta").getArgs();
    assertEquals(List.of("shoal", "meta", "--id", "$(POD_NAME)"), command.subList(0, 4));
    assertEquals("/data", flagValue(command, "--dir"));
    assertEquals(List.of("data"), sts.getSpec().getVolumeClaimTemplates().stream().map(p -> p.getMetadata().getName()).toList());
    assertTrue(container(sts.getSpec().getTemplate().getSpec(), "meta").getVolumeMounts().stream()
        .anyMatch(m -> m.getName().equals("data") && m.getMountPath().equals("/data")));

    Map<String, String> peers = peers(flagValue(command, "--peers"));
    assertEquals(3, peers.size(), peers::toString);
    List<String> expectedIds = List.of(META + "-0", META + "-1", META + "-2");
    assertEquals(expectedIds, List.copyOf(peers.keySet()), "ids are the pod names that --id $(POD_NAME) gives");
    for (String id : expectedIds) {
      assertEquals(id + "." + headless.getMetadata().getName() + "." + NAMESPACE + ".svc.cluster.local:9860", peers.get(id));
    }
    assertPodNameEnv(container(sts.getSpec().getTemplate().getSpec(), "meta"));
  }

  @Test
  void everyClientGetsTheSameMetaAddressList() {
    String expected = String.join(",", peers(metaPeers(defaults)).values());
    StatefulSet storage = defaults.one(StatefulSet.class, "shoal-storage");
    List<String> storageCmd = container(storage.getSpec().getTemplate().getSpec(), "storage").getArgs();
    assertEquals(List.of("shoal", "storage", "--id", "$(POD_NAME)"), storageCmd.subList(0, 4));
    assertEquals(expected, flagValue(storageCmd, "--meta"));
    assertEquals("/data", flagValue(storageCmd, "--dir"));
    assertEquals("$(POD_IP):9870", flagValue(storageCmd, "--listen"));
    assertEquals(3, storage.getSpec().getReplicas());

    List<String> nodeCmd = container(defaults.one(DaemonSet.class, "shoal-csi-node").getSpec().getTemplate().getSpec(), "csi-node").getArgs();
    assertEquals(expected, flagValue(nodeCmd, "--meta"));
    List<String> controllerCmd = container(defaults.one(Deployment.class, "shoal-csi-controller").getSpec().getTemplate().getSpec(), "csi-controller").getArgs();
    assertEquals(expected, flagValue(controllerCmd, "--meta"));
    assertTrue(controllerCmd.contains("--controller") && !controllerCmd.contains("--node"), controllerCmd::toString);
    assertEquals("unix:///csi/csi.sock", flagValue(controllerCmd, "--endpoint"));
  }

  @Test
  void nodePluginIsPrivilegedWithBidirectionalKubeletMount() {
    DaemonSet ds = defaults.one(DaemonSet.class, "shoal-csi-node");
    PodSpec pod = ds.getSpec().getTemplate().getSpec();
    Container plugin = container(pod, "csi-node");
    assertTrue(plugin.getSecurityContext().getPrivileged(), "node plugin must be privileged to mount");

    List<String> command = plugin.getArgs();
    assertEquals(List.of("shoal", "csi"), command.subList(0, 2));
    assertEquals("unix:///csi/csi.sock", flagValue(command, "--endpoint"));
    assertEquals("$(NODE_NAME)", flagValue(command, "--node-id"));
    assertTrue(command.contains("--node") && !command.contains("--controller"), command::toString);
    EnvVar nodeName = plugin.getEnv().stream().filter(e -> e.getName().equals("NODE_NAME")).findFirst().orElseThrow();
    assertEquals("spec.nodeName", nodeName.getValueFrom().getFieldRef().getFieldPath());

    VolumeMount kubelet = mount(plugin, KUBELET);
    assertEquals("Bidirectional", kubelet.getMountPropagation());
    assertHostPath(pod, kubelet.getName(), KUBELET, "Directory");
    assertHostPath(pod, mount(plugin, "/csi").getName(), KUBELET + "/plugins/" + DRIVER, "DirectoryOrCreate");
    assertHostPath(pod, mount(plugin, "/dev/fuse").getName(), "/dev/fuse", "CharDevice");

    Container registrar = container(pod, "node-driver-registrar");
    assertTrue(registrar.getArgs().contains("--kubelet-registration-path=" + KUBELET + "/plugins/" + DRIVER + "/csi.sock"),
        registrar.getArgs()::toString);
    assertHostPath(pod, mount(registrar, "/registration").getName(), KUBELET + "/plugins_registry", "Directory");
    assertEquals(mount(plugin, "/csi").getName(), mount(registrar, "/csi").getName(), "registrar must see the plugin's socket");
    Container probe = container(pod, "liveness-probe");
    assertTrue(probe.getArgs().contains("--csi-address=/csi/csi.sock"), probe.getArgs()::toString);
  }

  @Test
  void everyShoalServerServesMetricsAndHealthOnTheMetricsPort() {
    Map<String, PodSpec> specs = defaults.podSpecs();
    List<String> servers = List.of("StatefulSet/shoal-meta", "StatefulSet/shoal-storage",
        "Deployment/shoal-csi-controller", "DaemonSet/shoal-csi-node");
    for (String where : servers) {
      Container c = specs.get(where).getContainers().get(0);
      assertEquals("0.0.0.0:9090", RenderedChart.flagValue(c.getArgs(), "--metrics-listen"), where);
      assertTrue(c.getPorts().stream().anyMatch(p -> "metrics".equals(p.getName()) && p.getContainerPort() == 9090),
          where + " names its metrics port");
    }
    // Readiness of the metadata replicas and the daemons is their own health, not an open port.
    for (String where : List.of("StatefulSet/shoal-meta", "StatefulSet/shoal-storage")) {
      var probe = specs.get(where).getContainers().get(0).getReadinessProbe().getHttpGet();
      assertEquals("/healthz", probe.getPath(), where);
      assertEquals("metrics", probe.getPort().getStrVal(), where);
    }
    // Every component has a Service with a port named metrics whose selector is exactly its pods'.
    Map<String, Map<String, String>> podLabels = defaults.podLabels();
    for (String where : servers) {
      Map<String, String> labels = podLabels.get(where);
      String component = labels.get("app.kubernetes.io/component");
      assertTrue(defaults.all(Service.class).stream().anyMatch(svc -> labels.entrySet().containsAll(
          svc.getSpec().getSelector().entrySet()) && component.equals(svc.getSpec().getSelector()
              .get("app.kubernetes.io/component")) && svc.getSpec().getPorts().stream()
              .anyMatch(p -> "metrics".equals(p.getName()))), "a metrics Service selects " + where);
    }
    assertTrue(defaults.untyped("ServiceMonitor").isEmpty(), "no ServiceMonitor unless asked for");

    RenderedChart monitored = RenderedChart.render(Map.of("metrics.serviceMonitor.enabled", true,
        "metrics.serviceMonitor.labels.release", "prom", "metrics.port", 9400));
    List<Map<String, Object>> monitors = monitored.untyped("ServiceMonitor");
    assertEquals(4, monitors.size());
    for (Map<String, Object> m : monitors) {
      @SuppressWarnings("unchecked")
      Map<String, Object> meta = (Map<String, Object>) m.get("metadata");
      @SuppressWarnings("unchecked")
      Map<String, Object> spec = (Map<String, Object>) m.get("spec");
      assertEquals("prom", ((Map<?, ?>) meta.get("labels")).get("release"));
      Map<?, ?> match = (Map<?, ?>) ((Map<?, ?>) spec.get("selector")).get("matchLabels");
      List<Service> selected = monitored.all(Service.class).stream()
          .filter(svc -> svc.getMetadata().getLabels().entrySet().containsAll(match.entrySet())).toList();
      assertEquals(1, selected.size(), "one Service for " + meta.get("name") + ": " + selected);
      assertTrue(selected.get(0).getSpec().getPorts().stream()
          .anyMatch(p -> "metrics".equals(p.getName()) && p.getPort() == 9400), meta.get("name") + " port");
      assertEquals("metrics", ((Map<?, ?>) ((List<?>) spec.get("endpoints")).get(0)).get("port"));
    }
  }

  @Test
  void csiDriverAndStorageClassAgree() {
    CSIDriver driver = defaults.one(CSIDriver.class, DRIVER);
    assertFalse(driver.getSpec().getAttachRequired());
    assertTrue(driver.getSpec().getPodInfoOnMount());
    assertEquals(List.of("Persistent", "Ephemeral"), driver.getSpec().getVolumeLifecycleModes());
    assertEquals("File", driver.getSpec().getFsGroupPolicy());

    StorageClass sc = defaults.one(StorageClass.class, "shoal");
    assertEquals(driver.getMetadata().getName(), sc.getProvisioner());
    assertTrue(sc.getAllowVolumeExpansion());
    assertEquals("2", sc.getParameters().get("replication"));
    assertEquals("Delete", sc.getReclaimPolicy());
  }

  @Test
  void everyContainerRunsTheShoalImageOrAPinnedSidecar() {
    Set<String> sidecars = pinnedSidecars();
    assertEquals(5, sidecars.size(), sidecars::toString);
    for (String image : sidecars) {
      assertTrue(image.matches("registry\\.k8s\\.io/sig-storage/[a-z-]+:v\\d+\\.\\d+\\.\\d+"), "sidecar not pinned: " + image);
    }
    assertImages(defaults, "ghcr.io/shoalfs/shoal:0.1.0", sidecars);

    RenderedChart custom = RenderedChart.render(Map.of("image.repository", "registry.example/shoal", "image.tag", "9.9.9"));
    assertImages(custom, "registry.example/shoal:9.9.9", sidecars);
  }

  @Test
  void replicaCountDrivesPeersAndEveryAddressList() {
    RenderedChart five = RenderedChart.render(Map.of("metadata.replicas", 5, "metadata.ports.raft", 7000));
    StatefulSet sts = five.one(StatefulSet.class, META);
    assertEquals(5, sts.getSpec().getReplicas());
    Map<String, String> peers = peers(metaPeers(five));
    assertEquals(5, peers.size());
    assertEquals(META + "-4." + META + "." + NAMESPACE + ".svc.cluster.local:7000", peers.get(META + "-4"));
    assertEquals(Map.of("raft", 7000, "client", 7001, "metrics", 9090), ports(five.one(Service.class, META).getSpec().getPorts()));
    List<String> storageCmd = container(five.one(StatefulSet.class, "shoal-storage").getSpec().getTemplate().getSpec(), "storage").getArgs();
    assertEquals(String.join(",", peers.values()), flagValue(storageCmd, "--meta"));
  }

  @Test
  void badValuesFailTheRenderWithAReason() {
    Exception even = assertThrows(Exception.class, () -> RenderedChart.renderYaml(Map.of("metadata.replicas", 4)));
    assertTrue(even.getMessage().contains("metadata.replicas must be odd"), even::getMessage);
    Exception repl = assertThrows(Exception.class, () -> RenderedChart.renderYaml(Map.of("replication", 4)));
    assertTrue(repl.getMessage().contains("cannot exceed storage.replicas"), repl::getMessage);
  }

  @Test
  void tlsIsOnByDefaultWithCertificatesFromOneGeneratedCa() throws Exception {
    Map<String, String> expected = Map.of("meta", "shoal-metadata-tls", "storage", "shoal-storage-tls",
        "csi-node", "shoal-csi-tls", "csi-controller", "shoal-csi-tls");
    Map<String, PodSpec> pods = defaults.podSpecs();
    for (Map.Entry<String, String> e : expected.entrySet()) {
      PodSpec pod = pods.entrySet().stream().filter(p -> p.getKey().endsWith("shoal-" + e.getKey())).findFirst().orElseThrow().getValue();
      Volume tls = pod.getVolumes().stream().filter(v -> v.getName().equals("tls")).findFirst().orElseThrow();
      assertEquals(e.getValue(), tls.getSecret().getSecretName(), e.getKey());
      Container main = pod.getContainers().getFirst();
      assertEquals("/etc/shoal/tls", mount(main, "/etc/shoal/tls").getMountPath());
      assertEquals("true", env(main, "SHOAL_TLS_ENABLED"));
    }

    CertificateFactory x509 = CertificateFactory.getInstance("X.509");
    X509Certificate ca = null;
    for (String name : new TreeSet<>(expected.values())) {
      Secret secret = defaults.one(Secret.class, name);
      assertEquals("kubernetes.io/tls", secret.getType());
      assertEquals("pre-install", secret.getMetadata().getAnnotations().get(RenderedChart.HOOK), "made once, at install");
      X509Certificate secretCa = cert(x509, secret.getData().get("ca.crt"));
      X509Certificate leaf = cert(x509, secret.getData().get("tls.crt"));
      assertTrue(secret.getData().get("tls.key").length() > 100, name);
      if (ca == null) {
        ca = secretCa;
      }
      assertEquals(ca, secretCa, "all components must trust the same CA");
      leaf.verify(ca.getPublicKey());
    }
    X509Certificate meta = cert(x509, defaults.one(Secret.class, "shoal-metadata-tls").getData().get("tls.crt"));
    List<String> sans = new ArrayList<>();
    for (List<?> san : meta.getSubjectAlternativeNames()) {
      sans.add(String.valueOf(san.get(1)));
    }
    assertTrue(sans.contains("*." + META + "." + NAMESPACE + ".svc.cluster.local"), sans::toString);

    RenderedChart plain = RenderedChart.render(Map.of("tls.enabled", false));
    assertTrue(plain.all(Secret.class).isEmpty());
    for (PodSpec pod : plain.podSpecs().values()) {
      assertTrue(pod.getVolumes().stream().noneMatch(v -> v.getName().equals("tls")));
    }
    Container meta0 = plain.one(StatefulSet.class, META).getSpec().getTemplate().getSpec().getContainers().getFirst();
    assertEquals("false", env(meta0, "SHOAL_TLS_ENABLED"));
  }

  @Test
  void controllerSidecarsFollowTheirSwitches() {
    assertEquals(List.of("csi-controller", "csi-provisioner", "csi-snapshotter", "csi-resizer", "liveness-probe"),
        controllerContainers(defaults));
    assertTrue(defaults.yaml.contains("volumesnapshotcontents/status"), "snapshotter RBAC missing");
    assertTrue(defaults.yaml.contains("persistentvolumeclaims/status"), "resizer RBAC missing");
    RenderedChart none = RenderedChart.render(Map.of("csi.controller.snapshotter.enabled", false,
        "csi.controller.resizer.enabled", false));
    assertEquals(List.of("csi-controller", "csi-provisioner", "liveness-probe"), controllerContainers(none));
    assertFalse(none.yaml.contains("volumesnapshotcontents/status"), "snapshotter RBAC without the snapshotter");
    assertFalse(none.yaml.contains("persistentvolumeclaims/status"), "resizer RBAC without the resizer");
  }

  @Test
  void nodePluginKeepsItsStateOnTheHostAndSizesEphemeralVolumes() {
    DaemonSet node = defaults.one(DaemonSet.class, "shoal-csi-node");
    Container plugin = node.getSpec().getTemplate().getSpec().getContainers().get(0);
    List<String> args = plugin.getArgs();
    String stateDir = args.get(args.indexOf("--state-dir") + 1);
    String pluginDirMount = plugin.getVolumeMounts().stream().filter(m -> m.getName().equals("plugin-dir"))
        .findFirst().orElseThrow().getMountPath();
    assertTrue(stateDir.startsWith(pluginDirMount + "/"), "state dir " + stateDir + " on the host's plugin dir");
    assertEquals("1Gi", args.get(args.indexOf("--ephemeral-size") + 1));
    RenderedChart custom = RenderedChart.render(Map.of("csi.ephemeral.defaultSize", "5Gi"));
    List<String> customArgs = custom.one(DaemonSet.class, "shoal-csi-node").getSpec().getTemplate().getSpec()
        .getContainers().get(0).getArgs();
    assertEquals("5Gi", customArgs.get(customArgs.indexOf("--ephemeral-size") + 1));
  }

  @Test
  void helmTestRunsFioFromSeveralPodsOnOneRwxVolume() {
    PersistentVolumeClaim pvc = defaults.one(PersistentVolumeClaim.class, "shoal-test-rwx");
    assertEquals(List.of("ReadWriteMany"), pvc.getSpec().getAccessModes());
    assertEquals("shoal", pvc.getSpec().getStorageClassName());
    assertEquals("test", pvc.getMetadata().getAnnotations().get(RenderedChart.HOOK));

    Job job = defaults.one(Job.class, "shoal-test-fio");
    assertEquals("test", job.getMetadata().getAnnotations().get(RenderedChart.HOOK));
    assertTrue(Integer.parseInt(pvc.getMetadata().getAnnotations().get("helm.sh/hook-weight"))
        < Integer.parseInt(job.getMetadata().getAnnotations().get("helm.sh/hook-weight")), "PVC must exist before the Job");
    assertEquals(3, job.getSpec().getCompletions());
    assertEquals(3, job.getSpec().getParallelism());
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    assertEquals(pvc.getMetadata().getName(), pod.getVolumes().getFirst().getPersistentVolumeClaim().getClaimName());
    Container fio = pod.getContainers().getFirst();
    String script = String.join("\n", fio.getArgs());
    assertTrue(script.contains("fio ") && script.contains("--verify_only"), script);
    assertTrue(script.contains("/shared.dat") && script.contains("--offset=$((me * size))")
        && script.contains("--offset=$((next * size))") && script.contains("--end_fsync=1"), script);
    assertFalse(script.contains("--minimal"), "fio's summary is what a failed helm test shows");
    assertEquals(String.valueOf(64L << 20), env(fio, "FILE_BYTES"));
    assertEquals(String.valueOf(1L << 20), env(fio, "BLOCK_BYTES"));
    assertEquals(mount(fio, env(fio, "DATA_DIR")).getName(), pod.getVolumes().getFirst().getName(),
        "DATA_DIR is where the RWX volume is mounted");

    Job five = RenderedChart.render(Map.of("tests.pods", 5)).one(Job.class, "shoal-test-fio");
    assertEquals(5, five.getSpec().getCompletions());
    assertTrue(RenderedChart.render(Map.of("tests.enabled", false)).all(Job.class).isEmpty());
  }

  @Test
  void everyHelmTestHookRunsWithTheSameAnnotations() {
    Map<String, String> fio = defaults.one(Job.class, "shoal-test-fio").getMetadata().getAnnotations();
    List<Job> hooks = defaults.all(Job.class).stream()
        .filter(j -> "test".equals(j.getMetadata().getAnnotations().get(RenderedChart.HOOK))).toList();
    assertEquals(List.of("shoal-test-fio", "shoal-test-ephemeral"),
        hooks.stream().map(j -> j.getMetadata().getName()).sorted(Comparator.reverseOrder()).toList());
    for (Job job : hooks) {
      Map<String, String> a = job.getMetadata().getAnnotations();
      assertEquals(fio.get("helm.sh/hook-weight"), a.get("helm.sh/hook-weight"), job.getMetadata().getName());
      assertEquals("before-hook-creation,hook-succeeded", a.get("helm.sh/hook-delete-policy"),
          job.getMetadata().getName());
      assertEquals(0, job.getSpec().getBackoffLimit(), "a failed test pod fails the test, it is not retried");
      assertEquals("Never", job.getSpec().getTemplate().getSpec().getRestartPolicy());
    }
  }

  @Test
  void helmTestScriptPassesWithRealFioFromThreePodsAtOnce(@TempDir Path tmp) throws Exception {
    Container fio = smallFioJob().getSpec().getTemplate().getSpec().getContainers().getFirst();
    Path data = Files.createDirectories(tmp.resolve("data"));
    // The highest range written last: the file is then shorter than that pod's offset + size, which is when
    // fio, left to lay the file out first, would unlink it and take the others' ranges with it.
    Path late = HookScript.lateWritingFio(tmp.resolve("bin"), data.resolve("shared.dat"), 3);
    List<HookScript.Result> pods = runFioPods(fio, data, tmp,
        Map.of(2, Map.of("PATH", late + ":" + System.getenv("PATH"))));
    for (int i = 0; i < 3; i++) {
      HookScript.Result r = pods.get(i);
      int next = (i + 1) % 3;
      assertEquals(0, r.exit(), r::output);
      assertTrue(r.output().contains("pod " + i + " verified pod " + next + "'s file"), r::output);
      assertTrue(r.output().contains("pod " + i + " verified pod " + next + "'s range of the shared file"), r::output);
      // The summary a user sees in the pod's log (fio's normal output, not --minimal's one line per job).
      assertTrue(r.output().contains("Run status group"), r::output);
    }
    assertEquals(3 * SMALL_FILE, Files.size(data.resolve("shared.dat")), "three disjoint ranges, none lost");
    for (int i = 0; i < 3; i++) {
      assertEquals(SMALL_FILE, Files.size(data.resolve("pod-" + i + ".dat")));
    }
  }

  @Test
  void helmTestFailsWhenTheNextPodsRangeOfTheSharedFileDoesNotVerify(@TempDir Path tmp) throws Exception {
    Container fio = smallFioJob().getSpec().getTemplate().getSpec().getContainers().getFirst();
    Path data = Files.createDirectories(tmp.resolve("data"));
    // Pod 0 verifies pod 1's range; one byte of it changes after pod 1 wrote it and before pod 0 reads it.
    Path corrupting = HookScript.corruptingFio(tmp.resolve("bin"), data.resolve("shared.dat"), SMALL_BLOCK);
    List<HookScript.Result> pods = runFioPods(fio, data, tmp,
        Map.of(0, Map.of("PATH", corrupting + ":" + System.getenv("PATH"))));
    HookScript.Result pod0 = pods.get(0);
    assertTrue(pod0.exit() != 0, () -> "pod 0 passed on a corrupt range:\n" + pod0.output());
    assertTrue(pod0.output().contains("pod 0 verified pod 1's file"), "the per-pod phase was fine: " + pod0.output());
    assertFalse(pod0.output().contains("range of the shared file"), pod0::output);
    assertTrue(pod0.output().contains("crc32c: verify failed"), () -> "fio's reason is in the log: " + pod0.output());
    for (int i = 1; i < 3; i++) {
      assertEquals(0, pods.get(i).exit(), pods.get(i)::output);
    }
  }

  @Test
  void ephemeralTestPodMountsAnInlineCsiVolumeThatSetsOnlyItsSize(@TempDir Path tmp) throws Exception {
    Job job = defaults.one(Job.class, "shoal-test-ephemeral");
    assertEquals("test", job.getMetadata().getAnnotations().get(RenderedChart.HOOK));
    PodSpec pod = job.getSpec().getTemplate().getSpec();
    Volume scratch = pod.getVolumes().stream().filter(v -> v.getCsi() != null).findFirst().orElseThrow();
    assertEquals(DRIVER, scratch.getCsi().getDriver());
    // The node plugin refuses any other attribute on an inline volume (EphemeralVolumes.sizeFrom).
    assertEquals(Map.of("size", "256Mi"), scratch.getCsi().getVolumeAttributes());
    assertTrue(pod.getVolumes().stream().noneMatch(v -> v.getPersistentVolumeClaim() != null), "no PVC: inline");
    Container fio = pod.getContainers().getFirst();
    assertEquals(scratch.getName(), mount(fio, env(fio, "DATA_DIR")).getName(), "DATA_DIR is the inline volume");
    assertFalse(String.join("\n", fio.getArgs()).contains("--minimal"));
    Map<String, Map<String, String>> labels = defaults.podLabels();
    assertNotEquals(labels.get("Job/shoal-test-fio"), labels.get("Job/shoal-test-ephemeral"),
        "the fio pods' anti-affinity is about each other");

    RenderedChart custom = RenderedChart.render(Map.of("tests.ephemeral.size", "1Gi", "csi.driverName", "x.example"));
    Volume customScratch = custom.one(Job.class, "shoal-test-ephemeral").getSpec().getTemplate().getSpec()
        .getVolumes().getFirst();
    assertEquals("x.example", customScratch.getCsi().getDriver());
    assertEquals(Map.of("size", "1Gi"), customScratch.getCsi().getVolumeAttributes());

    Container small = RenderedChart.render(smallFio()).one(Job.class, "shoal-test-ephemeral").getSpec()
        .getTemplate().getSpec().getContainers().getFirst();
    Path good = Files.createDirectories(tmp.resolve("good"));
    HookScript.Result ok = HookScript.run(small, Map.of("DATA_DIR", good.toString()), tmp.resolve("good.log"));
    assertEquals(0, ok.exit(), ok::output);
    assertTrue(ok.output().contains("verified " + SMALL_FILE + " bytes on the inline ephemeral volume"), ok::output);
    assertTrue(ok.output().contains("Run status group"), ok::output);
    assertEquals(SMALL_FILE, Files.size(good.resolve("ephemeral.dat")));

    Path bad = Files.createDirectories(tmp.resolve("bad"));
    Path corrupting = HookScript.corruptingFio(tmp.resolve("bin"), bad.resolve("ephemeral.dat"), SMALL_BLOCK);
    HookScript.Result failed = HookScript.run(small, Map.of("DATA_DIR", bad.toString(),
        "PATH", corrupting + ":" + System.getenv("PATH")), tmp.resolve("bad.log"));
    assertTrue(failed.exit() != 0, () -> "passed on a corrupt file:\n" + failed.output());
    assertTrue(failed.output().contains("crc32c: verify failed"), failed::output);
    assertFalse(failed.output().contains("verified "), failed::output);
  }

  @Test
  void helmTestSizesAreReadLikeShoalReadsSizesAndCheckedAtRenderTime() {
    Container fio = RenderedChart.render(Map.of("tests.fio.fileSize", "64M", "tests.fio.blockSize", "1M"))
        .one(Job.class, "shoal-test-fio").getSpec().getTemplate().getSpec().getContainers().getFirst();
    assertEquals("64000000", env(fio, "FILE_BYTES"), "M is 10^6, as --capacity and the ephemeral size read it");
    assertEquals("1000000", env(fio, "BLOCK_BYTES"));
    // A number in a values file reaches the templates as a float64: still plain bytes, not 6.7108864e+07.
    Container fromFile = RenderedChart.renderWithValues("tests: {fio: {fileSize: 67108864, blockSize: 1048576}}\n")
        .one(Job.class, "shoal-test-fio").getSpec().getTemplate().getSpec().getContainers().getFirst();
    assertEquals("67108864", env(fromFile, "FILE_BYTES"));

    Map<Map<String, Object>, String> refused = Map.of(
        Map.of("tests.fio.fileSize", "64Mi", "tests.fio.blockSize", "3M"), "must be a positive multiple",
        Map.of("tests.fio.fileSize", "64mb"), "bad size \"64mb\"",
        Map.of("tests.pods", 10), "tests.size (1Gi) must hold",
        Map.of("tests.ephemeral.size", "64Mi"), "must be smaller than tests.ephemeral.size");
    for (Map.Entry<Map<String, Object>, String> e : refused.entrySet()) {
      Exception x = assertThrows(Exception.class, () -> RenderedChart.renderYaml(e.getKey()), e.getKey()::toString);
      assertTrue(x.getMessage().contains(e.getValue()), x::getMessage);
    }
  }

  @Test
  void metadataDisruptionBudgetLetsDrainsEvictOneReplicaAndSelectsOnlyMetadataPods() {
    PodDisruptionBudget pdb = defaults.one(PodDisruptionBudget.class, META);
    assertEquals(new IntOrString(1), pdb.getSpec().getMaxUnavailable());
    assertNull(pdb.getSpec().getMinAvailable(), "one of maxUnavailable and minAvailable, not both");
    StatefulSet sts = defaults.one(StatefulSet.class, META);
    assertEquals(sts.getSpec().getSelector(), pdb.getSpec().getSelector());
    for (Map.Entry<String, Map<String, String>> pod : defaults.podLabels().entrySet()) {
      boolean selected = pod.getValue().entrySet().containsAll(pdb.getSpec().getSelector().getMatchLabels().entrySet());
      assertEquals(pod.getKey().equals("StatefulSet/" + META), selected, pod.getKey() + " " + pod.getValue());
    }

    RenderedChart five = RenderedChart.render(Map.of("metadata.replicas", 5,
        "metadata.podDisruptionBudget.maxUnavailable", 2));
    assertEquals(new IntOrString(2), five.one(PodDisruptionBudget.class, META).getSpec().getMaxUnavailable());
    for (int bad : new int[] {0, 2}) {
      Exception x = assertThrows(Exception.class,
          () -> RenderedChart.renderYaml(Map.of("metadata.podDisruptionBudget.maxUnavailable", bad)));
      assertTrue(x.getMessage().contains("must be between 1 and 1 for 3 replicas"), x::getMessage);
    }
    assertTrue(RenderedChart.render(Map.of("metadata.podDisruptionBudget.enabled", false))
        .all(PodDisruptionBudget.class).isEmpty());
  }

  @Test
  void noDisruptionBudgetOnASingleMetadataReplica() {
    RenderedChart one = RenderedChart.render(Map.of("metadata.replicas", 1, "replication", 1, "storage.replicas", 1));
    assertEquals(1, one.one(StatefulSet.class, META).getSpec().getReplicas());
    assertTrue(one.all(PodDisruptionBudget.class).isEmpty(), "a budget on one replica blocks every drain: "
        + one.names());
  }

  @Test
  void metadataAndStoragePodsSpreadOverNodesUnlessGivenAnAffinity() {
    for (String name : List.of(META, "shoal-storage")) {
      StatefulSet sts = defaults.one(StatefulSet.class, name);
      Affinity affinity = sts.getSpec().getTemplate().getSpec().getAffinity();
      assertNotNull(affinity, name);
      assertNull(affinity.getNodeAffinity());
      assertNull(affinity.getPodAffinity());
      assertTrue(affinity.getPodAntiAffinity().getRequiredDuringSchedulingIgnoredDuringExecution().isEmpty(),
          "preferred only: fewer nodes than replicas must still schedule");
      List<WeightedPodAffinityTerm> preferred =
          affinity.getPodAntiAffinity().getPreferredDuringSchedulingIgnoredDuringExecution();
      assertEquals(1, preferred.size(), name);
      PodAffinityTerm term = preferred.getFirst().getPodAffinityTerm();
      assertEquals("kubernetes.io/hostname", term.getTopologyKey());
      assertEquals(sts.getSpec().getSelector(), term.getLabelSelector(), name + " repels its own pods, only those");
    }
    assertNull(defaults.one(Deployment.class, "shoal-csi-controller").getSpec().getTemplate().getSpec().getAffinity());

    String key = "metadata.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        + ".nodeSelectorTerms[0].matchExpressions[0].";
    RenderedChart custom = RenderedChart.render(Map.of(key + "key", "disk", key + "operator", "In",
        key + "values[0]", "ssd"));
    Affinity given = custom.one(StatefulSet.class, META).getSpec().getTemplate().getSpec().getAffinity();
    assertNull(given.getPodAntiAffinity(), "a user's affinity replaces the default, it is not merged");
    NodeSelectorRequirement req = given.getNodeAffinity().getRequiredDuringSchedulingIgnoredDuringExecution()
        .getNodeSelectorTerms().getFirst().getMatchExpressions().getFirst();
    assertEquals(List.of("disk", "In", List.of("ssd")), List.of(req.getKey(), req.getOperator(), req.getValues()));
    assertNotNull(custom.one(StatefulSet.class, "shoal-storage").getSpec().getTemplate().getSpec().getAffinity()
        .getPodAntiAffinity(), "storage keeps its default");
  }

  @Test
  void volumeSnapshotClassOnlyWhereTheSnapshotApiIsOrWhenForced() {
    // helm-java's template (0.0.21) has no --api-versions, and its offline render's capabilities are Helm's
    // built-in API list, which never has snapshot.storage.k8s.io/v1: so the default render is the cluster
    // without the snapshot CRDs, and force=true stands for the cluster that has them.
    assertTrue(defaults.untyped("VolumeSnapshotClass").isEmpty(), "no class without the snapshot API");

    RenderedChart forced = RenderedChart.render(Map.of("volumeSnapshotClass.force", true));
    List<Map<String, Object>> classes = forced.untyped("VolumeSnapshotClass");
    assertEquals(1, classes.size(), () -> String.join(", ", forced.names()));
    Map<String, Object> vsc = classes.getFirst();
    assertEquals("snapshot.storage.k8s.io/v1", vsc.get("apiVersion"));
    assertEquals(DRIVER, vsc.get("driver"));
    assertEquals("Delete", vsc.get("deletionPolicy"));
    Map<?, ?> meta = (Map<?, ?>) vsc.get("metadata");
    assertEquals("shoal", meta.get("name"));
    assertNull(meta.get("namespace"), "cluster-scoped");
    assertTrue(meta.get("annotations") == null
        || !((Map<?, ?>) meta.get("annotations")).containsKey("snapshot.storage.kubernetes.io/is-default-class"));

    Map<String, Object> custom = RenderedChart.render(Map.of("volumeSnapshotClass.force", true,
        "volumeSnapshotClass.name", "fast", "volumeSnapshotClass.isDefault", true,
        "volumeSnapshotClass.deletionPolicy", "Retain", "csi.driverName", "x.example"))
        .untyped("VolumeSnapshotClass").getFirst();
    assertEquals("x.example", custom.get("driver"));
    assertEquals("Retain", custom.get("deletionPolicy"));
    Map<?, ?> customMeta = (Map<?, ?>) custom.get("metadata");
    assertEquals("fast", customMeta.get("name"));
    assertEquals("true",
        ((Map<?, ?>) customMeta.get("annotations")).get("snapshot.storage.kubernetes.io/is-default-class"));

    assertTrue(RenderedChart.render(Map.of("volumeSnapshotClass.force", true, "volumeSnapshotClass.create", false))
        .untyped("VolumeSnapshotClass").isEmpty(), "create: false wins over force");
    Exception bad = assertThrows(Exception.class, () -> RenderedChart.renderYaml(
        Map.of("volumeSnapshotClass.force", true, "volumeSnapshotClass.deletionPolicy", "Keep")));
    assertTrue(bad.getMessage().contains("must be Delete or Retain"), bad::getMessage);
  }

  // ---- helpers

  private static final long SMALL_FILE = 4L << 20;
  private static final long SMALL_BLOCK = 64L << 10;

  /** Test values small enough for fio to run them here in well under a second. */
  private static Map<String, Object> smallFio() {
    return Map.of("tests.fio.fileSize", "4Mi", "tests.fio.blockSize", "64Ki");
  }

  private static Job smallFioJob() {
    return RenderedChart.render(smallFio()).one(Job.class, "shoal-test-fio");
  }

  /** The fio Job's three pods at once on one directory; extra env per index. Results by index. */
  private static List<HookScript.Result> runFioPods(Container fio, Path data, Path tmp,
      Map<Integer, Map<String, String>> extra) throws Exception {
    List<Process> started = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      Map<String, String> env = new LinkedHashMap<>(Map.of("JOB_COMPLETION_INDEX", String.valueOf(i),
          "DATA_DIR", data.toString()));
      env.putAll(extra.getOrDefault(i, Map.of()));
      started.add(HookScript.start(fio, env, tmp.resolve("pod-" + i + ".log")));
    }
    List<HookScript.Result> results = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      results.add(HookScript.finish(started.get(i), tmp.resolve("pod-" + i + ".log")));
    }
    return results;
  }

  // ---- helpers

  private static String metaPeers(RenderedChart chart) {
    return flagValue(container(chart.one(StatefulSet.class, META).getSpec().getTemplate().getSpec(), "meta").getArgs(), "--peers");
  }

  /** Parses ID=HOST:PORT,... keeping order. */
  private static Map<String, String> peers(String list) {
    Map<String, String> peers = new LinkedHashMap<>();
    for (String entry : list.split(",")) {
      String[] kv = entry.split("=", 2);
      assertEquals(2, kv.length, entry);
      assertNotNull(kv[1]);
      assertEquals(null, peers.put(kv[0], kv[1]), "duplicate id " + kv[0]);
    }
    return peers;
  }

  private static Map<String, Integer> ports(List<ServicePort> ports) {
    return ports.stream().collect(Collectors.toMap(ServicePort::getName, ServicePort::getPort));
  }

  private static VolumeMount mount(Container c, String path) {
    return c.getVolumeMounts().stream().filter(m -> m.getMountPath().equals(path)).findFirst()
        .orElseThrow(() -> new AssertionError(c.getName() + " does not mount " + path));
  }

  private static void assertHostPath(PodSpec pod, String volume, String path, String type) {
    Volume v = pod.getVolumes().stream().filter(x -> x.getName().equals(volume)).findFirst().orElseThrow();
    assertNotNull(v.getHostPath(), volume + " is not a hostPath");
    assertEquals(path, v.getHostPath().getPath());
    assertEquals(type, v.getHostPath().getType());
  }

  private static void assertPodNameEnv(Container c) {
    EnvVar podName = c.getEnv().stream().filter(e -> e.getName().equals("POD_NAME")).findFirst().orElseThrow();
    assertEquals("metadata.name", podName.getValueFrom().getFieldRef().getFieldPath());
  }

  private static String env(Container c, String name) {
    return c.getEnv().stream().filter(e -> e.getName().equals(name)).findFirst().orElseThrow().getValue();
  }

  private static void assertImages(RenderedChart chart, String shoalImage, Set<String> sidecars) {
    int shoalContainers = 0;
    for (Map.Entry<String, PodSpec> pod : chart.podSpecs().entrySet()) {
      for (Container c : containers(pod.getValue()).toList()) {
        String where = pod.getKey() + " container " + c.getName();
        if (c.getImage().equals(shoalImage)) {
          shoalContainers++;
          // Overriding the entrypoint would drop tini (signal forwarding, reaping the FUSE processes).
          assertTrue(c.getCommand() == null || c.getCommand().isEmpty(), where + " overrides the image's entrypoint");
        } else {
          assertTrue(sidecars.contains(c.getImage()), where + " runs unexpected image " + c.getImage());
        }
      }
    }
    // meta, storage, csi-node, csi-controller, the helm test's fio pods and its ephemeral-volume pod
    assertEquals(6, shoalContainers);
  }

  @SuppressWarnings("unchecked")
  private static Set<String> pinnedSidecars() {
    Map<String, Object> csi = (Map<String, Object>) values.get("csi");
    Map<String, Object> sidecars = (Map<String, Object>) csi.get("sidecars");
    Set<String> images = new TreeSet<>();
    for (Object v : sidecars.values()) {
      if (v instanceof Map<?, ?> m && m.get("image") != null) {
        images.add((String) m.get("image"));
      }
    }
    return images;
  }

  private static List<String> controllerContainers(RenderedChart chart) {
    return chart.one(Deployment.class, "shoal-csi-controller").getSpec().getTemplate().getSpec().getContainers()
        .stream().map(Container::getName).toList();
  }

  private static X509Certificate cert(CertificateFactory x509, String base64Pem) throws Exception {
    assertNotNull(base64Pem);
    byte[] pem = Base64.getDecoder().decode(base64Pem);
    Collection<? extends java.security.cert.Certificate> certs = x509.generateCertificates(new ByteArrayInputStream(pem));
    assertEquals(1, certs.size());
    return (X509Certificate) certs.iterator().next();
  }
}
