{{/* The service's non-secret settings (TASKFLOW_* names), one ConfigMap. */}}
{{- define "taskflow-lib.configmap" -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "taskflow-lib.fullname" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.labels" . | nindent 4 }}
data:
  {{- range $name, $value := .Values.config }}
  {{ $name }}: {{ tpl (toString $value) $ | quote }}
  {{- end }}
{{- end -}}

{{/* The service's secret settings, unless an existing Secret is named. */}}
{{- define "taskflow-lib.secret" -}}
{{- if and .Values.secrets (not .Values.existingSecret) -}}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "taskflow-lib.fullname" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.labels" . | nindent 4 }}
type: Opaque
stringData:
  {{- include "taskflow-lib.secretData" (dict "root" . "name" (include "taskflow-lib.fullname" .)) | nindent 2 }}
{{- end -}}
{{- end -}}

{{/* Pods roll when their configuration changes. */}}
{{- define "taskflow-lib.checksums" -}}
checksum/config: {{ include "taskflow-lib.configmap" . | sha256sum }}
checksum/secret: {{ include "taskflow-lib.secret" . | sha256sum }}
{{- end -}}

{{- define "taskflow-lib.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "taskflow-lib.serviceAccountName" . }}
  namespace: {{ .Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.labels" . | nindent 4 }}
  {{- with .Values.serviceAccount.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}

{{/*
stringData of a service Secret. An empty value named in `generatedSecrets` keeps the value
already in the cluster (lookup) or gets a random one, so `helm upgrade` never rotates a key.
*/}}
{{- define "taskflow-lib.secretData" -}}
{{- $root := .root -}}
{{- $existing := (lookup "v1" "Secret" $root.Release.Namespace .name) | default dict -}}
{{- $data := $existing.data | default dict -}}
{{- range $key, $value := $root.Values.secrets }}
{{- if $value }}
{{ $key }}: {{ $value | toString | quote }}
{{- else if has $key $root.Values.generatedSecrets }}
{{ $key }}: {{ (get $data $key | b64dec) | default (randAlphaNum 48) | quote }}
{{- else }}
{{ $key }}: {{ required (printf "secrets.%s must be set (or name an existingSecret)" $key) $value | quote }}
{{- end }}
{{- end }}
{{- end -}}
