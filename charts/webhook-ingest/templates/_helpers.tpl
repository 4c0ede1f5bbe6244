{{/*
webhook-ingest.workload: what this service adds to the shared workload (see charts/common
_env.tpl): its commands, its settings, its secret files and its public paths. Optional provider
secrets whose existingSecret is empty are left out; the service switches off the endpoint of a
provider with no credential (404), so nothing is accepted unauthenticated.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "webhook-ingest.workload") | fromYaml }}
*/}}
{{- define "webhook-ingest.workload" -}}
{{- /* V8's heap bounds (node.*): collect early instead of growing to the container's limit. */}}
command:
  - node
  {{- with .Values.node.maxOldSpaceSizeMb }}
  - --max-old-space-size={{ . | int64 }}
  {{- end }}
  {{- with .Values.node.maxSemiSpaceSizeMb }}
  - --max-semi-space-size={{ . | int64 }}
  {{- end }}
  - dist/main.mjs
migrationCommand: [node, dist/migrate.mjs]
env:
  - name: WORKER_PROCESSES
    value: {{ .Values.node.workerProcesses | int64 | quote }}
    param: node.workerProcesses
  - name: WORKER_MAX_WAIT_MS
    value: {{ .Values.node.workerMaxWaitMs | int64 | quote }}
    param: node.workerMaxWaitMs
  - name: WEBHOOK_BODY_LIMIT_BYTES
    value: {{ .Values.webhooks.bodyLimitBytes | int64 | quote }}
    param: webhooks.bodyLimitBytes
  - name: WEBHOOK_RATE_LIMIT_PER_MINUTE
    value: {{ .Values.webhooks.rateLimitPerMinute | int64 | quote }}
    param: webhooks.rateLimitPerMinute
  - name: DEDUP_RETENTION_HOURS
    value: {{ .Values.webhooks.dedupRetentionHours | int64 | quote }}
    param: webhooks.dedupRetentionHours
  - name: WEBHOOK_AUTH_FAILURES_PER_MINUTE
    value: {{ .Values.webhooks.authFailuresPerMinute | int64 | quote }}
    param: webhooks.authFailuresPerMinute
  - name: WEBHOOK_MAX_IN_FLIGHT
    value: {{ .Values.webhooks.maxInFlight | int64 | quote }}
    param: webhooks.maxInFlight
  - name: WEBHOOK_MAX_IN_FLIGHT_BYTES
    value: {{ .Values.webhooks.maxInFlightBytes | int64 | quote }}
    param: webhooks.maxInFlightBytes
  - name: WEBHOOK_MAX_EVENT_LOOP_DELAY_MS
    value: {{ .Values.webhooks.maxEventLoopDelayMs | int64 | quote }}
    param: webhooks.maxEventLoopDelayMs
  - name: WEBHOOK_SHED_AT_LOOP_UTILISATION
    value: {{ .Values.webhooks.shedAtLoopUtilisation | quote }}
    param: webhooks.shedAtLoopUtilisation
  - name: IGNORED_EVENTS_RETENTION_HOURS
    value: {{ .Values.webhooks.ignoredRetentionHours | int64 | quote }}
    param: webhooks.ignoredRetentionHours
secretFiles:
  - env: PAGERDUTY_WEBHOOK_SECRETS_FILE
    file: pagerduty-webhook-secrets
    secret: {{ .Values.webhooks.pagerduty.signingSecrets | toJson }}
    param: webhooks.pagerduty.signingSecrets
  - env: OPSGENIE_WEBHOOK_TOKEN_FILE
    file: opsgenie-webhook-token
    secret: {{ .Values.webhooks.opsgenie.token | toJson }}
    param: webhooks.opsgenie.token
  - env: OPSGENIE_WEBHOOK_BASIC_AUTH_FILE
    file: opsgenie-webhook-basic-auth
    secret: {{ .Values.webhooks.opsgenie.basicAuth | toJson }}
    param: webhooks.opsgenie.basicAuth
  - env: ALERTMANAGER_WEBHOOK_TOKEN_FILE
    file: alertmanager-webhook-token
    secret: {{ .Values.webhooks.alertmanager.token | toJson }}
    param: webhooks.alertmanager.token
  - env: ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE
    file: alertmanager-webhook-basic-auth
    secret: {{ .Values.webhooks.alertmanager.basicAuth | toJson }}
    param: webhooks.alertmanager.basicAuth
# The provider endpoints (src/routes/webhooks.ts). Nothing else is routed: /metrics, /health/*
# and /openapi.json stay inside the cluster.
ingressPaths:
  - { path: /v1/webhooks, pathType: Prefix }
{{- end -}}
