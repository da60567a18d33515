package io.shoalfs.helm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The chart rendered by the real Helm engine (helm-java) and parsed back into Kubernetes objects.
 *
 * <p>helm-java's template returns the release manifest only, without hooks (the helm CLI prints both). So
 * that the hooks (the generated TLS secrets, the helm test's PVC and Job) are rendered and checked by the
 * same engine, renders run on a copy of the chart in which the annotation key {@code helm.sh/hook} is
 * renamed to {@link #HOOK}; nothing else differs, and the tests assert each hook's original phase there.
 */
final class RenderedChart {
  static final String HOOK = "test.shoalfs.io/helm-hook";
  static final String RELEASE = "shoal";
  static final String NAMESPACE = "shoal-system";
  /**
   * helm-java's embedded engine assumes Kubernetes v1.20 (the helm CLI assumes its client-go version); the
   * chart needs at least 1.26 (Chart.yaml kubeVersion), so renders name a current version like a cluster would.
   */
  static final String KUBE_VERSION = "v1.31.0";

  final String yaml;
  final List<HasMetadata> objects;

  private RenderedChart(String yaml, List<HasMetadata> objects) {
    this.yaml = yaml;
    this.objects = objects;
  }

  /** The chart directory: helm/shoal, whether the tests run from the module or the repository root. */
  static Path chartDir() {
    for (Path candidate : List.of(Path.of("shoal"), Path.of("helm", "shoal"))) {
      if (Files.isRegularFile(candidate.resolve("Chart.yaml"))) {
        return candidate.toAbsolutePath();
      }
    }
    throw new IllegalStateException("helm/shoal/Chart.yaml not found from " + Path.of("").toAbsolutePath());
  }

  static RenderedChart render(Map<String, Object> sets) {
    return new RenderedChart(renderYaml(sets), null).parse();
  }

  /**
   * Renders with a values file as well: the only way to give a value the type a user's values file gives it
   * (a number there is a float64 to the templates; --set makes it an int64).
   */
  static RenderedChart renderWithValues(String valuesYaml) {
    try {
      Path file = Files.createTempFile(Files.createDirectories(Path.of("target")), "values-", ".yaml");
      Files.writeString(file, valuesYaml);
      return new RenderedChart(template(Map.of()).withValuesFile(file.toAbsolutePath()).call(), null).parse();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static String renderYaml(Map<String, Object> sets) {
    return template(sets).call();
  }

  private static TemplateCommand template(Map<String, Object> sets) {
    TemplateCommand template = new Helm(chartWithVisibleHooks()).template().withName(RELEASE).withNamespace(NAMESPACE)
        .withKubeVersion(KUBE_VERSION);
    for (Map.Entry<String, Object> e : new LinkedHashMap<>(sets).entrySet()) {
      template = template.set(e.getKey(), e.getValue());
    }
    return template;
  }

  private static Path visibleHooksCopy;

  /** The chart copied to target/, hook annotations renamed (see the class comment). */
  static synchronized Path chartWithVisibleHooks() {
    if (visibleHooksCopy != null) {
      return visibleHooksCopy;
    }
    Path source = chartDir();
    Path target = Path.of("target", "chart-hooks-visible", source.getFileName().toString()).toAbsolutePath();
    try {
      if (Files.exists(target)) {
        try (Stream<Path> old = Files.walk(target)) {
          old.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
      }
      try (Stream<Path> files = Files.walk(source)) {
        for (Path from : files.toList()) {
          Path to = target.resolve(source.relativize(from).toString());
          if (Files.isDirectory(from)) {
            Files.createDirectories(to);
          } else {
            Files.writeString(to, Files.readString(from).replace("helm.sh/hook:", HOOK + ":"));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    visibleHooksCopy = target;
    return target;
  }

  private RenderedChart parse() {
    Object parsed = new KubernetesSerialization().unmarshal(yaml);
    List<HasMetadata> list = new ArrayList<>();
    if (parsed instanceof List<?> many) {
      for (Object o : many) {
        if (o != null) {
          list.add((HasMetadata) o);
        }
      }
    } else {
      list.add((HasMetadata) parsed);
    }
    return new RenderedChart(yaml, List.copyOf(list));
  }

  <T extends HasMetadata> List<T> all(Class<T> kind) {
    return objects.stream().filter(kind::isInstance).map(kind::cast).toList();
  }

  <T extends HasMetadata> T one(Class<T> kind, String name) {
    List<T> found = all(kind).stream().filter(o -> o.getMetadata().getName().equals(name)).toList();
    assertEquals(1, found.size(), () -> "expected exactly one " + kind.getSimpleName() + " named " + name
        + ", found " + found.size() + " among " + names());
    return found.getFirst();
  }

  List<String> names() {
    return objects.stream().map(o -> o.getKind() + "/" + o.getMetadata().getName()).toList();
  }

  /** Every pod template in the render, keyed by "Kind/name". */
  Map<String, PodSpec> podSpecs() {
    Map<String, PodSpec> specs = new LinkedHashMap<>();
    all(StatefulSet.class).forEach(s -> specs.put("StatefulSet/" + s.getMetadata().getName(), s.getSpec().getTemplate().getSpec()));
    all(DaemonSet.class).forEach(d -> specs.put("DaemonSet/" + d.getMetadata().getName(), d.getSpec().getTemplate().getSpec()));
    all(Deployment.class).forEach(d -> specs.put("Deployment/" + d.getMetadata().getName(), d.getSpec().getTemplate().getSpec()));
    all(Job.class).forEach(j -> specs.put("Job/" + j.getMetadata().getName(), j.getSpec().getTemplate().getSpec()));
    assertTrue(!specs.isEmpty(), "no pod templates rendered");
    return specs;
  }

  /** The labels of every pod template in the render, keyed like {@link #podSpecs()}. */
  Map<String, Map<String, String>> podLabels() {
    Map<String, Map<String, String>> labels = new LinkedHashMap<>();
    all(StatefulSet.class).forEach(s -> labels.put("StatefulSet/" + s.getMetadata().getName(),
        s.getSpec().getTemplate().getMetadata().getLabels()));
    all(DaemonSet.class).forEach(d -> labels.put("DaemonSet/" + d.getMetadata().getName(),
        d.getSpec().getTemplate().getMetadata().getLabels()));
    all(Deployment.class).forEach(d -> labels.put("Deployment/" + d.getMetadata().getName(),
        d.getSpec().getTemplate().getMetadata().getLabels()));
    all(Job.class).forEach(j -> labels.put("Job/" + j.getMetadata().getName(),
        j.getSpec().getTemplate().getMetadata().getLabels()));
    return labels;
  }

  /** The objects of one kind that the fabric8 model has no class for (GenericKubernetesResource), as maps. */
  @SuppressWarnings("unchecked")
  List<Map<String, Object>> untyped(String kind) {
    KubernetesSerialization serialization = new KubernetesSerialization();
    return objects.stream().filter(o -> kind.equals(o.getKind()))
        .map(o -> (Map<String, Object>) serialization.convertValue(o, Map.class)).toList();
  }

  static Stream<Container> containers(PodSpec spec) {
    return Stream.concat(spec.getInitContainers().stream(), spec.getContainers().stream());
  }

  static Container container(PodSpec spec, String name) {
    return spec.getContainers().stream().filter(c -> c.getName().equals(name)).findFirst()
        .orElseThrow(() -> new AssertionError("no container " + name + " in " + spec.getContainers().stream().map(Container::getName).toList()));
  }

  /** The value that follows {@code flag} in a command line. */
  static String flagValue(List<String> command, String flag) {
    int i = command.indexOf(flag);
    assertTrue(i >= 0 && i + 1 < command.size(), () -> flag + " missing from " + command);
    return command.get(i + 1);
  }
}
