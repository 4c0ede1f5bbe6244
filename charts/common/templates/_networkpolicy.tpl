{{/*
Network policies, default-deny style: a pod selected by a NetworkPolicy with both policy types
may only receive and send what a rule admits. Peers use the Kubernetes NetworkPolicyPeer shape
(namespaceSelector / podSelector / ipBlock); an egress target with no peers ("to: []") admits
any destination on its ports.
*/}}

{{/*
common.egressRule: one egress rule from {to, ports} (internal helper).
Usage: {{- include "common.egressRule" .Values.networkPolicy.egress.kafka | nindent 4 }}
*/}}
{{- define "common.egressRule" -}}
- ports:
    {{- range .ports }}
    - port: {{ .port }}
      protocol: {{ .protocol | default "TCP" }}
    {{- end }}
  {{- with .to }}
  to:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}

{{/*
common.networkPolicy: the server pods' policy: ingress only on the container port from
networkPolicy.ingressFrom (ingress controller) and networkPolicy.metricsFrom (Prometheus);
egress only to DNS, Kafka, PostgreSQL, HTTPS when networkPolicy.egress.https.enabled, and
networkPolicy.egress.extra. Rendered when networkPolicy.enabled.
Usage: {{ include "common.networkPolicy" . }}
*/}}
{{- define "common.networkPolicy" -}}
{{- $np := .Values.networkPolicy -}}
{{- if $np.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "common.fullname" . }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "server") | nindent 4 }}
spec:
  podSelector:
    matchLabels:
      {{- include "common.componentSelectorLabels" (dict "context" . "component" "server") | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  {{- $from := concat $np.ingressFrom $np.metricsFrom }}
  {{- if $from }}
  ingress:
    - from:
        {{- toYaml $from | nindent 8 }}
      ports:
        - port: {{ .Values.containerPort }}
          protocol: TCP
  {{- else }}
  ingress: []
  {{- end }}
  egress:
    {{- include "common.egressRule" $np.egress.dns | nindent 4 }}
    {{- include "common.egressRule" $np.egress.kafka | nindent 4 }}
    {{- include "common.egressRule" $np.egress.postgres | nindent 4 }}
    {{- if $np.egress.https.enabled }}
    {{- include "common.egressRule" $np.egress.https | nindent 4 }}
    {{- end }}
    {{- with $np.egress.extra }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end -}}
{{- end -}}

{{/*
common.migrationsNetworkPolicy: the migration Job's policy: no ingress, egress to DNS and
PostgreSQL only. It is a pre-install/pre-upgrade hook (weight -10) so that it exists before the
Job runs on a first install, when the release's other objects are not created yet.
Usage: {{ include "common.migrationsNetworkPolicy" . }}
*/}}
{{- define "common.migrationsNetworkPolicy" -}}
{{- $np := .Values.networkPolicy -}}
{{- if and $np.enabled .Values.migrations.enabled -}}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "common.componentName" (dict "context" . "suffix" "migrations") }}
  namespace: {{ .Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" . "component" "migrations") | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "-10"
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  podSelector:
    matchLabels:
      {{- include "common.componentSelectorLabels" (dict "context" . "component" "migrations") | nindent 6 }}
  policyTypes:
    - Ingress
    - Egress
  ingress: []
  egress:
    {{- include "common.egressRule" $np.egress.dns | nindent 4 }}
    {{- include "common.egressRule" $np.egress.postgres | nindent 4 }}
{{- end -}}
{{- end -}}
