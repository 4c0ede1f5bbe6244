{{/*
Configuration handed to the container: plain environment variables for settings, and secret
files for credentials. Secrets are only ever referenced (an existing Secret's name and key);
their values never pass through Helm values. Each referenced key is projected into one
read-only volume at /var/run/secrets/micro-oncall/<file> and its path is given to the service
as <NAME>_FILE, which service-kit's loadConfig reads at start-up.

A service chart describes its own settings in a "workload" map (see the service charts'
_helpers.tpl), which the defines below combine with the settings every service shares:

  command:          [node, dist/main.mjs]
  migrationCommand: [node, dist/migrate.mjs]
  env:              [{name, value, param}]          service-specific variables
  secretFiles:      [{env, file, secret: {existingSecret, key}, param}]
  ingressPaths:     [{path, pathType}]              the public paths the Ingress routes
  volumes:          [...]                           extra pod volumes (e.g. a ConfigMap)
  volumeMounts:     [...]                           and where they are mounted
  config:           "..."                           text hashed into checksum/config
  sidecars:         [...]                           complete containers run beside the service

`param` (optional) names the value a variable comes from (e.g. oidc.issuer), for messages.
*/}}

{{/*
common.ownedEnv: every variable the chart sets, as a map from its name without a `_FILE` suffix
to the value it comes from ("" when there is none to name): the shared settings below, the
database URL, and the workload's env and secret files, including optional secrets that are
switched off, and the migration settings (the database roles, MIGRATE_ON_START). extraEnv may
set none of them, under either name (the services refuse to start when both X and X_FILE are
set).
Usage: {{- $owned := include "common.ownedEnv" (dict "context" . "workload" $workload) | fromYaml }}
*/}}
{{- define "common.ownedEnv" -}}
{{- $owned := dict
  "NODE_ENV" ""
  "PORT" "containerPort"
  "LOG_LEVEL" "logLevel"
  "KAFKA_BROKERS" "kafka.brokers"
  "KAFKA_TOPIC_NAMESPACE" "kafka.topicNamespace"
  "KAFKA_CREATE_TOPICS" "kafka.createTopics"
  "DATABASE_URL" "database.existingSecret and database.key"
  "DATABASE_MIGRATION_URL" "database.migration"
  "DATABASE_RUNTIME_ROLE" "database.runtimeRole"
  "MIGRATE_ON_START" ""
-}}
{{- range (dig "env" list .workload) -}}
{{- $_ := set $owned (trimSuffix "_FILE" .name) (dig "param" "" .) -}}
{{- end -}}
{{- range (dig "secretFiles" list .workload) -}}
{{- $_ := set $owned (trimSuffix "_FILE" .env) (dig "param" "" .) -}}
{{- end -}}
{{- toYaml $owned -}}
{{- end -}}

{{/*
common.extraEnvCheck: fails when .Values.extraEnv sets a variable the chart owns. The chart
always runs the services with NODE_ENV=production: any other value switches off what
production requires (escalation: an https issuer, Secure cookies, the fixed redirect URI).
Usage: {{- include "common.extraEnvCheck" (dict "context" . "workload" $workload) }}
*/}}
{{- define "common.extraEnvCheck" -}}
{{- $owned := include "common.ownedEnv" . | fromYaml -}}
{{- range $i, $e := .context.Values.extraEnv -}}
{{- $base := trimSuffix "_FILE" $e.name -}}
{{- if eq $base "NODE_ENV" -}}
{{- fail (printf "extraEnv[%d] sets %s: the chart runs the services with NODE_ENV=production and it cannot be overridden, because any other value switches off production safeguards (e.g. escalation's https-only issuer, Secure cookies and fixed sign-in redirect URI)" $i $e.name) -}}
{{- else if hasKey $owned $base -}}
{{- $from := get $owned $base -}}
{{- fail (printf "extraEnv[%d] sets %s, which the chart sets itself%s; remove it from extraEnv%s" $i $e.name (ternary (printf " from %s" $from) "" (ne $from "")) (ternary (printf " and set %s instead" $from) "" (ne $from ""))) -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.secretDir: where secret files are mounted.
Usage: {{ include "common.secretDir" . }}
*/}}
{{- define "common.secretDir" -}}
/var/run/secrets/micro-oncall
{{- end -}}

{{/*
common.kafkaBrokers: .Values.kafka.brokers, or global.kafka.brokers, as a comma-separated list.
Usage: {{ include "common.kafkaBrokers" . }}
*/}}
{{- define "common.kafkaBrokers" -}}
{{- $global := .Values.global | default dict -}}
{{- $brokers := .Values.kafka.brokers | default (dig "kafka" "brokers" list $global) -}}
{{- if not $brokers -}}
{{- fail "kafka.brokers is required: list the Kafka bootstrap servers as host:port (or set global.kafka.brokers in the umbrella chart)" -}}
{{- end -}}
{{- join "," $brokers -}}
{{- end -}}

