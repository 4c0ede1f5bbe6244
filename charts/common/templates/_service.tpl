{{/*
common.service: a ClusterIP Service in front of the server pods, port .Values.service.port to
the container's named "http" port (which also serves /metrics).
Usage: {{ include "common.service" . }}
*/}}
{{- define "common.service" -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "server") | nindent 4 }}
  {{- $annotations := merge (dict) (.Values.service.annotations | default dict) (.Values.commonAnnotations | default dict) }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  type: ClusterIP
  selector:
    {{- include "common.componentSelectorLabels" (dict "context" . "component" "server") | nindent 4 }}
  ports:
    - name: http
      port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
{{- end -}}

{{/*
common.ingress: an optional networking.k8s.io/v1 Ingress to the Service, rendered when
.Values.ingress.enabled. Each of .Values.ingress.hosts gets the workload's ingressPaths, the
service's public paths, and nothing else: /metrics, /health/* and /openapi.json, which every
service serves on the same port, stay inside the cluster (policy MO-K8S-013), so there is no
`/` prefix and no defaultBackend.
Usage: {{ include "common.ingress" (dict "context" . "workload" $workload) }}
*/}}
{{- define "common.ingress" -}}
{{- $ctx := .context -}}
{{- if $ctx.Values.ingress.enabled -}}
{{- $paths := dig "ingressPaths" list .workload -}}
{{- if not $paths -}}
{{- fail (printf "ingress.enabled is true but the %s chart declares no public paths: list them as ingressPaths in its workload define (templates/_helpers.tpl)" $ctx.Chart.Name) -}}
{{- end -}}
{{- $fullname := include "common.fullname" $ctx -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $fullname }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" $ctx "component" "server") | nindent 4 }}
  {{- $annotations := merge (dict) ($ctx.Values.ingress.annotations | default dict) ($ctx.Values.commonAnnotations | default dict) }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $ctx.Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with $ctx.Values.ingress.tls }}
  tls:
    {{- range . }}
    - secretName: {{ .secretName }}
      hosts:
        {{- toYaml .hosts | nindent 8 }}
    {{- end }}
  {{- end }}
  rules:
    {{- range $ctx.Values.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range $paths }}
          - path: {{ .path }}
            pathType: {{ .pathType | default "Prefix" }}
            backend:
              service:
                name: {{ $fullname }}
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end -}}
{{- end -}}
