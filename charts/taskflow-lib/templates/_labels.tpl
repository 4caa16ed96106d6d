{{/* Standard labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/). */}}
{{- define "taskflow-lib.labels" -}}
helm.sh/chart: {{ include "taskflow-lib.chart" . }}
{{ include "taskflow-lib.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | default .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: taskflow
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels never change after the first install: keep them minimal. */}}
{{- define "taskflow-lib.selectorLabels" -}}
app.kubernetes.io/name: {{ include "taskflow-lib.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* Labels of one component: dict "root" $ "component" "serve". */}}
{{- define "taskflow-lib.componentLabels" -}}
{{ include "taskflow-lib.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "taskflow-lib.componentSelectorLabels" -}}
{{ include "taskflow-lib.selectorLabels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}
