{{/*
status-mapper.configDir: where the sources and mapping ConfigMap is mounted.
Usage: {{ include "status-mapper.configDir" . }}
*/}}
{{- define "status-mapper.configDir" -}}
/etc/micro-oncall/status-mapper
{{- end -}}

{{/*
status-mapper.sources: the sources file rendered from .Values.sources.
Usage: {{ include "status-mapper.sources" . }}
*/}}
{{- define "status-mapper.sources" -}}
{{ toYaml .Values.sources }}
{{- end -}}

{{/*
status-mapper.mapping: the mapping file rendered from .Values.mapping.
Usage: {{ include "status-mapper.mapping" . }}
*/}}
{{- define "status-mapper.mapping" -}}
{{ toYaml .Values.mapping }}
{{- end -}}

{{/*
status-mapper.workload: what this service adds to the shared workload (see charts/common _env.tpl):
its commands, OIDC and polling settings, the sources and mapping ConfigMap (part of
checksum/config, so editing them rolls the pods), the optional Statuspage webhook token and its
public paths.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "status-mapper.workload") | fromYaml }}
*/}}
{{- define "status-mapper.workload" -}}
{{- $oidc := .Values.oidc -}}
{{- if not $oidc.issuer -}}
{{- fail "oidc.issuer is required: the https URL of your OpenID Connect issuer (see docs/deploy.md)" -}}
{{- end -}}
{{- if not $oidc.audience -}}
{{- fail "oidc.audience is required: the audience your issuer puts in access tokens for this API" -}}
{{- end -}}
command: [node, --import, tsx, src/main.ts]
migrationCommand: [node, --import, tsx, src/migrate.ts]
env:
  - name: STATUS_SOURCES_FILE
    value: {{ printf "%s/sources.yml" (include "status-mapper.configDir" .) | quote }}
  - name: STATUS_MAPPING_FILE
    value: {{ printf "%s/mapping.yml" (include "status-mapper.configDir" .) | quote }}
  - name: POLL_TIMEOUT_MS
    value: {{ .Values.polling.timeoutMs | quote }}
  - name: POLL_CONCURRENCY
    value: {{ .Values.polling.concurrency | quote }}
  - name: POLL_STALE_AFTER_FAILURES
    value: {{ .Values.polling.staleAfterFailures | quote }}
  - name: POLL_MAX_BACKOFF_SECONDS
    value: {{ .Values.polling.maxBackoffSeconds | quote }}
  - name: OIDC_ISSUER
    value: {{ $oidc.issuer | quote }}
    param: oidc.issuer
  - name: OIDC_AUDIENCE
    value: {{ $oidc.audience | quote }}
    param: oidc.audience
  - name: OIDC_ROLES_CLAIM
    value: {{ $oidc.rolesClaim | quote }}
    param: oidc.rolesClaim
  {{- with $oidc.jwksUrl }}
  - name: OIDC_JWKS_URL
    value: {{ . | quote }}
    param: oidc.jwksUrl
  {{- end }}
secretFiles:
  - env: STATUSPAGE_WEBHOOK_TOKEN_FILE
    file: statuspage-webhook-token
    secret: {{ .Values.webhooks.statuspage.token | toJson }}
volumes:
  - name: config
    configMap:
      name: {{ include "common.componentName" (dict "context" . "suffix" "config") }}
volumeMounts:
  - name: config
    mountPath: {{ include "status-mapper.configDir" . }}
    readOnly: true
config: {{ printf "%s\n---\n%s" (include "status-mapper.sources" .) (include "status-mapper.mapping" .) | quote }}
# What the Ingress routes: the API and the Statuspage webhook (providers must reach it). Never /,
# /metrics, /health or /openapi.json: they stay inside the cluster (MO-K8S-013).
ingressPaths:
  - { path: /status, pathType: Prefix }
{{- end -}}
