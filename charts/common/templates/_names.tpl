{{/*
Names and labels. Every define takes the chart's root context (`.`) unless it says otherwise.
Kubernetes names are limited to 63 characters, so every generated name is truncated there and
never ends in "-".
*/}}

{{/*
common.name: the chart name, or .Values.nameOverride.
Usage: {{ include "common.name" . }}
*/}}
{{- define "common.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.fullname: "<release>-<name>", or the release name alone when it already contains the
chart name, or .Values.fullnameOverride. Truncated to 63 characters.
Usage: {{ include "common.fullname" . }}
*/}}
{{- define "common.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/*
common.componentName: "<fullname>-<suffix>" for secondary objects (e.g. the migration Job),
with the fullname shortened first so that the suffix always survives the 63-character limit.
Usage: {{ include "common.componentName" (dict "context" . "suffix" "migrations") }}
*/}}
{{- define "common.componentName" -}}
{{- $suffix := .suffix | trunc 30 -}}
{{- $max := sub 62 (len $suffix) | int -}}
{{- printf "%s-%s" (include "common.fullname" .context | trunc $max | trimSuffix "-") $suffix -}}
{{- end -}}

{{/*
common.chart: "<chart>-<version>" for the helm.sh/chart label ("+" is not allowed in labels).
Usage: {{ include "common.chart" . }}
*/}}
{{- define "common.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.owner / common.costCentre: the team label values, from the chart's own values or the
umbrella's global values. Rendering fails with an instruction when neither is set, because the
policies (MO-K8S-011) reject objects without them.
Usage: {{ include "common.owner" . }}
*/}}
{{- define "common.owner" -}}
{{- $global := .Values.global | default dict -}}
{{- required "owner is required: set owner (or global.owner in the umbrella chart) to the team that runs this service, e.g. oncall-platform" (.Values.owner | default (dig "owner" "" $global)) -}}
{{- end -}}

{{- define "common.costCentre" -}}
{{- $global := .Values.global | default dict -}}
{{- required "costCentre is required: set costCentre (or global.costCentre in the umbrella chart) to the cost centre billed for this service" (.Values.costCentre | default (dig "costCentre" "" $global)) -}}
{{- end -}}

{{/*
common.selectorLabels: the immutable selector labels, name and instance only. Workloads add
app.kubernetes.io/component on top (see common.componentSelectorLabels) so that the server pods
and the migration Job pods of one release can be told apart.
Usage: {{- include "common.selectorLabels" . | nindent 4 }}
*/}}
{{- define "common.selectorLabels" -}}
app.kubernetes.io/name: {{ include "common.name" . }}
app.kubernetes.io/instance: {{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}

{{/*
common.componentSelectorLabels: selector labels plus app.kubernetes.io/component.
Usage: {{- include "common.componentSelectorLabels" (dict "context" . "component" "server") | nindent 6 }}
*/}}
{{- define "common.componentSelectorLabels" -}}
{{ include "common.selectorLabels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
common.labels: the labels every object carries: the standard app.kubernetes.io/* set, the
helm.sh/chart label, the required team labels `owner` and `cost-centre`, and .Values.commonLabels.
Usage: {{- include "common.labels" . | nindent 4 }}
*/}}
{{- define "common.labels" -}}
{{ include "common.selectorLabels" . }}
app.kubernetes.io/version: {{ include "common.version" . | quote }}
app.kubernetes.io/part-of: micro-oncall
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ include "common.chart" . }}
owner: {{ include "common.owner" . | quote }}
cost-centre: {{ include "common.costCentre" . | quote }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/*
common.componentLabels: common.labels plus app.kubernetes.io/component.
Usage: {{- include "common.componentLabels" (dict "context" . "component" "server") | nindent 4 }}
*/}}
{{- define "common.componentLabels" -}}
{{ include "common.labels" .context }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
common.version: the version label, the image tag when there is one (what actually runs), else the
digest's first 12 hex characters, else the chart's appVersion. Label-safe and at most 63 chars.
Usage: {{ include "common.version" . }}
*/}}
{{- define "common.version" -}}
{{- $v := .Chart.AppVersion -}}
{{- if .Values.image.tag -}}
{{- $v = .Values.image.tag -}}
{{- else if .Values.image.digest -}}
{{- $v = .Values.image.digest | trimPrefix "sha256:" | trunc 12 -}}
{{- end -}}
{{- regexReplaceAll "[^-A-Za-z0-9_.]" (toString $v) "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/*
common.annotations: .Values.commonAnnotations as a YAML map (empty when there are none).
Usage: {{- with (include "common.annotations" .) }}annotations: {{- . | nindent 4 }}{{ end }}
*/}}
{{- define "common.annotations" -}}
{{- with .Values.commonAnnotations -}}
{{ toYaml . }}
{{- end -}}
{{- end -}}

{{/*
common.serviceAccountName: the ServiceAccount the server pods run as.
Usage: {{ include "common.serviceAccountName" . }}
*/}}
{{- define "common.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "common.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/*
common.image: "<registry>/<repository>:<tag>@<digest>" with whichever of tag and digest are
set (the digest wins at pull time when both are). global.imageRegistry overrides image.registry.
`latest` and a missing tag are refused here as well as by values.schema.json, because a chart
installed with --skip-schema-validation would otherwise slip through.
Usage: {{ include "common.image" . }}
*/}}
{{- define "common.image" -}}
{{- $global := .Values.global | default dict -}}
{{- $registry := dig "imageRegistry" "" $global | default .Values.image.registry -}}
{{- $ref := .Values.image.repository -}}
{{- if $registry -}}
{{- $ref = printf "%s/%s" $registry $ref -}}
{{- end -}}
{{- if and (not .Values.image.tag) (not .Values.image.digest) -}}
{{- fail "image.tag or image.digest is required: set image.tag to a release tag or commit SHA, or image.digest to sha256:<hex>" -}}
{{- end -}}
{{- if eq (toString .Values.image.tag) "latest" -}}
{{- fail "image.tag must not be \"latest\": pin a release tag, commit SHA or digest so that rollbacks are possible" -}}
{{- end -}}
{{- if .Values.image.tag -}}
{{- $ref = printf "%s:%s" $ref (toString .Values.image.tag) -}}
{{- end -}}
{{- if .Values.image.digest -}}
{{- $ref = printf "%s@%s" $ref .Values.image.digest -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/*
common.imagePullSecrets: image.pullSecrets plus global.imagePullSecrets as a pod-spec list.
Usage: {{- with (include "common.imagePullSecrets" .) }}{{- . | nindent 6 }}{{- end }}
*/}}
{{- define "common.imagePullSecrets" -}}
{{- $global := .Values.global | default dict -}}
{{- $names := concat (dig "imagePullSecrets" list $global) .Values.image.pullSecrets | uniq -}}
{{- if $names -}}
imagePullSecrets:
{{- range $names }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}
