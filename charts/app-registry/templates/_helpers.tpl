{{/*
app-registry.policyDir: where the policy ConfigMap is mounted in the OPA sidecar.
Usage: {{ include "app-registry.policyDir" . }}
*/}}
{{- define "app-registry.policyDir" -}}
/policies
{{- end -}}

{{/*
app-registry.policies: the Rego files OPA serves, as a map from file name to text: the shipped
policies/app-registry (files/policies links to it; tests left out), then policy.files, which
replace a shipped file of the same name or add one.
Usage: {{- $policies := include "app-registry.policies" . | fromYaml }}
*/}}
{{- define "app-registry.policies" -}}
{{- $files := dict -}}
{{- range $path, $_ := .Files.Glob "files/policies/*.rego" -}}
{{- $name := base $path -}}
{{- if not (hasSuffix "_test.rego" $name) -}}
{{- $_ := set $files $name ($.Files.Get $path) -}}
{{- end -}}
{{- end -}}
{{- range $name, $text := .Values.policy.files -}}
{{- if not (hasSuffix ".rego" $name) -}}
{{- fail (printf "policy.files.%s: name Rego files *.rego" $name) -}}
{{- end -}}
{{- $_ := set $files $name $text -}}
{{- end -}}
{{- if not (hasKey $files "decision.rego") -}}
{{- fail "the app-registry policies are missing (files/policies must link to policies/app-registry)" -}}
{{- end -}}
{{- toYaml $files -}}
{{- end -}}

