{{/*
A TaskFlow pod spec: dict "root" $ "name" <component> "component" <component values>
"args" <container args>. Non-root, read-only root filesystem, every capability dropped;
/tmp is the only writable path (an emptyDir).
*/}}
{{- define "taskflow-lib.podSpec" -}}
{{- $root := .root -}}
{{- $c := .component -}}
{{- $otelName := ternary (include "taskflow-lib.name" $root) (printf "%s-%s" (include "taskflow-lib.name" $root) .name) (eq .name "serve") -}}
automountServiceAccountToken: false
{{- /* A pre-install hook runs before the chart's ServiceAccount exists: it uses the namespace's. */}}
{{- if not .hook }}
serviceAccountName: {{ include "taskflow-lib.serviceAccountName" $root }}
{{- end }}
{{- with $root.Values.image.pullSecrets }}
imagePullSecrets:
  {{- range . }}
  - name: {{ . }}
  {{- end }}
{{- end }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with .restartPolicy }}
restartPolicy: {{ . }}
{{- end }}
terminationGracePeriodSeconds: {{ $c.terminationGracePeriodSeconds | default 30 }}
containers:
  - name: {{ .name }}
    image: {{ include "taskflow-lib.image" $root | quote }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args:
      {{- toYaml .args | nindent 6 }}
    securityContext:
      {{- toYaml $root.Values.containerSecurityContext | nindent 6 }}
    env:
      {{- include "taskflow-lib.env" (dict "root" $root "port" $c.port "metricsPort" $c.metricsPort "otelName" $otelName "componentEnv" $c.env) | nindent 6 }}
      {{- if .hook }}
      {{- include "taskflow-lib.inlineConfig" $root | nindent 6 }}
      {{- end }}
    {{- with include "taskflow-lib.envFrom" (dict "root" $root "hook" .hook) | trim }}
    envFrom:
      {{- . | nindent 6 }}
    {{- end }}
    {{- if or $c.port $c.metricsPort }}
    ports:
      {{- if $c.port }}
      - name: http
        containerPort: {{ $c.port }}
        protocol: TCP
      {{- end }}
      {{- if $c.metricsPort }}
      - name: metrics
        containerPort: {{ $c.metricsPort }}
        protocol: TCP
      {{- end }}
    {{- end }}
    {{- if and $c.port (not .noProbes) }}
    {{- include "taskflow-lib.probes" $root.Values.probes | nindent 4 }}
    {{- else if and $c.metricsPort (not .hook) }}
    {{- /*
    A background role has no HTTP port: its metrics listener answers /healthz from the event
    loop's heartbeat (taskflow_common.process.Heartbeat), so a stuck loop gets the pod restarted.
    */}}
    livenessProbe:
      httpGet:
        path: /healthz
        port: metrics
      periodSeconds: {{ $root.Values.probes.liveness.periodSeconds }}
      timeoutSeconds: {{ $root.Values.probes.liveness.timeoutSeconds }}
      failureThreshold: {{ $root.Values.probes.liveness.failureThreshold }}
    {{- end }}
    resources:
      {{- toYaml ($c.resources | default $root.Values.resources) | nindent 6 }}
    volumeMounts:
      - name: tmp
        mountPath: /tmp
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- tpl (toYaml .) $root | nindent 2 }}
{{- end }}
{{- end -}}

{{/* /healthz says the process lives; /readyz says its dependencies answer. */}}
{{- define "taskflow-lib.probes" -}}
startupProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ .startup.periodSeconds }}
  failureThreshold: {{ .startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /healthz
    port: http
  periodSeconds: {{ .liveness.periodSeconds }}
  timeoutSeconds: {{ .liveness.timeoutSeconds }}
  failureThreshold: {{ .liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /readyz
    port: http
  periodSeconds: {{ .readiness.periodSeconds }}
  timeoutSeconds: {{ .readiness.timeoutSeconds }}
  failureThreshold: {{ .readiness.failureThreshold }}
{{- end -}}
