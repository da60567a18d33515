{{/*
Names. Every object is "<fullname>-<component>"; fullname is the release name unless it already contains
the chart name, so `helm install shoal ./helm/shoal` gives shoal-meta-0, not shoal-shoal-meta-0.
*/}}
{{- define "shoal.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shoal.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "shoal.metaName" -}}{{ include "shoal.fullname" . }}-meta{{- end -}}
{{- define "shoal.storageName" -}}{{ include "shoal.fullname" . }}-storage{{- end -}}
{{- define "shoal.csiNodeName" -}}{{ include "shoal.fullname" . }}-csi-node{{- end -}}
{{- define "shoal.csiControllerName" -}}{{ include "shoal.fullname" . }}-csi-controller{{- end -}}

{{- define "shoal.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "shoal.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: shoal
{{- end -}}

{{/* Labels of a component's pods: its selector labels plus the version; call like shoal.selectorLabels. */}}
{{- define "shoal.podLabels" -}}
{{ include "shoal.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: shoal
{{- end -}}

{{/* Selector labels of one component; call with (dict "ctx" . "component" "meta"). */}}
{{- define "shoal.selectorLabels" -}}
app.kubernetes.io/name: {{ include "shoal.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* `--metrics-listen` of a Shoal container: every interface of the pod, on metrics.port. */}}
{{- define "shoal.metricsArgs" -}}
- --metrics-listen
- {{ printf "0.0.0.0:%d" (int .Values.metrics.port) }}
{{- end -}}

{{/* The container port that serves /metrics and /healthz. */}}
{{- define "shoal.metricsPort" -}}
- name: metrics
  containerPort: {{ int .Values.metrics.port }}
{{- end -}}

{{- define "shoal.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/*
The metadata replicas' stable addresses: pod i of the StatefulSet is reachable at
<meta>-i.<meta>.<namespace>.svc.<clusterDomain> through the headless Service, whose DNS records exist
before the pods are ready (publishNotReadyAddresses), which a Raft group that is still forming needs.
*/}}
{{- define "shoal.metaHost" -}}
{{- $meta := include "shoal.metaName" .ctx -}}
{{- printf "%s-%d.%s.%s.svc.%s" $meta (int .index) $meta .ctx.Release.Namespace .ctx.Values.clusterDomain -}}
{{- end -}}

{{/* ADDRS: the comma list of metadata raft addresses that every --meta flag takes. */}}
{{- define "shoal.metaAddrs" -}}
{{- $addrs := list -}}
{{- range $i := until (int .Values.metadata.replicas) -}}
{{- $addrs = append $addrs (printf "%s:%d" (include "shoal.metaHost" (dict "ctx" $ "index" $i)) (int $.Values.metadata.ports.raft)) -}}
{{- end -}}
{{- join "," $addrs -}}
{{- end -}}

{{/* The --peers list: ID=HOST:PORT with ID the pod name, which is what --id $(POD_NAME) passes. */}}
{{- define "shoal.metaPeers" -}}
{{- $meta := include "shoal.metaName" . -}}
{{- $peers := list -}}
{{- range $i := until (int .Values.metadata.replicas) -}}
{{- $peers = append $peers (printf "%s-%d=%s:%d" $meta $i (include "shoal.metaHost" (dict "ctx" $ "index" $i)) (int $.Values.metadata.ports.raft)) -}}
{{- end -}}
{{- join "," $peers -}}
{{- end -}}

{{/* Pod-level env every Shoal container gets: its own identity and where its TLS material is. */}}
{{- define "shoal.commonEnv" -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
- name: POD_IP
  valueFrom: {fieldRef: {fieldPath: status.podIP}}
- name: NODE_NAME
  valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
- name: SHOAL_LOG_LEVEL
  value: {{ .Values.logLevel | quote }}
- name: SHOAL_TLS_ENABLED
  value: {{ .Values.tls.enabled | quote }}
{{- if .Values.tls.enabled }}
- name: SHOAL_TLS_CA
  value: {{ printf "%s/ca.crt" .Values.tls.mountPath | quote }}
- name: SHOAL_TLS_CERT
  value: {{ printf "%s/tls.crt" .Values.tls.mountPath | quote }}
- name: SHOAL_TLS_KEY
  value: {{ printf "%s/tls.key" .Values.tls.mountPath | quote }}
{{- end }}
{{- end -}}

{{/* The TLS volume of one component; call with (dict "ctx" . "secret" NAME). Renders nothing when TLS is off. */}}
{{- define "shoal.tlsVolume" -}}
{{- if .ctx.Values.tls.enabled }}
- name: tls
  secret:
    secretName: {{ .secret }}
    defaultMode: 0400
{{- end }}
{{- end -}}

{{- define "shoal.tlsVolumeMount" -}}
{{- if .Values.tls.enabled }}
- name: tls
  mountPath: {{ .Values.tls.mountPath }}
  readOnly: true
{{- end }}
{{- end -}}

{{/*
nodeSelector and tolerations: the global ones merged with a component's; affinity: the component's. Call with
(dict "ctx" . "c" .Values.X); add "component" NAME (its selector labels' component) to get, when the component
has no affinity of its own, a preferred anti-affinity that spreads its pods over nodes.
*/}}
{{- define "shoal.scheduling" -}}
{{- $nodeSelector := merge (deepCopy (default dict .c.nodeSelector)) (default dict .ctx.Values.nodeSelector) -}}
{{- $tolerations := concat (default list .c.tolerations) (default list .ctx.Values.tolerations) -}}
{{- with $nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- if .c.affinity }}
affinity:
  {{- toYaml .c.affinity | nindent 2 }}
{{- else if .component }}
{{- /* Preferred, not required: a cluster with fewer nodes than replicas still schedules them all. */}}
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              {{- include "shoal.selectorLabels" (dict "ctx" .ctx "component" .component) | nindent 14 }}
{{- end }}
{{- end -}}

{{/*
Bytes of a size as users type it, read the way Shoal reads sizes (common's Sizes): plain bytes, Ki Mi Gi Ti Pi
(powers of 1024) or k K M G T P (powers of 1000), an optional trailing B. Shell arithmetic and fio get the
number, so "64M" means the same bytes in the helm test as it does to the daemons. Fails the render on
anything else.
*/}}
{{- define "shoal.bytes" -}}
{{- $v := . -}}
{{- /* A number in a values file is a float64, which toString would print as 6.7108864e+07. */ -}}
{{- if kindIs "float64" $v }}{{ $v = int64 $v }}{{ end -}}
{{- $s := toString $v | trim -}}
{{- if not (regexMatch "^[0-9]+(Ki|Mi|Gi|Ti|Pi|k|K|M|G|T|P)?B?$" $s) -}}
{{- fail (printf "bad size %q: use bytes or a number with Ki, Mi, Gi, Ti, Pi (powers of 1024) or k, M, G, T, P (powers of 1000)" $s) -}}
{{- end -}}
{{- $units := dict "" 1 "Ki" 1024 "Mi" 1048576 "Gi" 1073741824 "Ti" 1099511627776 "Pi" 1125899906842624
  "k" 1000 "K" 1000 "M" 1000000 "G" 1000000000 "T" 1000000000000 "P" 1000000000000000 -}}
{{- mul (regexFind "^[0-9]+" $s | int64) (get $units (regexReplaceAll "^[0-9]+|B$" $s "")) -}}
{{- end -}}

{{- define "shoal.imagePullSecrets" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Fail the render early with one clear line instead of producing a cluster that cannot work. */}}
{{- define "shoal.validate" -}}
{{- if lt (int .Values.metadata.replicas) 1 -}}
{{- fail "metadata.replicas must be at least 1" -}}
{{- end -}}
{{- if eq (mod (int .Values.metadata.replicas) 2) 0 -}}
{{- fail (printf "metadata.replicas must be odd (got %d): an even Raft group tolerates no more failures than the next smaller odd one" (int .Values.metadata.replicas)) -}}
{{- end -}}
{{- if lt (int .Values.storage.replicas) (int .Values.replication) -}}
{{- fail (printf "replication (%d) cannot exceed storage.replicas (%d)" (int .Values.replication) (int .Values.storage.replicas)) -}}
{{- end -}}
{{- if lt (int .Values.replication) 1 -}}
{{- fail "replication must be at least 1" -}}
{{- end -}}
{{- end -}}
