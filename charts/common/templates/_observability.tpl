{{/*
common.serviceMonitor: a Prometheus Operator ServiceMonitor scraping /metrics on the "http"
port, rendered when .Values.metrics.serviceMonitor.enabled (needs the monitoring.coreos.com CRDs).
Usage: {{ include "common.serviceMonitor" . }}
*/}}
{{- define "common.serviceMonitor" -}}
{{- $sm := .Values.metrics.serviceMonitor -}}
{{- if $sm.enabled -}}
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: {{ include "common.fullname" . }}
  namespace: {{ $sm.namespace | default .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "server") | nindent 4 }}
    {{- with $sm.labels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  jobLabel: app.kubernetes.io/name
  namespaceSelector:
    matchNames:
      - {{ .Release.Namespace }}
  selector:
    matchLabels:
      {{- include "common.componentSelectorLabels" (dict "context" . "component" "server") | nindent 6 }}
  endpoints:
    - port: http
      path: /metrics
      interval: {{ $sm.interval }}
      scrapeTimeout: {{ $sm.scrapeTimeout }}
{{- end -}}
{{- end -}}

{{/*
common.dashboard: a ConfigMap holding the chart's files/dashboard.json, labelled for the
Grafana dashboard sidecar (grafana_dashboard: "1" by default), when .Values.metrics.dashboard.enabled.
Usage: {{ include "common.dashboard" . }}
*/}}
{{- define "common.dashboard" -}}
{{- $d := .Values.metrics.dashboard -}}
{{- if $d.enabled -}}
{{- $json := .Files.Get "files/dashboard.json" -}}
{{- if not $json -}}
{{- fail (printf "metrics.dashboard.enabled is true but the %s chart has no files/dashboard.json" .Chart.Name) -}}
{{- end -}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "common.componentName" (dict "context" . "suffix" "dashboard") }}
  namespace: {{ $d.namespace | default .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "dashboard") | nindent 4 }}
    {{- toYaml $d.labels | nindent 4 }}
  {{- with $d.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
data:
  {{ printf "%s.json" (include "common.fullname" .) }}: |-
    {{- $json | nindent 4 }}
{{- end -}}
{{- end -}}
