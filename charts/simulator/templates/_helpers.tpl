{{/*
simulator.workload: what this service adds to the shared workload (see charts/common _env.tpl):
its commands, its OIDC, run and safety settings, its targets with their secret files, and its
public paths.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "simulator.workload") | fromYaml }}
*/}}
{{- define "simulator.workload" -}}
{{- $oidc := .Values.oidc -}}
{{- $safety := .Values.safety -}}
{{- $t := .Values.targets -}}
{{- if not $oidc.issuer -}}
{{- fail "oidc.issuer is required: the https URL of your OpenID Connect issuer (see docs/deploy.md)" -}}
{{- end -}}
{{- if not $oidc.audience -}}
{{- fail "oidc.audience is required: the audience your issuer puts in access tokens for this API" -}}
{{- end -}}
{{- if and (not $safety.mfa.amrValues) (not $safety.mfa.acrValues) -}}
{{- fail "safety.mfa: list amrValues, acrValues or both: approvals need multi-factor evidence" -}}
{{- end -}}
{{- if and $t.alertmanager.basicAuth.existingSecret $t.alertmanager.bearerToken.existingSecret -}}
{{- fail "targets.alertmanager: set basicAuth or bearerToken, not both" -}}
{{- end -}}
{{- if $t.ingest.url -}}
{{- if and (eq $t.ingest.format "alertmanager") (not $t.ingest.alertmanagerBasicAuth.existingSecret) (not $t.ingest.alertmanagerToken.existingSecret) -}}
{{- fail "targets.ingest: format alertmanager needs alertmanagerBasicAuth or alertmanagerToken (webhook-ingest's Alertmanager credential)" -}}
{{- end -}}
{{- if and (eq $t.ingest.format "pagerduty") (not $t.ingest.pagerdutySecret.existingSecret) -}}
{{- fail "targets.ingest: format pagerduty needs pagerdutySecret (one of webhook-ingest's PagerDuty webhook secrets)" -}}
{{- end -}}
{{- end -}}
command: [node, dist/main.mjs]
migrationCommand: [node, dist/migrate.mjs]
env:
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
  - name: RUN_DEFAULT_MAX_DURATION_MINUTES
    value: {{ .Values.runs.defaultMaxDurationMinutes | quote }}
    param: runs.defaultMaxDurationMinutes
  - name: APPROVAL_TIMEOUT_MINUTES
    value: {{ .Values.runs.approvalTimeoutMinutes | quote }}
    param: runs.approvalTimeoutMinutes
  - name: PRODUCTION_DRILLS_ALLOWED
    value: {{ $safety.productionDrillsAllowed | toString | quote }}
    param: safety.productionDrillsAllowed
  - name: APPROVAL_SEVERITY_THRESHOLD
    value: {{ $safety.approvalSeverityThreshold | quote }}
    param: safety.approvalSeverityThreshold
  - name: APPROVAL_MFA_AMR_VALUES
    value: {{ join "," $safety.mfa.amrValues | quote }}
    param: safety.mfa.amrValues
  - name: APPROVAL_MFA_ACR_VALUES
    value: {{ join "," $safety.mfa.acrValues | quote }}
    param: safety.mfa.acrValues
  - name: APPROVAL_MAX_AUTH_AGE_SECONDS
    value: {{ $safety.mfa.maxAuthAgeSeconds | quote }}
    param: safety.mfa.maxAuthAgeSeconds
  - name: PAGERDUTY_EVENTS_URL
    value: {{ $t.pagerduty.eventsUrl | quote }}
    param: targets.pagerduty.eventsUrl
  {{- with $t.alertmanager.url }}
  - name: ALERTMANAGER_URL
    value: {{ . | quote }}
    param: targets.alertmanager.url
  {{- end }}
  {{- with $t.alertmanager.productionUrl }}
  - name: ALERTMANAGER_PRODUCTION_URL
    value: {{ . | quote }}
    param: targets.alertmanager.productionUrl
  {{- end }}
  - name: ALERTMANAGER_RESEND_SECONDS
    value: {{ $t.alertmanager.resendSeconds | quote }}
    param: targets.alertmanager.resendSeconds
  {{- with $t.ingest.url }}
  - name: INGEST_URL
    value: {{ . | quote }}
    param: targets.ingest.url
  {{- end }}
  - name: INGEST_FORMAT
    value: {{ $t.ingest.format | quote }}
    param: targets.ingest.format
  - name: TARGET_TIMEOUT_MS
    value: {{ $t.timeoutMs | quote }}
    param: targets.timeoutMs
  - name: TARGET_RETRIES
    value: {{ $t.retries | quote }}
    param: targets.retries
secretFiles:
  - env: PAGERDUTY_ROUTING_KEY_FILE
    file: pagerduty-routing-key
    secret: {{ $t.pagerduty.routingKey | toJson }}
    param: targets.pagerduty.routingKey
  - env: PAGERDUTY_PRODUCTION_ROUTING_KEY_FILE
    file: pagerduty-production-routing-key
    secret: {{ $t.pagerduty.productionRoutingKey | toJson }}
    param: targets.pagerduty.productionRoutingKey
  - env: ALERTMANAGER_BASIC_AUTH_FILE
    file: alertmanager-basic-auth
    secret: {{ $t.alertmanager.basicAuth | toJson }}
    param: targets.alertmanager.basicAuth
  - env: ALERTMANAGER_BEARER_TOKEN_FILE
    file: alertmanager-bearer-token
    secret: {{ $t.alertmanager.bearerToken | toJson }}
    param: targets.alertmanager.bearerToken
  - env: INGEST_ALERTMANAGER_BASIC_AUTH_FILE
    file: ingest-alertmanager-basic-auth
    secret: {{ $t.ingest.alertmanagerBasicAuth | toJson }}
    param: targets.ingest.alertmanagerBasicAuth
  - env: INGEST_ALERTMANAGER_TOKEN_FILE
    file: ingest-alertmanager-token
    secret: {{ $t.ingest.alertmanagerToken | toJson }}
    param: targets.ingest.alertmanagerToken
  - env: INGEST_PAGERDUTY_SECRET_FILE
    file: ingest-pagerduty-secret
    secret: {{ $t.ingest.pagerdutySecret | toJson }}
    param: targets.ingest.pagerdutySecret
# What the Ingress routes: every API route lives under /drills. Never /, /metrics, /health or
# /openapi.json: they stay inside the cluster (MO-K8S-013).
ingressPaths:
  - { path: /drills, pathType: Prefix }
{{- end -}}
