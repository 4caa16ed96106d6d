{{/* Labels of a data-plane or observability resource: dict "root" $ "component" "postgres". */}}
{{- define "taskflow.labels" -}}
{{ include "taskflow-lib.componentLabels" . }}
{{- end -}}

{{/* Resource names of the data plane are fixed by the release name: subcharts reach them by these. */}}
{{- define "taskflow.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
The dead-letter queues' names as a regular expression (unanchored): taskflow_common's
dead_letter_queue_name() is `taskflow.<consumer>.dlq`. The DLQ length Policy and the DLQ depth
alerts both use it.
*/}}
{{- define "taskflow.dlqPattern" -}}
taskflow\..+\.dlq
{{- end -}}
