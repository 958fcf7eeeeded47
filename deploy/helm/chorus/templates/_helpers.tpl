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
A variable's value as a string. Helm reads every number in values as a float, which toString
writes in exponent form from 1e+06 on (10485760 would become "1.048576e+07", which no setting
parses): a whole number is written as an integer.
*/}}
{{- define "chorus.envString" -}}
{{- if and (kindIs "float64" .) (eq (float64 (int64 .)) .) -}}
{{- int64 . -}}
{{- else -}}
{{- toString . -}}
{{- end -}}
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
{{- $_ := set $env $key (include "chorus.envString" $value) -}}
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
{{- $_ := set $literal $key (include "chorus.envString" $value) -}}
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

{{/*
"true" when the invoices-documents Deployment is rendered (invoicesDocuments.enabled and the
invoices service enabled), else empty.
*/}}
{{- define "chorus.invoicesDocumentsEnabled" -}}
{{- if and .Values.invoicesDocuments.enabled .Values.services.invoices.enabled -}}true{{- end -}}
{{- end -}}

{{/*
The invoices-documents workload as a service entry (the shape of a `services` entry), for the
Deployment template: the invoices entry (image, port, database, env) with the documents role,
its worker count and its own resources. CHORUS_INVOICES_ROLES, CHORUS_FACTURX_RENDERING (queued) and
CHORUS_DOCUMENT_WORKERS are the chart's: they override both `env` maps. Resources, unless invoicesDocuments.resources is
set, follow the worker count: requests of cpuPerWorker per worker and memoryBase + memoryPerWorker
per worker; limits of that CPU + cpuHeadroom (the pod's main process) and 1.5 × that memory.
*/}}
{{- define "chorus.invoicesDocumentsService" -}}
{{- $docs := .Values.invoicesDocuments -}}
{{- $invoices := .Values.services.invoices -}}
{{- $env := merge (dict "CHORUS_INVOICES_ROLES" "documents" "CHORUS_FACTURX_RENDERING" "queued" "CHORUS_DOCUMENT_WORKERS" (toString $docs.workers)) (deepCopy ($docs.env | default dict)) (deepCopy ($invoices.env | default dict)) -}}
{{- $resources := $docs.resources -}}
{{- if not $resources -}}
{{- $sizing := $docs.sizing -}}
{{- $cpu := mul (int $docs.workers) (int $sizing.cpuMillisPerWorker) -}}
{{- $memory := add (int $sizing.memoryMiBase) (mul (int $docs.workers) (int $sizing.memoryMiPerWorker)) -}}
{{- $resources = dict
  "requests" (dict "cpu" (printf "%dm" $cpu) "memory" (printf "%dMi" $memory))
  "limits" (dict "cpu" (printf "%dm" (add $cpu (int $sizing.cpuMillisHeadroom))) "memory" (printf "%dMi" (div (mul $memory 3) 2)))
-}}
{{- end -}}
{{- $service := dict
  "kind" $invoices.kind
  "port" $invoices.port
  "replicas" $docs.replicas
  "migrate" $invoices.migrate
  "resources" $resources
  "env" $env
  "secretEnv" ($invoices.secretEnv | default dict)
  "autoscaling" $docs.autoscaling
-}}
{{- toYaml $service -}}
{{- end -}}

{{/*
A HorizontalPodAutoscaler (autoscaling/v2) for one Deployment; call with
(list $ "<component>" AUTOSCALING) where AUTOSCALING is an `autoscaling` value: minReplicas,
maxReplicas, targetCPU ("75%": average use as a percentage of requests.cpu; a quantity such as
"700m": average use per pod), extra `metrics` appended as written, and an optional `behavior`.
*/}}
{{- define "chorus.hpa" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $scaling := index . 2 -}}
{{- $component := include "chorus.componentName" (list $root $name) -}}
{{- if gt (int $scaling.minReplicas) (int $scaling.maxReplicas) -}}
{{- fail (printf "%s autoscaling: minReplicas (%v) is above maxReplicas (%v)" $name $scaling.minReplicas $scaling.maxReplicas) -}}
{{- end -}}
{{- $target := toString ($scaling.targetCPU | default "") -}}
{{- if not (or $target $scaling.metrics) -}}
{{- fail (printf "%s autoscaling: set targetCPU or metrics" $name) -}}
{{- end -}}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ $component }}
  labels:
    {{- include "chorus.labels" (list $root $name) | nindent 4 }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: {{ $component }}
  minReplicas: {{ $scaling.minReplicas }}
  maxReplicas: {{ $scaling.maxReplicas }}
  metrics:
    {{- if hasSuffix "%" $target }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: {{ trimSuffix "%" $target | int }}
    {{- else if $target }}
    - type: Resource
      resource:
        name: cpu
        target:
          type: AverageValue
          averageValue: {{ $target | quote }}
    {{- end }}
    {{- with $scaling.metrics }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with $scaling.behavior }}
  behavior:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end -}}
