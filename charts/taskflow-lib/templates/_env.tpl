{{/*
The environment every TaskFlow process reads (docs/conventions.md "Settings names").
Connection strings come from the operators' Secrets; `tpl` lets the umbrella chart name them
after the release. Order matters: variables referenced as $(VAR) are defined first.
*/}}
{{- define "taskflow-lib.env" -}}
{{- $root := .root -}}
{{- $g := $root.Values.global.taskflow -}}
{{- $uses := $root.Values.connections -}}
- name: TASKFLOW_ENV
  value: {{ $g.env | quote }}
- name: TASKFLOW_MODE
  value: distributed
- name: TASKFLOW_HOST
  value: "0.0.0.0"
{{- if .port }}
- name: TASKFLOW_PORT
  value: {{ .port | quote }}
{{- end }}
{{- if .metricsPort }}
{{- /*
/metrics must answer on the pod IP for the ServiceMonitor (serve) or PodMonitor (background
roles): every role binds its metrics listener to TASKFLOW_HOST (above, 0.0.0.0).
*/}}
- name: TASKFLOW_METRICS_PORT
  value: {{ .metricsPort | quote }}
{{- end }}
- name: TASKFLOW_LOG_LEVEL
  value: {{ $g.logLevel | quote }}
- name: TASKFLOW_LOG_JSON
  value: "true"
- name: TASKFLOW_OIDC_ISSUER
  value: {{ tpl $g.oidc.issuer $root | quote }}
- name: TASKFLOW_OIDC_AUDIENCE
  value: {{ $g.oidc.audience | quote }}
{{- with $g.oidc.jwksUrl }}
- name: TASKFLOW_OIDC_JWKS_URL
  value: {{ tpl . $root | quote }}
{{- end }}
{{- if $uses.database }}
{{- $dbSecret := tpl $g.database.secretName $root }}
{{- with $g.database.host }}
{{- /*
Through a pooler (CloudNativePG's Pooler): the credentials come from the cluster's Secret, the
host is the pooler's Service, so every process reaches PostgreSQL through PgBouncer.
*/}}
- name: TASKFLOW_DATABASE_USER
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret | quote }}
      key: username
- name: TASKFLOW_DATABASE_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret | quote }}
      key: password
- name: TASKFLOW_DATABASE_NAME
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret | quote }}
      key: dbname
- name: TASKFLOW_DATABASE_URL
  value: {{ printf "postgresql://$(TASKFLOW_DATABASE_USER):$(TASKFLOW_DATABASE_PASSWORD)@%s:%d/$(TASKFLOW_DATABASE_NAME)" (tpl . $root) (int ($g.database.port | default 5432)) | quote }}
{{- else }}
- name: TASKFLOW_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ $dbSecret | quote }}
      key: {{ $g.database.secretKey | quote }}
{{- end }}
{{- end }}
{{- if $uses.amqp }}
- name: TASKFLOW_AMQP_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ tpl $g.amqp.secretName $root | quote }}
      key: username
- name: TASKFLOW_AMQP_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ tpl $g.amqp.secretName $root | quote }}
      key: password
- name: TASKFLOW_AMQP_URL
  {{- /* The default vhost "/" is the URL's empty path; any other is percent-encoded. */}}
  value: {{ printf "amqp://$(TASKFLOW_AMQP_USERNAME):$(TASKFLOW_AMQP_PASSWORD)@%s:%d/%s" (tpl $g.amqp.host $root) (int $g.amqp.port) (ternary "" ($g.amqp.vhost | urlquery) (eq $g.amqp.vhost "/")) | quote }}
{{- end }}
{{- if $uses.redis }}
- name: TASKFLOW_REDIS_URL
  value: {{ tpl $g.redis.url $root | quote }}
{{- end }}
{{- if or $uses.keycloakClient $uses.keycloakAdminUi }}
- name: TASKFLOW_KEYCLOAK_URL
  value: {{ tpl $g.keycloak.url $root | quote }}
