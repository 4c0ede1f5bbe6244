{{/*
escalation.catalogueDir: where the service catalogue ConfigMap is mounted.
Usage: {{ include "escalation.catalogueDir" . }}
*/}}
{{- define "escalation.catalogueDir" -}}
/etc/micro-oncall/catalogue
{{- end -}}

{{/*
escalation.catalogue: the services.yml document rendered from .Values.catalogue.
Usage: {{ include "escalation.catalogue" . }}
*/}}
{{- define "escalation.catalogue" -}}
{{ toYaml .Values.catalogue }}
{{- end -}}

{{/*
escalation.workload: what this service adds to the shared workload (see charts/common
_env.tpl): its commands, public URL, OIDC and provider settings, its secret files (the session
key is required, provider credentials are optional), its public paths and the catalogue
ConfigMap. The catalogue's content is part of checksum/config, so editing it rolls the pods.
The checks below are the ones the service makes in production (services/escalation/src/env.ts),
made at install time instead of in a crash-looping pod.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "escalation.workload") | fromYaml }}
*/}}
{{- define "escalation.workload" -}}
{{- $oidc := .Values.oidc -}}
{{- if not .Values.publicUrl -}}
{{- fail "publicUrl is required: the https address responders open, e.g. https://oncall.example.com (PUBLIC_URL: sign-in redirects to <publicUrl>/auth/callback and Slack notices link to it; see docs/deploy.md)" -}}
{{- end -}}
{{- if not (regexMatch "^https://[^\\s/?#]+$" .Values.publicUrl) -}}
{{- fail (printf "publicUrl must be an https origin without a path or trailing slash, e.g. https://oncall.example.com (got %q)" .Values.publicUrl) -}}
{{- end -}}
{{- if not $oidc.issuer -}}
{{- fail "oidc.issuer is required: the https URL of your OpenID Connect issuer (see docs/deploy.md)" -}}
{{- end -}}
{{- if not $oidc.audience -}}
{{- fail "oidc.audience is required: the audience your issuer puts in access tokens for the responder UI and API" -}}
{{- end -}}
{{- if not .Values.session.existingSecret -}}
{{- fail "session.existingSecret is required: name the Secret holding the session signing key (see docs/deploy.md)" -}}
{{- end -}}
{{- if and .Values.providers.alertmanager.basicAuth.existingSecret .Values.providers.alertmanager.bearerToken.existingSecret -}}
{{- fail "providers.alertmanager: give either basicAuth or bearerToken, not both" -}}
{{- end -}}
{{- if and .Values.providers.pagerduty.apiToken.existingSecret (not .Values.providers.pagerduty.fromEmail) -}}
{{- fail "providers.pagerduty.fromEmail is required with providers.pagerduty.apiToken: the e-mail of the PagerDuty user that actions are made as when the responder's own address is not known" -}}
{{- end -}}
command: [node, dist/main.mjs]
migrationCommand: [node, dist/migrate.mjs]
env:
  - name: PUBLIC_URL
    value: {{ .Values.publicUrl | quote }}
    param: publicUrl
  - name: SERVICE_CATALOGUE_FILE
    value: {{ printf "%s/services.yml" (include "escalation.catalogueDir" .) | quote }}
    param: catalogue
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
  {{- with $oidc.roleMap }}
  - name: OIDC_ROLE_MAP
    value: {{ join "," . | quote }}
    param: oidc.roleMap
  {{- end }}
  - name: GROUPING_WINDOW_SECONDS
    value: {{ .Values.grouping.windowSeconds | quote }}
    param: grouping.windowSeconds
  - name: GROUPING_BY_ALERTNAME
    value: {{ .Values.grouping.byAlertname | quote }}
    param: grouping.byAlertname
  {{- with .Values.providers.pagerduty.fromEmail }}
  - name: PAGERDUTY_FROM_EMAIL
    value: {{ . | quote }}
    param: providers.pagerduty.fromEmail
  {{- end }}
  {{- with .Values.providers.opsgenie.onCallSchedule }}
  - name: OPSGENIE_ONCALL_SCHEDULE
    value: {{ . | quote }}
    param: providers.opsgenie.onCallSchedule
  {{- end }}
  {{- with .Values.providers.alertmanager.url }}
  - name: ALERTMANAGER_URL
    value: {{ . | quote }}
    param: providers.alertmanager.url
  - name: ALERTMANAGER_SILENCE_MINUTES
    value: {{ $.Values.providers.alertmanager.silenceMinutes | quote }}
    param: providers.alertmanager.silenceMinutes
  - name: ALERTMANAGER_RESTART_GRACE_SECONDS
    value: {{ $.Values.providers.alertmanager.restartGraceSeconds | quote }}
    param: providers.alertmanager.restartGraceSeconds
  {{- end }}
secretFiles:
  - env: SESSION_SECRET_FILE
    file: session-secret
    secret: {{ .Values.session | toJson }}
    param: session
  - env: PAGERDUTY_API_TOKEN_FILE
    file: pagerduty-api-token
    secret: {{ .Values.providers.pagerduty.apiToken | toJson }}
    param: providers.pagerduty.apiToken
  - env: OPSGENIE_API_KEY_FILE
    file: opsgenie-api-key
    secret: {{ .Values.providers.opsgenie.apiKey | toJson }}
    param: providers.opsgenie.apiKey
  - env: ALERTMANAGER_BASIC_AUTH_FILE
    file: alertmanager-basic-auth
    secret: {{ .Values.providers.alertmanager.basicAuth | toJson }}
    param: providers.alertmanager.basicAuth
  - env: ALERTMANAGER_BEARER_TOKEN_FILE
    file: alertmanager-bearer-token
    secret: {{ .Values.providers.alertmanager.bearerToken | toJson }}
    param: providers.alertmanager.bearerToken
  - env: SLACK_WEBHOOK_URL_FILE
    file: slack-webhook-url
    secret: {{ .Values.providers.slack.webhookUrl | toJson }}
    param: providers.slack.webhookUrl
# The paths of the responder UI, its sign-in and the API (src/app.ts). Nothing else is routed:
# /metrics, /health/* and /openapi.json stay inside the cluster.
ingressPaths:
  - { path: /, pathType: Exact }
  - { path: /incidents, pathType: Prefix }
  - { path: /audit, pathType: Exact }
  - { path: /figures, pathType: Exact }
  - { path: /ui, pathType: Prefix }
  - { path: /auth, pathType: Prefix }
  - { path: /v1, pathType: Prefix }
volumes:
  - name: catalogue
    configMap:
      name: {{ include "common.componentName" (dict "context" . "suffix" "catalogue") }}
volumeMounts:
  - name: catalogue
    mountPath: {{ include "escalation.catalogueDir" . }}
    readOnly: true
config: {{ include "escalation.catalogue" . | quote }}
{{- end -}}
