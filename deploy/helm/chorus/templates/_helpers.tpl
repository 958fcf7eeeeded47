{{/* Release-wide name: the release name, prefixed with the chart name unless it contains it. */}}
{{- define "chorus.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* A service's objects: <fullname>-<service>. Call with (list $ "identity"). */}}
{{- define "chorus.componentName" -}}
{{- printf "%s-%s" (include "chorus.fullname" (index . 0)) (index . 1) -}}
{{- end -}}

{{- define "chorus.selectorLabels" -}}
app.kubernetes.io/name: {{ (index . 0).Chart.Name }}
app.kubernetes.io/instance: {{ (index . 0).Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Labels of every object; call with (list $ "<component>"). */}}
{{- define "chorus.labels" -}}
{{- $root := index . 0 -}}
{{ include "chorus.selectorLabels" . }}
app.kubernetes.io/part-of: chorus
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $root.Chart.Name $root.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* A service's image: <registry>/<service>:<tag>. Call with (list $ "identity"). */}}
{{- define "chorus.image" -}}
{{- $image := (index . 0).Values.global.image -}}
{{- printf "%s/%s:%s" $image.registry (index . 1) (default (index . 0).Chart.AppVersion $image.tag) -}}
{{- end -}}

{{- define "chorus.databaseSecretName" -}}
{{- if .Values.postgresql.url -}}
{{- printf "%s-database" (include "chorus.fullname" .) -}}
{{- else -}}
{{- required "set postgresql.existingSecret (a Secret with key database-url) or postgresql.url" .Values.postgresql.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "chorus.databaseSecretKey" -}}
{{- if .Values.postgresql.url -}}database-url{{- else -}}{{ .Values.postgresql.existingSecretKey }}{{- end -}}
{{- end -}}

{{/*
Variables common to every service, as a YAML map: global.env plus where the gRPC services are
and where cpro-api is (CHORUS_CPRO_API_URL, which the gateway relays to; empty without it).
The ConfigMap renders it for the Deployments; the migrate Jobs, which run as pre-install hooks
before the ConfigMap exists, inline it.
*/}}
{{- define "chorus.commonEnv" -}}
{{- $env := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- if and $svc.enabled (eq $svc.kind "grpc") -}}
{{- $_ := set $env (printf "CHORUS_%s_ADDR" (upper $name)) (printf "%s:%v" (include "chorus.componentName" (list $ $name)) $svc.port) -}}
{{- end -}}
{{- end -}}
{{- $cpro := index .Values.services "cpro-api" | default dict -}}
{{- if $cpro.enabled -}}
{{- $_ := set $env "CHORUS_CPRO_API_URL" (printf "http://%s:%v" (include "chorus.componentName" (list $ "cpro-api")) $cpro.port) -}}
{{- else -}}
{{- $_ := set $env "CHORUS_CPRO_API_URL" "" -}}
{{- end -}}
{{- range $key, $value := .Values.global.env -}}
{{- $_ := set $env $key (toString $value) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The env entries of one service's container, each name once; call with
(list $ "identity" $svc BASE) where BASE is a map of variables to start from (the common ones
for a Job, which cannot use the ConfigMap; empty for a Deployment, which reads it by envFrom).
The service's own `env` overrides BASE and the derived port and name; Secret references
(the database URL, `secretEnv`) override both.
*/}}
{{- define "chorus.serviceEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index . 2 -}}
{{- $literal := deepCopy (index . 3) -}}
{{- if eq $svc.kind "grpc" -}}
{{- $_ := set $literal "CHORUS_GRPC_PORT" (toString $svc.port) -}}
{{- else -}}
{{- $_ := set $literal "CHORUS_HTTP_HOST" "0.0.0.0" -}}
{{- $_ := set $literal "CHORUS_HTTP_PORT" (toString $svc.port) -}}
{{- end -}}
{{- $_ := set $literal "OTEL_SERVICE_NAME" (printf "chorus-%s" $name) -}}
{{- range $key, $value := $svc.env -}}
{{- $_ := set $literal $key (toString $value) -}}
{{- end -}}
{{- $secrets := dict -}}
{{- if $svc.migrate -}}
{{- $_ := set $secrets "CHORUS_DATABASE_URL" (dict "name" (include "chorus.databaseSecretName" $root) "key" (include "chorus.databaseSecretKey" $root)) -}}
{{- end -}}
{{- range $key, $ref := $svc.secretEnv -}}
{{- $_ := set $secrets $key $ref -}}
{{- end -}}
{{- range $key, $value := $literal }}
{{- if not (hasKey $secrets $key) }}
- name: {{ $key }}
  value: {{ $value | quote }}
{{- end }}
{{- end }}
{{- range $key, $ref := $secrets }}
- name: {{ $key }}
  valueFrom:
    secretKeyRef:
      name: {{ $ref.name }}
      key: {{ $ref.key }}
{{- end }}
{{- end -}}

{{/*
Pod spec fields every Chorus pod shares, Deployments and Jobs alike: hardening, grace period,
the /tmp volume. Call with (list $ "identity" $svc); the caller adds the containers.
*/}}
{{- define "chorus.podSpecCommon" -}}
{{- $root := index . 0 -}}
enableServiceLinks: false
automountServiceAccountToken: false
terminationGracePeriodSeconds: {{ $root.Values.terminationGracePeriodSeconds }}
securityContext:
  {{- toYaml $root.Values.podSecurityContext | nindent 2 }}
{{- with $root.Values.global.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
volumes:
  - name: tmp
    emptyDir:
      sizeLimit: 256Mi
{{- end -}}

{{/* Container fields shared by every Chorus container; call with (list $ "identity" $svc). */}}
{{- define "chorus.containerCommon" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index . 2 -}}
image: {{ include "chorus.image" (list $root $name) }}
imagePullPolicy: {{ $root.Values.global.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml $svc.resources | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}