{{/*
common.secretFiles: the secret files of a workload: the two PostgreSQL URLs every service has,
then the workload's own, leaving out those whose existingSecret is empty (optional
integrations). The runtime role's URL (database) goes to the server only, the owner role's
(database.migration) to the migration Job only: the server never holds the credentials that
could alter its tables (docs/deploy.md). Returns a YAML list of
{env, file, existingSecret, key, server, migrations}, where server/migrations say which pods get it.
Usage: {{ include "common.secretFiles" (dict "context" . "workload" $workload) | fromYamlArray }}
*/}}
{{- define "common.secretFiles" -}}
{{- $ctx := .context -}}
{{- $db := $ctx.Values.database -}}
{{- $owner := $db.migration | default dict -}}
{{- if not $db.existingSecret -}}
{{- fail "database.existingSecret is required: name the Secret that holds the PostgreSQL URL of the role the service runs as (see docs/deploy.md)" -}}
{{- end -}}
{{- if and $ctx.Values.migrations.enabled (not $owner.existingSecret) -}}
{{- fail "database.migration.existingSecret is required: name the Secret that holds the PostgreSQL URL of the role that owns the schema and runs the migrations (see docs/deploy.md)" -}}
{{- end -}}
{{- if and (eq ($owner.existingSecret | default "") $db.existingSecret) (eq ($owner.key | default "") $db.key) -}}
{{- fail "database.migration and database name the same Secret key: the migrations run as the role that owns the schema, the service as a separate runtime role that owns nothing, each with its own URL (see docs/deploy.md)" -}}
{{- end -}}
{{- $all := list
  (dict "env" "DATABASE_URL_FILE" "file" "database-url" "secret" $db "server" true "migrations" false)
  (dict "env" "DATABASE_MIGRATION_URL_FILE" "file" "database-migration-url" "secret" $owner "server" false "migrations" true)
-}}
{{- $all = concat $all (dig "secretFiles" list .workload) -}}
{{- $out := list -}}
{{- range $all -}}
{{- if .secret.existingSecret -}}
{{- $out = append $out (dict "env" .env "file" .file "existingSecret" .secret.existingSecret "key" .secret.key "server" (dig "server" true .) "migrations" (dig "migrations" false .)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
common.env: the container environment: shared settings, the workload's own, the *_FILE paths
of its secrets, then .Values.extraEnv, which may not set any of the others (common.extraEnvCheck).
The server does not migrate at start-up (MIGRATE_ON_START=false: the Job does, as the owner).
With "migrations" true, only the shared settings, the runtime role to grant to and the secrets
marked for migrations (the owner's database URL) are included.
Usage: {{- include "common.env" (dict "context" . "workload" $workload "migrations" false) | nindent 12 }}
*/}}
{{- define "common.env" -}}
{{- $ctx := .context -}}
{{- include "common.extraEnvCheck" . -}}
- name: NODE_ENV
  value: production
- name: PORT
  value: {{ $ctx.Values.containerPort | quote }}
- name: LOG_LEVEL
  value: {{ $ctx.Values.logLevel | quote }}
- name: KAFKA_BROKERS
  value: {{ include "common.kafkaBrokers" $ctx | quote }}
- name: KAFKA_TOPIC_NAMESPACE
  value: {{ $ctx.Values.kafka.topicNamespace | quote }}
- name: KAFKA_CREATE_TOPICS
  value: {{ $ctx.Values.kafka.createTopics | toString | quote }}
{{- if .migrations }}
- name: DATABASE_RUNTIME_ROLE
  value: {{ required "database.runtimeRole is required: the PostgreSQL role the service runs as, which the migrations grant its privileges (see docs/deploy.md)" $ctx.Values.database.runtimeRole | quote }}
{{- else }}
- name: MIGRATE_ON_START
  value: "false"
{{- range (dig "env" list .workload) }}
- name: {{ .name }}
  value: {{ .value | toString | quote }}
{{- end }}
{{- end }}
{{- $dir := include "common.secretDir" $ctx -}}
{{- range (include "common.secretFiles" . | fromYamlArray) }}
{{- if ternary .migrations .server $.migrations }}
- name: {{ .env }}
  value: {{ printf "%s/%s" $dir .file | quote }}
{{- end }}
{{- end }}
{{- with $ctx.Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
common.secretVolume: one projected, read-only volume named "secrets" with every secret file.
Usage: {{- with (include "common.secretVolume" $args) }}{{- . | nindent 8 }}{{- end }}
*/}}
{{- define "common.secretVolume" -}}
{{- $files := list -}}
{{- range (include "common.secretFiles" . | fromYamlArray) -}}
{{- if ternary .migrations .server $.migrations -}}
{{- $files = append $files . -}}
{{- end -}}
{{- end -}}
{{- if $files -}}
- name: secrets
  projected:
    defaultMode: 288 # 0440: owner and group (fsGroup) may read
    sources:
{{- range $files }}
      - secret:
          name: {{ .existingSecret }}
          items:
            - key: {{ .key }}
              path: {{ .file }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
common.checksum: sha256 of everything that configures the pods and is not already part of the
pod spec (ConfigMap contents), so that changing it rolls the Deployment.
Usage: checksum/config: {{ include "common.checksum" (dict "context" . "workload" $workload) }}
*/}}
{{- define "common.checksum" -}}
{{- toJson (dict "config" (dig "config" "" .workload) "env" (dig "env" list .workload) "secrets" (include "common.secretFiles" . | fromYamlArray)) | sha256sum -}}
{{- end -}}
