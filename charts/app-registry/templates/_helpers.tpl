{{/*
app-registry.workload: what this service adds to the shared workload (see charts/common _env.tpl):
its commands, its OIDC settings and its public paths.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "app-registry.workload") | fromYaml }}
*/}}
{{- define "app-registry.workload" -}}
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
secretFiles: []
# What the Ingress routes: one entry per public route prefix of src/app.ts (add yours as you add
# routes). Never /, /metrics, /health or /openapi.json: they stay inside the cluster (MO-K8S-013).
ingressPaths:
  - { path: /v1/activity, pathType: Prefix }
{{- end -}}
