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
status-mapper.escalationUrl: escalation's API, escalation.url or the umbrella chart's escalation Service.
Usage: {{ include "status-mapper.escalationUrl" . }}
*/}}
{{- define "status-mapper.escalationUrl" -}}
{{- if .Values.escalation.url -}}
{{- .Values.escalation.url -}}
{{- else -}}
{{- /* common.fullname of the escalation chart in the same release */ -}}
{{- $fullname := ternary .Release.Name (printf "%s-escalation" .Release.Name) (contains "escalation" .Release.Name) -}}
{{- printf "http://%s" ($fullname | trunc 63 | trimSuffix "-") -}}
{{- end -}}
{{- end -}}

{{/*
status-mapper.workload: what this service adds to the shared workload (see charts/common _env.tpl):
its commands, OIDC, polling, mapping reload and escalation settings, the sources and mapping
ConfigMap (the sources are part of checksum/config, so editing them rolls the pods; the mapping is
reloaded in place), the live stream's limits, the optional Statuspage webhook token and Atom feed
token, and its public paths.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "status-mapper.workload") | fromYaml }}
*/}}
{{- define "status-mapper.workload" -}}
{{- $oidc := .Values.oidc -}}
{{- $basic := .Values.webhooks.awsHealth.basic -}}
{{- if ne (empty $basic.username) (empty $basic.password.existingSecret) -}}
{{- fail "webhooks.awsHealth.basic: set both username and password.existingSecret, or neither" -}}
{{- end -}}
{{- if not $oidc.issuer -}}
{{- fail "oidc.issuer is required: the https URL of your OpenID Connect issuer (see docs/deploy.md)" -}}
{{- end -}}
{{- if not $oidc.audience -}}
{{- fail "oidc.audience is required: the audience your issuer puts in access tokens for this API" -}}
{{- end -}}
command: [node, dist/main.mjs]
migrationCommand: [node, dist/migrate.mjs]
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
  - name: MAPPING_RELOAD_INTERVAL_MS
    value: {{ .Values.mappingReload.intervalMs | quote }}
  - name: ESCALATION_URL
    value: {{ include "status-mapper.escalationUrl" . | quote }}
    param: escalation.url
  - name: ESCALATION_TIMEOUT_MS
    value: {{ .Values.escalation.timeoutMs | quote }}
  - name: CATALOGUE_CACHE_SECONDS
    value: {{ .Values.escalation.cacheSeconds | quote }}
  - name: STATUS_STREAM_MAX_CONNECTIONS
    value: {{ .Values.stream.maxConnections | quote }}
  - name: STATUS_STREAM_CATCH_UP_MAX
    value: {{ .Values.stream.catchUpMax | quote }}
  - name: STATUS_STREAM_HEARTBEAT_SECONDS
    value: {{ .Values.stream.heartbeatSeconds | quote }}
  - name: AWS_HEALTH_WEBHOOK_AUTH_HEADER
    value: {{ .Values.webhooks.awsHealth.apiKeyHeader | quote }}
    param: webhooks.awsHealth.apiKeyHeader
  {{- with .Values.webhooks.awsHealth.basic.username }}
  - name: AWS_HEALTH_WEBHOOK_BASIC_USERNAME
    value: {{ . | quote }}
    param: webhooks.awsHealth.basic.username
  {{- end }}
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
  - env: STATUS_FEED_TOKEN_FILE
    file: status-feed-token
    secret: {{ .Values.feed.token | toJson }}
  - env: AWS_HEALTH_WEBHOOK_API_KEY_FILE
    file: aws-health-webhook-api-key
    secret: {{ .Values.webhooks.awsHealth.apiKey | toJson }}
  - env: AWS_HEALTH_WEBHOOK_BASIC_PASSWORD_FILE
    file: aws-health-webhook-basic-password
    secret: {{ .Values.webhooks.awsHealth.basic.password | toJson }}
volumes:
  - name: config
    configMap:
      name: {{ include "common.componentName" (dict "context" . "suffix" "config") }}
volumeMounts:
  - name: config
    mountPath: {{ include "status-mapper.configDir" . }}
    readOnly: true
# Only the sources roll the pods: the mapping is reloaded in place when the kubelet updates the
# mounted ConfigMap (MAPPING_RELOAD_INTERVAL_MS), without a restart.
config: {{ include "status-mapper.sources" . | quote }}
# What the Ingress routes: the API and the Statuspage webhook (providers must reach it). Never /,
# /metrics, /health or /openapi.json: they stay inside the cluster (MO-K8S-013).
ingressPaths:
  - { path: /status, pathType: Prefix }
{{- end -}}
