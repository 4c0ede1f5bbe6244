{{/*
common.pdb: a PodDisruptionBudget for the server pods, rendered when .Values.pdb.enabled and
more than one replica runs (a PDB on a single replica would block node drains).
Usage: {{ include "common.pdb" . }}
*/}}
{{- define "common.pdb" -}}
{{- if and .Values.pdb.enabled (gt (include "common.replicas" . | int) 1) -}}
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "server") | nindent 4 }}
spec:
  maxUnavailable: {{ .Values.pdb.maxUnavailable }}
  unhealthyPodEvictionPolicy: AlwaysAllow
  selector:
    matchLabels:
      {{- include "common.componentSelectorLabels" (dict "context" . "component" "server") | nindent 6 }}
{{- end -}}
{{- end -}}

{{/*
common.hpa: an autoscaling/v2 HorizontalPodAutoscaler on CPU (and optionally memory)
utilisation, rendered when .Values.autoscaling.enabled; the Deployment then omits replicas.
Usage: {{ include "common.hpa" . }}
*/}}
{{- define "common.hpa" -}}
{{- if .Values.autoscaling.enabled -}}
{{- if lt (int .Values.autoscaling.maxReplicas) (int .Values.autoscaling.minReplicas) -}}
{{- fail "autoscaling.maxReplicas must be at least autoscaling.minReplicas" -}}
{{- end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "server") | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ include "common.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ .Values.autoscaling.targetCPUUtilizationPercentage }}
    {{- with .Values.autoscaling.targetMemoryUtilizationPercentage }}
    - type: Resource
      resource:
        name: memory
        target:
          type: Utilization
          averageUtilization: {{ . }}
    {{- end }}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 300
{{- end -}}
{{- end -}}