- name: TASKFLOW_KEYCLOAK_REALM
  value: {{ $g.keycloak.realm | quote }}
{{- end }}
{{- if $uses.keycloakClient }}
- name: TASKFLOW_KEYCLOAK_GATEWAY_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ tpl $g.keycloak.clientSecretName $root | quote }}
      key: gateway-client-secret
{{- end }}
{{- if $uses.keycloakAdminUi }}
{{- /*
The admin web UI's confidential client (`taskflow-admin`, authorization code): the same
generated Secret the realm import fills the client's secret from.
*/}}
- name: TASKFLOW_KEYCLOAK_ADMIN_UI_SECRET
  valueFrom:
    secretKeyRef:
      name: {{ tpl $g.keycloak.clientSecretName $root | quote }}
      key: admin-ui-client-secret
{{- end }}
- name: OTEL_SERVICE_NAME
  value: {{ .otelName | quote }}
{{- /*
Resource attributes on every span: the version the image carries and where the pod runs (the
downward API; $(VAR) needs the variables defined above it). service.name comes from
OTEL_SERVICE_NAME, deployment.environment from TASKFLOW_ENV (taskflow_common.telemetry).
*/}}
- name: K8S_POD_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.name
- name: K8S_POD_UID
  valueFrom:
    fieldRef:
      fieldPath: metadata.uid
- name: K8S_NAMESPACE_NAME
  valueFrom:
    fieldRef:
      fieldPath: metadata.namespace
- name: K8S_NODE_NAME
  valueFrom:
    fieldRef:
      fieldPath: spec.nodeName
- name: OTEL_RESOURCE_ATTRIBUTES
  value: {{ printf "service.version=%s,k8s.pod.name=$(K8S_POD_NAME),k8s.pod.uid=$(K8S_POD_UID),k8s.namespace.name=$(K8S_NAMESPACE_NAME),k8s.node.name=$(K8S_NODE_NAME),k8s.container.name=%s" ($root.Values.image.tag | default $root.Chart.AppVersion | toString) .otelName | quote }}
{{- if $g.otel.endpoint }}
- name: OTEL_EXPORTER_OTLP_ENDPOINT
  value: {{ tpl $g.otel.endpoint $root | quote }}
- name: OTEL_EXPORTER_OTLP_PROTOCOL
  value: {{ $g.otel.protocol | quote }}
{{- /*
parentbased: the root span's ratio decides for the whole trace, and every downstream service
(HTTP or a RabbitMQ consumer continuing the W3C context) follows it, so traces stay whole.
*/}}
- name: OTEL_TRACES_SAMPLER
  value: parentbased_traceidratio
- name: OTEL_TRACES_SAMPLER_ARG
  value: {{ $g.otel.sampleRatio | toString | quote }}
{{- else }}
- name: OTEL_SDK_DISABLED
  value: "true"
{{- end }}
{{- range $name, $value := .componentEnv }}
- name: {{ $name }}
  value: {{ tpl (toString $value) $root | quote }}
{{- end }}
{{- with $root.Values.extraEnv }}
{{ tpl (toYaml .) $root }}
{{- end }}
{{- end -}}

{{/*
envFrom: the chart's ConfigMap and Secret (or an existing Secret). A hook pod (the migration
Job) runs before those exist, so it reads the config inline and its own hook-scoped Secret.
*/}}
{{- define "taskflow-lib.envFrom" -}}
{{- $root := .root -}}
{{- if not .hook -}}
- configMapRef:
    name: {{ include "taskflow-lib.fullname" $root }}
{{- end }}
{{- if $root.Values.existingSecret }}
- secretRef:
    name: {{ $root.Values.existingSecret }}
{{- else if $root.Values.secrets }}
- secretRef:
    name: {{ include "taskflow-lib.fullname" $root }}{{ if .hook }}-migrate{{ end }}
{{- end }}
{{- end -}}

{{- define "taskflow-lib.inlineConfig" -}}
{{- range $name, $value := .Values.config }}
- name: {{ $name }}
  value: {{ tpl (toString $value) $ | quote }}
{{- end }}
{{- end -}}
