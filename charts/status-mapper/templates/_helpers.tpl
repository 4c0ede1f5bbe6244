{{/*
status-mapper.workload: what this service adds to the shared workload (see charts/common _env.tpl):
its commands and its OIDC settings.
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
secretFiles: []
{{- end -}}
