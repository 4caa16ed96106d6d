{{/*
Every enabled entry of .Values.components becomes a Deployment; one with a `port` also gets a
Service (the `serve` component's Service carries the chart's full name, so peers reach
http://<fullname>:<port>; its `metrics` port is for the ServiceMonitor), and optionally a HorizontalPodAutoscaler and a PodDisruptionBudget.
The otel-demo's component.yaml idea: workloads are data, one template stamps them.
*/}}
{{- define "taskflow-lib.components" -}}
{{- $root := . -}}
{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
{{- $ctx := dict "root" $root "component" $name -}}
{{- $fullName := include "taskflow-lib.componentName" $ctx }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $fullName }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
spec:
  {{- if not (and $c.autoscaling $c.autoscaling.enabled) }}
  replicas: {{ $c.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  {{- with $c.strategy }}
  strategy:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "taskflow-lib.componentSelectorLabels" $ctx | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "taskflow-lib.componentLabels" $ctx | nindent 8 }}
      annotations:
        {{- include "taskflow-lib.checksums" $root | nindent 8 }}
        {{- with $root.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- include "taskflow-lib.podSpec" (dict "root" $root "name" $name "component" $c "args" $c.args) | nindent 6 }}
{{- if $c.port }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ ternary (include "taskflow-lib.fullname" $root) $fullName (eq $name "serve") }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
spec:
  type: {{ $root.Values.service.type }}
  selector:
    {{- include "taskflow-lib.componentSelectorLabels" $ctx | nindent 4 }}
  ports:
    - name: http
      port: {{ $root.Values.service.port | default $c.port }}
      targetPort: http
      protocol: TCP
    {{- if $c.metricsPort }}
    {{- /* For the ServiceMonitor only: routes and peers use `http`, which serves no metrics. */}}
    - name: metrics
      port: {{ $c.metricsPort }}
      targetPort: metrics
      protocol: TCP
    {{- end }}
{{- end }}
{{- if and $c.autoscaling $c.autoscaling.enabled }}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $fullName }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $fullName }}
  minReplicas: {{ $c.autoscaling.minReplicas }}
  maxReplicas: {{ $c.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ $c.autoscaling.targetCPUUtilizationPercentage }}
{{- end }}
{{- if and $c.pdb $c.pdb.enabled }}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ $fullName }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
spec:
  maxUnavailable: {{ $c.pdb.maxUnavailable }}
  selector:
    matchLabels:
      {{- include "taskflow-lib.componentSelectorLabels" $ctx | nindent 6 }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
