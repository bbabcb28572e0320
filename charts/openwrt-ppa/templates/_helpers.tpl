{{/* The release's base name, a DNS label of at most 52 characters (suffixes follow). */}}
{{- define "owppa.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "owppa.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{ include "owppa.selector" . }}
{{- end -}}

{{/* Selects the release's objects; a component adds app.kubernetes.io/component. */}}
{{- define "owppa.selector" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "owppa.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "owppa.secretName" -}}
{{ .Values.secrets.existingSecret | default (include "owppa.fullname" .) }}
{{- end -}}

{{- define "owppa.claimName" -}}
{{ .Values.data.existingClaim | default (printf "%s-data" (include "owppa.fullname" .)) }}
{{- end -}}

{{- define "owppa.buildNamespace" -}}
{{ .Values.builds.namespace | default .Release.Namespace }}
{{- end -}}

{{- define "owppa.redisURL" -}}
{{- if .Values.redis.url -}}
{{ .Values.redis.url }}
{{- else -}}
redis://{{ include "owppa.fullname" . }}-redis:6379/0
{{- end -}}
{{- end -}}

{{/* The pod security of every pod of the chart: the "restricted" Pod Security Standard. */}}
{{- define "owppa.podSecurity" -}}
runAsNonRoot: true
runAsUser: {{ .uid }}
runAsGroup: {{ .uid }}
fsGroup: {{ .uid }}
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "owppa.containerSecurity" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
privileged: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* A secret setting from the Secret, unset when the Secret has no such key. */}}
{{- define "owppa.secretEnv" -}}
- name: {{ .env }}
  valueFrom:
    secretKeyRef:
      name: {{ include "owppa.secretName" .root }}
      key: {{ .key }}
      optional: {{ .optional }}
{{- end -}}

{{/* The environment serve and workers share: every setting is an OPENWRT_PPA_ variable. */}}
{{- define "owppa.env" -}}
- name: OPENWRT_PPA_LISTEN
  value: ":8080"
- name: OPENWRT_PPA_DATA
  value: /data
- name: OPENWRT_PPA_PUBLIC_URL
  value: {{ .Values.publicURL | quote }}
- name: OPENWRT_PPA_REDIS
  value: {{ include "owppa.redisURL" . | quote }}
- name: OPENWRT_PPA_REGISTRY
  value: {{ .Values.builds.registry | quote }}
- name: OPENWRT_PPA_CATALOGUE_REFRESH
  value: {{ .Values.builds.catalogueRefresh | quote }}
- name: OPENWRT_PPA_JOB_TIMEOUT
  value: {{ .Values.builds.jobTimeout | quote }}
{{- with .Values.builds.image }}
- name: OPENWRT_PPA_IMAGE
  value: {{ . | quote }}
{{- end }}
{{- if .Values.github.appID }}
- name: OPENWRT_PPA_GITHUB_APP_ID
  value: {{ .Values.github.appID | int64 | quote }}
- name: OPENWRT_PPA_GITHUB_PRIVATE_KEY_FILE
  value: /etc/openwrt-ppa/github/github-app-key.pem
{{- end }}
{{- with .Values.github.apiURL }}
- name: OPENWRT_PPA_GITHUB_API_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.github.clientID }}
- name: OPENWRT_PPA_GITHUB_CLIENT_ID
  value: {{ . | quote }}
{{- end }}
{{- with .Values.gitlab.url }}
- name: OPENWRT_PPA_GITLAB_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.gitlab.clientID }}
- name: OPENWRT_PPA_GITLAB_CLIENT_ID
  value: {{ . | quote }}
{{- end }}
{{- include "owppa.secretEnv" (dict "root" . "env" "OPENWRT_PPA_KEY_ENCRYPTION_KEY" "key" "key-encryption-key" "optional" false) | nindent 0 }}
{{- range $env, $key := dict "OPENWRT_PPA_GITHUB_WEBHOOK_SECRET" "github-webhook-secret" "OPENWRT_PPA_GITLAB_TOKEN" "gitlab-token" "OPENWRT_PPA_GITLAB_WEBHOOK_SECRET" "gitlab-webhook-secret" "OPENWRT_PPA_SESSION_SECRET" "session-secret" "OPENWRT_PPA_ADMIN_TOKEN" "admin-token" "OPENWRT_PPA_GITHUB_CLIENT_SECRET" "github-client-secret" "OPENWRT_PPA_GITLAB_CLIENT_SECRET" "gitlab-client-secret" }}
{{ include "owppa.secretEnv" (dict "root" $ "env" $env "key" $key "optional" true) }}
{{- end }}
{{- range $name, $value := .Values.env }}
- name: OPENWRT_PPA_{{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end -}}

{{/* The volumes serve and workers share: the data claim, the App key, a writable /tmp. */}}
{{- define "owppa.volumes" -}}
- name: data
  persistentVolumeClaim:
    claimName: {{ include "owppa.claimName" . }}
- name: tmp
  emptyDir: {sizeLimit: 1Gi}
{{- if .Values.github.appID }}
- name: github-key
  secret:
    secretName: {{ include "owppa.secretName" . }}
    defaultMode: 0440
    items:
      - {key: github-app-key.pem, path: github-app-key.pem}
{{- end }}
{{- end -}}

{{- define "owppa.volumeMounts" -}}
- {name: data, mountPath: /data}
- {name: tmp, mountPath: /tmp}
{{- if .Values.github.appID }}
- {name: github-key, mountPath: /etc/openwrt-ppa/github, readOnly: true}
{{- end }}
{{- end -}}

{{/* Settings the schema cannot check, refused with what to do. */}}
{{- define "owppa.validate" -}}
{{- if not .Values.publicURL -}}
{{- fail "publicURL is required: the public base URL of the service, e.g. --set publicURL=https://ppa.example.org" -}}
{{- end -}}
{{- if and (not .Values.secrets.existingSecret) (not .Values.secrets.keyEncryptionKey) -}}
{{- fail "secrets.keyEncryptionKey is required (32 random bytes, base64: head -c32 /dev/urandom | base64), or name a Secret holding key-encryption-key in secrets.existingSecret" -}}
{{- end -}}
{{- if and .Values.github.appID (not .Values.secrets.existingSecret) (not .Values.secrets.githubAppKey) -}}
{{- fail "github.appID is set but the App's private key is not: --set-file secrets.githubAppKey=app.pem, or a Secret with github-app-key.pem in secrets.existingSecret" -}}
{{- end -}}
{{- if and (not .Values.redis.enabled) (not .Values.redis.url) -}}
{{- fail "redis.enabled is false but redis.url is empty: give the external Redis's URL (redis://HOST:6379/0), or enable the bundled Redis" -}}
{{- end -}}
{{- end -}}
