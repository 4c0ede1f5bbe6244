{{/*
micro-oncall.smokeTestLabels: the labels of the `helm test` smoke check's objects (the policies'
required labels, with the owner and cost centre from global).
Usage: {{- include "micro-oncall.smokeTestLabels" . | nindent 4 }}
*/}}
{{- define "micro-oncall.smokeTestLabels" -}}
app.kubernetes.io/name: micro-oncall
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: micro-oncall
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/component: smoke-test
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
owner: {{ .Values.global.owner | quote }}
cost-centre: {{ .Values.global.costCentre | quote }}
{{- end -}}
