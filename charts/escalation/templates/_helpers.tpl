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
_env.tpl): its commands, OIDC and provider settings, its secret files (the session key is
required, provider credentials are optional) and the catalogue ConfigMap. The catalogue's
content is part of checksum/config, so editing it rolls the pods.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "escalation.workload") | fromYaml }}
*/}}
{{- define "escalation.workload" -}}
{{- $oidc := .Values.oidc -}}
{{- if not $oidc.issuer -}}
{{- fail "oidc.issuer is required: the https URL of your OpenID Connect issuer (see docs/deploy.md)" -}}
{{- end -}}
{{- if not $oidc.audience -}}
{{- fail "oidc.audience is required: the audience your issuer puts in access tokens for the responder UI and API" -}}
{{- end -}}
{{- if not .Values.session.existingSecret -}}
{{- fail "session.existingSecret is required: name the Secret holding the session signing key (see docs/deploy.md)" -}}
{{- end -}}
command: [node, --import, tsx, src/main.ts]
migrationCommand: [node, --import, tsx, src/migrate.ts]
env:
  - name: SERVICE_CATALOGUE_FILE
    value: {{ printf "%s/services.yml" (include "escalation.catalogueDir" .) | quote }}
  - name: OIDC_ISSUER
    value: {{ $oidc.issuer | quote }}
  - name: OIDC_AUDIENCE
    value: {{ $oidc.audience | quote }}
  - name: OIDC_ROLES_CLAIM
    value: {{ $oidc.rolesClaim | quote }}
  {{- with $oidc.jwksUrl }}
  - name: OIDC_JWKS_URL
    value: {{ . | quote }}
  {{- end }}
  {{- with $oidc.roleMap }}
  - name: OIDC_ROLE_MAP
    value: {{ join "," . | quote }}
  {{- end }}
  {{- with .Values.providers.pagerduty.fromEmail }}
  - name: PAGERDUTY_FROM_EMAIL
    value: {{ . | quote }}
  {{- end }}
secretFiles:
  - env: SESSION_SECRET_FILE
    file: session-secret
    secret: {{ .Values.session | toJson }}
  - env: PAGERDUTY_API_TOKEN_FILE
    file: pagerduty-api-token
    secret: {{ .Values.providers.pagerduty.apiToken | toJson }}
  - env: OPSGENIE_API_KEY_FILE
    file: opsgenie-api-key
    secret: {{ .Values.providers.opsgenie.apiKey | toJson }}
  - env: SLACK_WEBHOOK_URL_FILE
    file: slack-webhook-url
    secret: {{ .Values.providers.slack.webhookUrl | toJson }}
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
