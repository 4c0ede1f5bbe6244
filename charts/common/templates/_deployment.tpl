{{/*
common.workload: parses a service chart's workload define (YAML) into a map and fails loudly if
it is not valid YAML. Service charts call it once per template.
Usage: {{- $workload := include "common.workload" (dict "context" . "define" "webhook-ingest.workload") | fromYaml }}
*/}}
{{- define "common.workload" -}}
{{- $w := include .define .context | fromYaml -}}
{{- if hasKey $w "Error" -}}
{{- fail (printf "%s does not render a YAML map: %s" .define (get $w "Error")) -}}
{{- end -}}
{{- toYaml $w -}}
{{- end -}}

{{/*
common.replicas: the smallest number of server pods that will run: hpa.minReplicas with an
autoscaler, else replicaCount. PDB and topology spread are rendered only when it is above 1.
Usage: {{ include "common.replicas" . }}
*/}}
{{- define "common.replicas" -}}
{{- if .Values.autoscaling.enabled -}}
{{- .Values.autoscaling.minReplicas -}}
{{- else -}}
{{- .Values.replicaCount -}}
{{- end -}}
{{- end -}}

{{/*
common.deployment: the server Deployment: hardened pod and container security contexts,
probes, resources, the secret and /tmp volumes, checksum/config roll-out annotation, topology
spread over zones and nodes when more than one replica runs, and a preStop pause so that
endpoints are removed before the process receives SIGTERM.
Usage: {{ include "common.deployment" (dict "context" . "workload" $workload) }}
*/}}
{{- define "common.deployment" -}}
{{- $ctx := .context -}}
{{- $w := .workload -}}
{{- $replicas := include "common.replicas" $ctx | int -}}
{{- $envArgs := dict "context" $ctx "workload" $w "migrations" false -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "common.fullname" $ctx }}
  namespace: {{ $ctx.Release.Namespace }}
  labels:
    {{- include "common.componentLabels" (dict "context" $ctx "component" "server") | nindent 4 }}
  {{- with (include "common.annotations" $ctx) }}
  annotations:
    {{- . | nindent 4 }}
  {{- end }}
spec:
  {{- if not $ctx.Values.autoscaling.enabled }}
  replicas: {{ $ctx.Values.replicaCount }}
  {{- end }}
  revisionHistoryLimit: 5
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  selector:
    matchLabels:
      {{- include "common.componentSelectorLabels" (dict "context" $ctx "component" "server") | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "common.componentLabels" (dict "context" $ctx "component" "server") | nindent 8 }}
        {{- with $ctx.Values.podLabels }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      annotations:
        checksum/config: {{ include "common.checksum" $envArgs }}
        {{- with $ctx.Values.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      serviceAccountName: {{ include "common.serviceAccountName" $ctx }}
      automountServiceAccountToken: false
      enableServiceLinks: false
      {{- with (include "common.imagePullSecrets" $ctx) }}
      {{- . | nindent 6 }}
      {{- end }}
      {{- with $ctx.Values.priorityClassName }}
      priorityClassName: {{ . }}
      {{- end }}
      terminationGracePeriodSeconds: {{ $ctx.Values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "common.podSecurityContext" $ctx | nindent 8 }}
      {{- if gt $replicas 1 }}
      topologySpreadConstraints:
        {{- range $ctx.Values.topologySpread.topologyKeys }}
        - topologyKey: {{ . }}
          maxSkew: {{ $ctx.Values.topologySpread.maxSkew }}
          whenUnsatisfiable: {{ $ctx.Values.topologySpread.whenUnsatisfiable }}
          labelSelector:
            matchLabels:
              {{- include "common.componentSelectorLabels" (dict "context" $ctx "component" "server") | nindent 14 }}
          matchLabelKeys:
            - pod-template-hash
        {{- end }}
      {{- end }}
      {{- with $ctx.Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $ctx.Values.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      containers:
        - name: {{ include "common.name" $ctx }}
          image: {{ include "common.image" $ctx | quote }}
          imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
          workingDir: /app
          command:
            {{- toYaml (dig "command" (list "node" "dist/main.mjs") $w) | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ $ctx.Values.containerPort }}
              protocol: TCP
          env:
            {{- include "common.env" $envArgs | nindent 12 }}
          {{- include "common.probes" $ctx | nindent 10 }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $ctx.Values.preStopSleepSeconds }}
          resources:
            {{- toYaml $ctx.Values.resources | nindent 12 }}
          securityContext:
            {{- include "common.containerSecurityContext" $ctx | nindent 12 }}
          volumeMounts:
            {{- include "common.tmpVolumeMount" $ctx | nindent 12 }}
            {{- if (include "common.secretVolume" $envArgs) }}
            - name: secrets
              mountPath: {{ include "common.secretDir" $ctx }}
              readOnly: true
            {{- end }}
            {{- with (dig "volumeMounts" list $w) }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
        {{- /* Containers the service runs beside it (app-registry's OPA), each complete: the policies check them too. */}}
        {{- with (dig "sidecars" list $w) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      volumes:
        {{- include "common.tmpVolume" $ctx | nindent 8 }}
        {{- with (include "common.secretVolume" $envArgs) }}
        {{- . | nindent 8 }}
        {{- end }}
        {{- with (dig "volumes" list $w) }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
{{- end -}}
