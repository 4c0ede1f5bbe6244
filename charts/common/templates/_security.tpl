{{/*
Security contexts. The values schema only admits the hardened settings (non-root, read-only root
filesystem, no privilege escalation, all capabilities dropped, RuntimeDefault/Localhost
seccomp); the policies in policies/ check the rendered result again.
*/}}

{{/*
common.podSecurityContext: the pod-level security context from .Values.podSecurityContext.
Usage: securityContext: {{- include "common.podSecurityContext" . | nindent 8 }}
*/}}
{{- define "common.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
fsGroup: {{ .Values.podSecurityContext.fsGroup }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  {{- toYaml .Values.podSecurityContext.seccompProfile | nindent 2 }}
{{- end -}}

{{/*
common.containerSecurityContext: the container-level security context; repeats the pod-level
user so that the container is safe even if copied into another pod spec.
Usage: securityContext: {{- include "common.containerSecurityContext" . | nindent 12 }}
*/}}
{{- define "common.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurityContext.runAsUser }}
runAsGroup: {{ .Values.podSecurityContext.runAsGroup }}
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
privileged: false
capabilities:
  drop:
    - ALL
seccompProfile:
  {{- toYaml .Values.podSecurityContext.seccompProfile | nindent 2 }}
{{- end -}}

{{/*
common.probes: startup, liveness and readiness probes on the named "http" port. Liveness uses
/health/live (never calls dependencies), readiness /health/ready (503 while a dependency is
down), and the startup probe gives a slow first start (a cold node, a broker still electing)
time before liveness counts.
Usage: {{- include "common.probes" . | nindent 10 }}
*/}}
{{- define "common.probes" -}}
{{- $p := .Values.probes -}}
startupProbe:
  httpGet:
    path: /health/live
    port: http
  periodSeconds: {{ $p.startup.periodSeconds }}
  timeoutSeconds: {{ $p.startup.timeoutSeconds }}
  failureThreshold: {{ $p.startup.failureThreshold }}
livenessProbe:
  httpGet:
    path: /health/live
    port: http
  periodSeconds: {{ $p.liveness.periodSeconds }}
  timeoutSeconds: {{ $p.liveness.timeoutSeconds }}
  failureThreshold: {{ $p.liveness.failureThreshold }}
readinessProbe:
  httpGet:
    path: /health/ready
    port: http
  periodSeconds: {{ $p.readiness.periodSeconds }}
  timeoutSeconds: {{ $p.readiness.timeoutSeconds }}
  failureThreshold: {{ $p.readiness.failureThreshold }}
{{- end -}}

{{/*
common.tmpVolume / common.tmpVolumeMount: the writable emptyDir at /tmp that a read-only root
filesystem needs (temporary files; tsx's compile cache in the smoke-test Pod).
Usage: {{- include "common.tmpVolume" . | nindent 8 }}
*/}}
{{- define "common.tmpVolume" -}}
- name: tmp
  emptyDir:
    sizeLimit: {{ .Values.tmpSizeLimit }}
{{- end -}}

{{- define "common.tmpVolumeMount" -}}
- name: tmp
  mountPath: /tmp
{{- end -}}