{{/*
app-registry.opaImage: the OPA image reference (global.imageRegistry replaces the registry; a
digest wins over the tag).
Usage: {{ include "app-registry.opaImage" . }}
*/}}
{{- define "app-registry.opaImage" -}}
{{- $image := .Values.policy.opa.image -}}
{{- $registry := .Values.global.imageRegistry | default $image.registry -}}
{{- if $image.digest -}}
{{- printf "%s/%s@%s" $registry $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s/%s:%s" $registry $image.repository $image.tag -}}
{{- end -}}
{{- end -}}

{{/*
app-registry.workload: what this service adds to the shared workload (see charts/common _env.tpl):
its commands, OIDC, policy, lifecycle, notice (Slack, webhook, email), evidence-age and metric settings, their secrets, the
OPA sidecar that evaluates the policies (its REST API on localhost only, the policies from a
ConfigMap that is part of checksum/config, so a policy change rolls the pods), and its public paths.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "app-registry.workload") | fromYaml }}
*/}}
{{- define "app-registry.workload" -}}
{{- $oidc := .Values.oidc -}}
{{- $opa := .Values.policy.opa -}}
{{- $lifecycle := .Values.lifecycle -}}
{{- if not $oidc.issuer -}}
{{- fail "oidc.issuer is required: the https URL of your OpenID Connect issuer (see docs/deploy.md)" -}}
{{- end -}}
{{- if and .Values.notifications.webhook.url.existingSecret (not .Values.notifications.webhook.signingSecret.existingSecret) -}}
{{- fail "notifications.webhook.signingSecret.existingSecret is required with notifications.webhook.url: every notice is signed" -}}
{{- end -}}
{{- if and .Values.notifications.email.smtpHost (not .Values.notifications.email.from) -}}
{{- fail "notifications.email.from is required with notifications.email.smtpHost" -}}
{{- end -}}
{{- if not $oidc.audience -}}
{{- fail "oidc.audience is required: the audience your issuer puts in access tokens for this API" -}}
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
  - name: OPA_URL
    value: {{ printf "http://127.0.0.1:%d" (int $opa.port) | quote }}
    param: policy.opa.port
  - name: OPA_TIMEOUT_MS
    value: {{ $opa.timeoutMs | quote }}
    param: policy.opa.timeoutMs
  - name: IDLE_AFTER_DAYS_LOW
    value: {{ $lifecycle.idleAfterDays.low | quote }}
    param: lifecycle.idleAfterDays.low
  - name: IDLE_AFTER_DAYS_MEDIUM
    value: {{ $lifecycle.idleAfterDays.medium | quote }}
    param: lifecycle.idleAfterDays.medium
  - name: IDLE_AFTER_DAYS_HIGH
    value: {{ $lifecycle.idleAfterDays.high | quote }}
    param: lifecycle.idleAfterDays.high
  - name: DISABLE_AFTER_IDLE_DAYS
    value: {{ $lifecycle.disableAfterIdleDays | quote }}
    param: lifecycle.disableAfterIdleDays
  - name: ARCHIVE_AFTER_DISABLED_DAYS
    value: {{ $lifecycle.archiveAfterDisabledDays | quote }}
    param: lifecycle.archiveAfterDisabledDays
  - name: RESTORE_WINDOW_DAYS
    value: {{ $lifecycle.restoreWindowDays | quote }}
    param: lifecycle.restoreWindowDays
  - name: PURGE_WARNING_DAYS
    value: {{ $lifecycle.purgeWarningDays | quote }}
    param: lifecycle.purgeWarningDays
  - name: EXCEPTION_MAX_DAYS
    value: {{ $lifecycle.exceptionMaxDays | quote }}
    param: lifecycle.exceptionMaxDays
  - name: LIFECYCLE_CRON
    value: {{ $lifecycle.schedule | quote }}
    param: lifecycle.schedule
  - name: DISCOVERY_CRON
    value: {{ .Values.discovery.schedule | quote }}
    param: discovery.schedule
  {{- if .Values.discovery.sources.existingClaim }}
  - name: DISCOVERY_DIR
    value: /var/lib/app-registry/discovery
    param: discovery.sources.existingClaim
  {{- end }}
  - name: DISCOVERY_STREAM_ENABLED
    value: {{ .Values.discovery.stream.enabled | quote }}
    param: discovery.stream.enabled
  {{- $idp := .Values.discovery.identityProviders }}
  {{- with $idp.okta.url }}
  - name: DISCOVERY_OKTA_URL
    value: {{ . | quote }}
    param: discovery.identityProviders.okta.url
  {{- end }}
  {{- if $idp.entra.tenantId }}
  - name: DISCOVERY_ENTRA_TENANT_ID
    value: {{ $idp.entra.tenantId | quote }}
    param: discovery.identityProviders.entra.tenantId
  {{- end }}
  {{- with $idp.entra.clientId }}
  - name: DISCOVERY_ENTRA_CLIENT_ID
    value: {{ . | quote }}
    param: discovery.identityProviders.entra.clientId
  {{- end }}
  {{- with $idp.entra.graphUrl }}
  - name: DISCOVERY_ENTRA_GRAPH_URL
    value: {{ . | quote }}
    param: discovery.identityProviders.entra.graphUrl
  {{- end }}
  {{- with $idp.entra.authorityUrl }}
  - name: DISCOVERY_ENTRA_AUTHORITY_URL
    value: {{ . | quote }}
    param: discovery.identityProviders.entra.authorityUrl
  {{- end }}
  {{- with $idp.google.adminSubject }}
  - name: DISCOVERY_GOOGLE_ADMIN_SUBJECT
    value: {{ . | quote }}
    param: discovery.identityProviders.google.adminSubject
  {{- end }}
  {{- with $idp.google.userKeys }}
  - name: DISCOVERY_GOOGLE_USER_KEYS
    value: {{ join "," . | quote }}
    param: discovery.identityProviders.google.userKeys
  {{- end }}
  {{- with $idp.google.url }}
  - name: DISCOVERY_GOOGLE_URL
    value: {{ . | quote }}
    param: discovery.identityProviders.google.url
  {{- end }}
  {{- with $idp.github.orgs }}
  - name: DISCOVERY_GITHUB_ORGS
    value: {{ join "," . | quote }}
    param: discovery.identityProviders.github.orgs
  {{- end }}
  {{- with $idp.github.apiUrl }}
  - name: DISCOVERY_GITHUB_API_URL
    value: {{ . | quote }}
    param: discovery.identityProviders.github.apiUrl
  {{- end }}
  {{- with .Values.notifications.publicUrl }}
  - name: PUBLIC_URL
    value: {{ . | quote }}
    param: notifications.publicUrl
  {{- end }}
  {{- $email := .Values.notifications.email }}
  {{- if $email.smtpHost }}
  - name: SMTP_HOST
    value: {{ $email.smtpHost | quote }}
    param: notifications.email.smtpHost
  - name: SMTP_PORT
    value: {{ $email.smtpPort | quote }}
    param: notifications.email.smtpPort
  - name: SMTP_TLS
    value: {{ $email.tls | quote }}
    param: notifications.email.tls
  - name: NOTICE_EMAIL_FROM
    value: {{ $email.from | quote }}
    param: notifications.email.from
  {{- with $email.fallbackTo }}
  - name: NOTICE_EMAIL_FALLBACK_TO
    value: {{ . | quote }}
    param: notifications.email.fallbackTo
  {{- end }}
  {{- with $email.username }}
  - name: SMTP_USER
    value: {{ . | quote }}
    param: notifications.email.username
  {{- end }}
  {{- end }}
  - name: NOTICE_RETRY_FIRST_SECONDS
    value: {{ .Values.notifications.retryFirstSeconds | quote }}
    param: notifications.retryFirstSeconds
  {{- $ages := .Values.evidenceMaxAgeDays }}
  - name: EVIDENCE_MAX_AGE_DAYS
    value: {{ printf "sbom=%d,secret_scan=%d,dependency_scan=%d,sso=%d" (int $ages.sbom) (int $ages.secretScan) (int $ages.dependencyScan) (int $ages.sso) | quote }}
    param: evidenceMaxAgeDays
  - name: APP_INFO_METRIC
    value: {{ .Values.appInfo.enabled | quote }}
    param: appInfo.enabled
  - name: APP_INFO_REFRESH_SECONDS
    value: {{ .Values.appInfo.refreshSeconds | quote }}
    param: appInfo.refreshSeconds
  {{- $cost := .Values.cost }}
  - name: COST_APP_TAGS
    value: {{ join "," $cost.appTagKeys | quote }}
    param: cost.appTagKeys
  - name: COST_IMPORT_MAX_MB
    value: {{ $cost.importMaxMb | quote }}
    param: cost.importMaxMb
  - name: COST_IMPORT_MEMORY_ROWS
    value: {{ $cost.importMemoryRows | int | quote }}
    param: cost.importMemoryRows
  - name: COST_REPORT_CRON
    value: {{ $cost.reportSchedule | quote }}
    param: cost.reportSchedule
  - name: COST_ANOMALY_WINDOW_DAYS
    value: {{ $cost.anomaly.windowDays | quote }}
    param: cost.anomaly.windowDays
  - name: COST_ANOMALY_MIN_HISTORY_DAYS
    value: {{ $cost.anomaly.minHistoryDays | quote }}
    param: cost.anomaly.minHistoryDays
  - name: COST_ANOMALY_THRESHOLD
    value: {{ $cost.anomaly.threshold | quote }}
    param: cost.anomaly.threshold
  - name: COST_ANOMALY_MIN_INCREASE
    value: {{ $cost.anomaly.minIncrease | quote }}
    param: cost.anomaly.minIncrease
secretFiles:
  - env: SLACK_WEBHOOK_URL_FILE
    file: slack-webhook-url
    secret: {{ .Values.notifications.slack.webhookUrl | toJson }}
    param: notifications.slack.webhookUrl
  - env: NOTICE_WEBHOOK_URL_FILE
    file: notice-webhook-url
    secret: {{ .Values.notifications.webhook.url | toJson }}
    param: notifications.webhook.url
  - env: NOTICE_WEBHOOK_SECRET_FILE
    file: notice-webhook-secret
    secret: {{ .Values.notifications.webhook.signingSecret | toJson }}
    param: notifications.webhook.signingSecret
  - env: SMTP_PASSWORD_FILE
    file: smtp-password
    secret: {{ .Values.notifications.email.password | toJson }}
    param: notifications.email.password
  - env: DISCOVERY_OKTA_TOKEN_FILE
    file: discovery-okta-token
    secret: {{ .Values.discovery.identityProviders.okta.token | toJson }}
    param: discovery.identityProviders.okta.token
  - env: DISCOVERY_ENTRA_CLIENT_SECRET_FILE
    file: discovery-entra-client-secret
    secret: {{ .Values.discovery.identityProviders.entra.clientSecret | toJson }}
    param: discovery.identityProviders.entra.clientSecret
  - env: DISCOVERY_GOOGLE_SERVICE_ACCOUNT_KEY_FILE
    file: discovery-google-service-account-key
    secret: {{ .Values.discovery.identityProviders.google.serviceAccountKey | toJson }}
    param: discovery.identityProviders.google.serviceAccountKey
  - env: DISCOVERY_GITHUB_TOKEN_FILE
    file: discovery-github-token
    secret: {{ .Values.discovery.identityProviders.github.token | toJson }}
    param: discovery.identityProviders.github.token
volumes:
  - name: policies
    configMap:
      name: {{ include "common.componentName" (dict "context" . "suffix" "policies") }}
  {{- with .Values.discovery.sources.existingClaim }}
  - name: discovery-sources
    persistentVolumeClaim:
      claimName: {{ . | quote }}
      readOnly: true
volumeMounts:
  - name: discovery-sources
    mountPath: /var/lib/app-registry/discovery
    readOnly: true
  {{- end }}
config: {{ include "app-registry.policies" . | quote }}
sidecars:
  - name: opa
    image: {{ include "app-registry.opaImage" . | quote }}
    imagePullPolicy: {{ .Values.image.pullPolicy }}
    args:
      - run
      - --server
      # The REST API (decisions, and policy management) on localhost only: the service beside it.
      - {{ printf "--addr=127.0.0.1:%d" (int $opa.port) | quote }}
      - {{ printf "--diagnostic-addr=0.0.0.0:%d" (int $opa.diagnosticPort) | quote }}
      - --disable-telemetry
      - {{ printf "--log-level=%s" $opa.logLevel | quote }}
      # A ConfigMap mount holds ..data and timestamped folders: read the files once.
      - --ignore=.*
      - {{ include "app-registry.policyDir" . | quote }}
    ports:
      - name: opa-diag
        containerPort: {{ $opa.diagnosticPort }}
        protocol: TCP
    startupProbe:
      httpGet:
        path: /health
        port: opa-diag
      periodSeconds: 1
      failureThreshold: 30
    livenessProbe:
      httpGet:
        path: /health
        port: opa-diag
      periodSeconds: 10
      timeoutSeconds: 2
      failureThreshold: 3
    readinessProbe:
      httpGet:
        path: /health
        port: opa-diag
      periodSeconds: 5
      timeoutSeconds: 2
      failureThreshold: 2
    resources:
      {{- toYaml $opa.resources | nindent 6 }}
    securityContext:
      {{- include "common.containerSecurityContext" . | nindent 6 }}
    volumeMounts:
      - name: policies
        mountPath: {{ include "app-registry.policyDir" . }}
        readOnly: true
# What the Ingress routes: every route of the service lives under /apps. Never /, /metrics,
# /health or /openapi.json: they stay inside the cluster (MO-K8S-013).
ingressPaths:
  - { path: /apps, pathType: Prefix }
{{- end -}}
