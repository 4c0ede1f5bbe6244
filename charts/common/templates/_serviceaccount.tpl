{{/*
common.serviceAccount: the server pods' ServiceAccount, when .Values.serviceAccount.create.
API credentials are not mounted (automountServiceAccountToken: false): the services never call
the Kubernetes API.
Usage: {{ include "common.serviceAccount" . }}
*/}}
{{- define "common.serviceAccount" -}}
{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "common.serviceAccountName" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.labels" . | nindent 4 }}
  {{- $annotations := merge (dict) (.Values.serviceAccount.annotations | default dict) (.Values.commonAnnotations | default dict) }}
  {{- with $annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
automountServiceAccountToken: false
{{- end -}}
{{- end -}}
