{{/*
webhook-ingest.workload: what this service adds to the shared workload (see charts/common
_env.tpl): its commands, its settings and its secret files. Optional provider secrets whose
existingSecret is empty are left out; the service switches off the endpoint of a provider
with no credential (404), so nothing is accepted unauthenticated.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "webhook-ingest.workload") | fromYaml }}
*/}}
{{- define "webhook-ingest.workload" -}}
command: [node, --import, tsx, src/main.ts]
migrationCommand: [node, --import, tsx, src/migrate.ts]
env:
  - name: WEBHOOK_BODY_LIMIT_BYTES
    value: {{ .Values.webhooks.bodyLimitBytes | int64 | quote }}
  - name: WEBHOOK_RATE_LIMIT_PER_MINUTE
    value: {{ .Values.webhooks.rateLimitPerMinute | int64 | quote }}
  - name: DEDUP_RETENTION_HOURS
    value: {{ .Values.webhooks.dedupRetentionHours | int64 | quote }}
secretFiles:
  - env: PAGERDUTY_WEBHOOK_SECRETS_FILE
    file: pagerduty-webhook-secrets
    secret: {{ .Values.webhooks.pagerduty.signingSecrets | toJson }}
  - env: OPSGENIE_WEBHOOK_TOKEN_FILE
    file: opsgenie-webhook-token
    secret: {{ .Values.webhooks.opsgenie.token | toJson }}
  - env: OPSGENIE_WEBHOOK_BASIC_AUTH_FILE
    file: opsgenie-webhook-basic-auth
    secret: {{ .Values.webhooks.opsgenie.basicAuth | toJson }}
  - env: ALERTMANAGER_WEBHOOK_TOKEN_FILE
    file: alertmanager-webhook-token
    secret: {{ .Values.webhooks.alertmanager.token | toJson }}
  - env: ALERTMANAGER_WEBHOOK_BASIC_AUTH_FILE
    file: alertmanager-webhook-basic-auth
    secret: {{ .Values.webhooks.alertmanager.basicAuth | toJson }}
{{- end -}}
