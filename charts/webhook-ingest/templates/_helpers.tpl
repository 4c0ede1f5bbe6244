{{/*
webhook-ingest.workload: what this service adds to the shared workload (see charts/common
_env.tpl): its commands, its settings and its secret files. Optional provider secrets whose
existingSecret is empty are left out, and the service then rejects that provider's webhooks.
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
secretFiles:
  - env: PAGERDUTY_WEBHOOK_SECRETS_FILE
    file: pagerduty-webhook-secrets
    secret: {{ .Values.webhooks.pagerduty | toJson }}
  - env: OPSGENIE_WEBHOOK_TOKEN_FILE
    file: opsgenie-webhook-token
    secret: {{ .Values.webhooks.opsgenie | toJson }}
  - env: ALERTMANAGER_WEBHOOK_TOKEN_FILE
    file: alertmanager-webhook-token
    secret: {{ .Values.webhooks.alertmanager | toJson }}
{{- end -}}
