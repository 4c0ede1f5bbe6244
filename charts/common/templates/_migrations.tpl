{{/*
common.migrationJob: runs the service's database migrations (workload.migrationCommand, by
default `node dist/migrate.mjs`, the bundle the image builds) with the same image as the server,
as a Helm pre-install/pre-upgrade hook: an upgrade whose migrations fail is not rolled out. The
Job gets the shared settings, the schema owner's database URL (database.migration) and the name of the
runtime role it grants the service's privileges to (database.runtimeRole) only: not the
runtime role's URL, nor the service's provider credentials. It runs under the namespace's
"default" ServiceAccount (with no API token) unless migrations.serviceAccountName says
otherwise, because hooks run before the release's own ServiceAccount exists on a first install. Migrations are idempotent and guarded by an advisory
lock in the service, so a retried Job is safe.
Usage: {{ include "common.migrationJob" (dict "context" . "workload" $workload) }}
*/}}
{{- define "common.migrationJob" -}}
{{- $ctx := .context -}}
{{- $w := .workload -}}
{{- $m := $ctx.Values.migrations -}}
{{- if $m.enabled -}}
{{- $envArgs := dict "context" $ctx "workload" $w "migrations" true -}}
apiVersion: batch/v1
kind: Job
metadata:
  name: {{ include "common.componentName" (dict "context" $ctx "suffix" "migrations") }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" $ctx "component" "migrations") | nindent 4 }}
  annotations:
    helm.sh/hook: pre-install,pre-upgrade
    helm.sh/hook-weight: "0"
    helm.sh/hook-delete-policy: before-hook-creation
spec:
  backoffLimit: {{ $m.backoffLimit }}
  activeDeadlineSeconds: {{ $m.activeDeadlineSeconds }}
  ttlSecondsAfterFinished: {{ $m.ttlSecondsAfterFinished }}
  template:
    metadata:
      labels:
        {{- include "common.componentLabels" (dict "context" $ctx "component" "migrations") | nindent 8 }}
        {{- with $ctx.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      restartPolicy: Never
      serviceAccountName: {{ $m.serviceAccountName | default "default" }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with (include "common.imagePullSecrets" $ctx) }}
      {{- . | nindent 6 }}
      {{- end }}
      securityContext:
        {{- include "common.podSecurityContext" $ctx | nindent 8 }}
      {{- with $ctx.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: migrations
          image: {{ include "common.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          workingDir: /app
          command:
            {{- toYaml (dig "migrationCommand" (list "node" "dist/migrate.mjs") $w) | nindent 12 }}
          env:
            {{- include "common.env" $envArgs | nindent 12 }}
          resources:
            {{- toYaml $m.resources | nindent 12 }}
          securityContext:
            {{- include "common.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            {{- include "common.tmpVolumeMount" $ctx | nindent 12 }}
            - name: secrets
              mountPath: {{ include "common.secretDir" $ctx }}
              readOnly: true
      volumes:
        {{- include "common.tmpVolume" $ctx | nindent 8 }}
        {{- with (include "common.secretVolume" $envArgs) }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end -}}
{{- end -}}
