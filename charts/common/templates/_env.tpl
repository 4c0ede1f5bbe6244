{{/*
Configuration handed to the container: plain environment variables for settings, and secret
files for credentials. Secrets are only ever referenced (an existing Secret's name and key);
their values never pass through Helm values. Each referenced key is projected into one
read-only volume at /var/run/secrets/micro-oncall/<file> and its path is given to the service
as <NAME>_FILE, which service-kit's loadConfig reads at start-up.

A service chart describes its own settings in a "workload" map (see the service charts'
_helpers.tpl), which the defines below combine with the settings every service shares:

  command:          [node, --import, tsx, src/main.ts]
  migrationCommand: [node, --import, tsx, src/migrate.ts]
  env:              [{name, value}]                 service-specific variables
  secretFiles:      [{env, file, secret: {existingSecret, key}}]
  volumes:          [...]                           extra pod volumes (e.g. a ConfigMap)
  volumeMounts:     [...]                           and where they are mounted
  config:           "..."                           text hashed into checksum/config
*/}}

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
common.secretFiles: the secret files of a workload: the PostgreSQL URL every service has, then
the workload's own, leaving out those whose existingSecret is empty (optional integrations).
Returns a YAML list of {env, file, existingSecret, key}.
Usage: {{ include "common.secretFiles" (dict "context" . "workload" $workload) | fromYamlArray }}
*/}}
{{- define "common.secretFiles" -}}
{{- $ctx := .context -}}
{{- if not $ctx.Values.database.existingSecret -}}
{{- fail "database.existingSecret is required: name the Secret that holds the PostgreSQL URL (see docs/deploy.md)" -}}
{{- end -}}
{{- $all := list (dict "env" "DATABASE_URL_FILE" "file" "database-url" "secret" $ctx.Values.database "migrations" true) -}}
{{- $all = concat $all (dig "secretFiles" list .workload) -}}
{{- $out := list -}}
{{- range $all -}}
{{- if .secret.existingSecret -}}
{{- $out = append $out (dict "env" .env "file" .file "existingSecret" .secret.existingSecret "key" .secret.key "migrations" (dig "migrations" false .)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $out -}}
{{- end -}}

{{/*
common.env: the container environment: shared settings, the workload's own, the *_FILE paths
of its secrets, then .Values.extraEnv. With "migrations" true, only the shared settings and the
secrets marked for migrations (the database URL) are included.
Usage: {{- include "common.env" (dict "context" . "workload" $workload "migrations" false) | nindent 12 }}
*/}}
{{- define "common.env" -}}
{{- $ctx := .context -}}
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
{{- if not .migrations }}
{{- range (dig "env" list .workload) }}
- name: {{ .name }}
  value: {{ .value | toString | quote }}
{{- end }}
{{- end }}
{{- $dir := include "common.secretDir" $ctx -}}
{{- range (include "common.secretFiles" . | fromYamlArray) }}
{{- if or (not $.migrations) .migrations }}
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
{{- if or (not $.migrations) .migrations -}}
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
