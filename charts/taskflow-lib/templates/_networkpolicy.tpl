{{/*
Ingress NetworkPolicies, one per enabled component: a `serve` role accepts its HTTP port from
the release's own pods (peers, the gateway, helm test) and from the peers listed in values
(the Gateway/Ingress controller's namespace, Prometheus); a role with a `metricsPort` accepts
that port from the same peers (Prometheus scrapes it through the ServiceMonitor or a PodMonitor);
a role without a port accepts nothing.
Egress is not restricted (databases, brokers and Keycloak live in operator-managed pods).
*/}}
{{- define "taskflow-lib.networkPolicies" -}}
{{- $root := . -}}
{{- $global := $root.Values.global.taskflow.networkPolicy | default dict -}}
{{- if or $root.Values.networkPolicy.enabled $global.enabled }}
{{- range $name, $c := $root.Values.components }}
{{- if $c.enabled }}
{{- $ctx := dict "root" $root "component" $name }}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "taskflow-lib.componentName" $ctx }}
  namespace: {{ $root.Release.Namespace | quote }}
  labels:
    {{- include "taskflow-lib.componentLabels" $ctx | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "taskflow-lib.componentSelectorLabels" $ctx | nindent 6 }}
  policyTypes: ["Ingress"]
  {{- if or $c.port $c.metricsPort }}
  ingress:
    - from:
        - podSelector:
            matchLabels:
              app.kubernetes.io/instance: {{ $root.Release.Name }}
        {{- with concat ($global.ingressFrom | default list) ($root.Values.networkPolicy.ingressFrom | default list) }}
        {{- tpl (toYaml .) $root | nindent 8 }}
        {{- end }}
      ports:
        {{- if $c.port }}
        - port: http
          protocol: TCP
        {{- end }}
        {{- if $c.metricsPort }}
        - port: metrics
          protocol: TCP
        {{- end }}
  {{- else }}
  ingress: []
  {{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end -}}
