{{/*
A ServiceMonitor for the `serve` Service's /metrics (Prometheus operator). It scrapes the
`metrics` port: the `http` port is the public one and serves no metrics.
*/}}
{{- define "taskflow-lib.serviceMonitor" -}}
{{- if and (or .Values.metrics.serviceMonitor.enabled .Values.global.taskflow.serviceMonitors) .Values.components.serve.enabled .Values.components.serve.metricsPort -}}
{{- $ctx := dict "root" . "component" "serve" -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "taskflow-lib.fullname" . }}
  namespace: {{ .Values.metrics.serviceMonitor.namespace | default .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
    {{- with .Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  jobLabel: app.kubernetes.io/name
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace | quote }}
  selector:
    matchLabels:
      {{- include "taskflow-lib.componentSelectorLabels" $ctx | nindent 6 }}
  endpoints:
    - port: metrics
      path: /metrics
      # Our metrics carry their own `service` label (the TaskFlow service, as in the embedded
      # mode); without honorLabels Prometheus would rename it to exported_service.
      honorLabels: true
      interval: {{ .Values.metrics.serviceMonitor.interval }}
      scrapeTimeout: {{ .Values.metrics.serviceMonitor.scrapeTimeout }}
{{- end -}}
{{- end -}}

{{/*
A PodMonitor for the roles other than `serve` (its ServiceMonitor scrapes it) that expose
`metricsPort` (background processes serving prometheus_client's exporter), when monitoring is on.
*/}}
{{- define "taskflow-lib.podMonitors" -}}
{{- $root := . -}}
{{- if or .Values.metrics.serviceMonitor.enabled .Values.global.taskflow.serviceMonitors }}
{{- range $name, $c := .Values.components }}
{{- if and $c.enabled $c.metricsPort (ne $name "serve") }}
{{- $ctx := dict "root" $root "component" $name }}
---
apiVersion: monitoring.coreos.com/v1
kind: PodMonitor
metadata:
  name: {{ include "taskflow-lib.componentName" $ctx }}
  namespace: {{ $root.Values.metrics.serviceMonitor.namespace | default $root.Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
    {{- with $root.Values.metrics.serviceMonitor.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  jobLabel: app.kubernetes.io/name
  namespaceSelector:
    matchNames:
      - {{ $root.Release.Namespace | quote }}
  selector:
    matchLabels:
      {{- include "taskflow-lib.componentSelectorLabels" $ctx | nindent 6 }}
  podMetricsEndpoints:
    - port: metrics
      path: /metrics
      honorLabels: true
      interval: {{ $root.Values.metrics.serviceMonitor.interval }}
      scrapeTimeout: {{ $root.Values.metrics.serviceMonitor.scrapeTimeout }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Schema migrations run once per install/upgrade, before new pods start (a Helm hook), so
replicas never race to migrate; the service's `migrate` role does the work.
*/}}
{{- define "taskflow-lib.migrationJob" -}}
{{- if .Values.migrations.enabled -}}
{{- $ctx := dict "root" . "component" "migrate" -}}
{{- if and .Values.secrets (not .Values.existingSecret) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "taskflow-lib.componentName" $ctx }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .Values.migrations.hookEvents | quote }}
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
type: Opaque
stringData:
  {{- include "taskflow-lib.secretData" (dict "root" . "name" (include "taskflow-lib.fullname" .)) | nindent 2 }}
---
{{- end }}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "taskflow-lib.componentName" $ctx }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: {{ .Values.migrations.hookEvents | quote }}
    helm.sh/hook-weight: "10"
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  backoffLimit: {{ .Values.migrations.backoffLimit }}
  activeDeadlineSeconds: {{ .Values.migrations.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: 3600
  template:
    metadata:
      labels:
        {{- include "taskflow-lib.componentLabels" $ctx | nindent 8 }}
    spec:
      {{- include "taskflow-lib.podSpec" (dict "root" . "name" "migrate" "component" .Values.migrations "args" .Values.migrations.args "restartPolicy" "Never" "hook" true) | nindent 6 }}
{{- end -}}
{{- end -}}

{{/* `helm test`: the serve Service answers /readyz (its dependencies are up). */}}
{{- define "taskflow-lib.testPod" -}}
{{- if and .Values.tests.enabled .Values.components.serve.enabled -}}
{{- $ctx := dict "root" . "component" "test" -}}
apiVersion: v1
kind: Pod
metadata:
  name: {{ include "taskflow-lib.componentName" $ctx }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
  annotations:
    helm.sh/hook: test
    helm.sh/hook-delete-policy: before-hook-creation,hook-succeeded
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: readyz
      image: {{ printf "%s:%s" .Values.tests.image.repository .Values.tests.image.tag | quote }}
      args:
        - --fail
        - --silent
        - --show-error
        - --retry
        - "10"
        - --retry-delay
        - "3"
        - --retry-all-errors
        - {{ printf "http://%s:%d/readyz" (include "taskflow-lib.fullname" .) (int (.Values.service.port | default .Values.components.serve.port)) | quote }}
      securityContext:
        {{- toYaml .Values.containerSecurityContext | nindent 8 }}
      resources:
        requests: {cpu: 10m, memory: 16Mi}
        limits: {cpu: 100m, memory: 32Mi}
{{- end -}}
{{- end -}}
