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

{{/*
A service's image: <registry>/<service>:<tag>, with @<digest> when global.image.digests has
one for it. Call with (list $ "identity").
*/}}
{{- define "chorus.image" -}}
{{- $image := (index . 0).Values.global.image -}}
{{- $ref := printf "%s/%s:%s" $image.registry (index . 1) (default (index . 0).Chart.AppVersion $image.tag) -}}
{{- with index ($image.digests | default dict) (index . 1) -}}
{{- $ref = printf "%s@%s" $ref . -}}
{{- end -}}
{{- $ref -}}
{{- end -}}

{{/* The shared database Secret's name (postgresql.url: the chart's; else existingSecret). */}}
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
One service's database Secret reference as YAML {name, key}: its own (postgresql.<svc>
.existingSecret, else a Secret the chart creates from postgresql.<svc>.url), else the shared
one. Call with (list $ "identity").
*/}}
{{- define "chorus.databaseSecretRef" -}}
{{- $root := index . 0 -}}
{{- $own := index $root.Values.postgresql (index . 1) | default dict -}}
{{- if $own.existingSecret -}}
{{- dict "name" $own.existingSecret "key" ($own.existingSecretKey | default "database-url") | toYaml -}}
{{- else if $own.url -}}
{{- dict "name" (printf "%s-database" (include "chorus.componentName" (list $root (index . 1)))) "key" "database-url" | toYaml -}}
{{- else -}}
{{- dict "name" (include "chorus.databaseSecretName" $root) "key" (include "chorus.databaseSecretKey" $root) | toYaml -}}
{{- end -}}
{{- end -}}

{{/*
What each workload uses, by component: `database` (CHORUS_DATABASE_URL and egress to
PostgreSQL), `kafka` (SASL/TLS settings and egress to the brokers), `smtp`, `kek`, `s3`
(documents.store s3) and `calls`, the gRPC (and HTTP) services it calls, read from the
services' clients/ packages and `channel_for` uses. The network policies are derived from it.
A `services` entry not listed here uses its database (when `migrate`) and Kafka.
*/}}
{{- define "chorus.workloads" -}}
identity: {uses: [database, kafka, kek], calls: [structures, notifications]}
structures: {uses: [database, kafka], calls: [identity]}
invoices: {uses: [database, kafka, s3], calls: [identity, structures]}
invoices-documents: {uses: [database, kafka, s3], calls: [identity, structures]}
notifications: {uses: [database, kafka, smtp, kek], calls: [identity]}
gateway: {uses: [], calls: [identity, structures, invoices, notifications, cpro-api, portal]}
portal: {uses: [], calls: [identity, structures, invoices, notifications]}
cpro-api: {uses: [kafka], calls: [identity, structures, invoices, notifications]}
{{- end -}}

{{/* The `uses` list of a Deployment's component; call with (list $ "<component>" $svc). */}}
{{- define "chorus.uses" -}}
{{- $known := include "chorus.workloads" (index . 0) | fromYaml -}}
{{- $entry := index $known (index . 1) | default dict -}}
{{- if hasKey $entry "uses" -}}
{{- toYaml (dict "uses" $entry.uses) -}}
{{- else -}}
{{- toYaml (dict "uses" (ternary (list "database" "kafka") (list "kafka") (index . 2).migrate)) -}}
{{- end -}}
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
and where cpro-api and the portal are (CHORUS_CPRO_API_URL and CHORUS_PORTAL_BACKEND_URL, which
the gateway relays to; empty without them).
The ConfigMap renders it for the Deployments; the migrate Jobs, which run as pre-install hooks
before the ConfigMap exists, inline it.
*/}}
{{- define "chorus.commonEnv" -}}
{{- $env := dict -}}
{{- range $name, $svc := .Values.services -}}
{{- if and $svc.enabled (eq $svc.kind "grpc") -}}
{{- if $svc.headless -}}
{{- $_ := set $env (printf "CHORUS_%s_ADDR" (upper $name)) (printf "dns:///%s-headless:%v" (include "chorus.componentName" (list $ $name)) $svc.port) -}}
{{- else -}}
{{- $_ := set $env (printf "CHORUS_%s_ADDR" (upper $name)) (printf "%s:%v" (include "chorus.componentName" (list $ $name)) $svc.port) -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- $topics := .Values.kafka.topics -}}
{{- $_ := set $env "CHORUS_KAFKA_PARTITIONS" (include "chorus.envString" $topics.partitions) -}}
{{- $_ := set $env "CHORUS_KAFKA_REPLICATION_FACTOR" (include "chorus.envString" $topics.replicationFactor) -}}
{{- $_ := set $env "CHORUS_KAFKA_MIN_INSYNC_REPLICAS" (include "chorus.envString" $topics.minInsyncReplicas) -}}
{{- $_ := set $env "CHORUS_KAFKA_SECURITY_PROTOCOL" .Values.kafka.securityProtocol -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}
{{- $_ := set $env "CHORUS_KAFKA_SASL_MECHANISM" .Values.kafka.sasl.mechanism -}}
{{- end -}}
{{- $_ := set $env "CHORUS_SHUTDOWN_DELAY_SECONDS" (include "chorus.envString" .Values.shutdownDelaySeconds) -}}
{{- $_ := set $env "CHORUS_METRICS_HOST" "0.0.0.0" -}}
{{- $cpro := index .Values.services "cpro-api" | default dict -}}
{{- if $cpro.enabled -}}
{{- $_ := set $env "CHORUS_CPRO_API_URL" (printf "http://%s:%v" (include "chorus.componentName" (list $ "cpro-api")) $cpro.port) -}}
{{- else -}}
{{- $_ := set $env "CHORUS_CPRO_API_URL" "" -}}
{{- end -}}
{{- $portal := .Values.services.portal | default dict -}}
{{- if $portal.enabled -}}
{{- $_ := set $env "CHORUS_PORTAL_BACKEND_URL" (printf "http://%s:%v" (include "chorus.componentName" (list $ "portal")) $portal.port) -}}
{{- else -}}
{{- $_ := set $env "CHORUS_PORTAL_BACKEND_URL" "" -}}
{{- end -}}
{{- range $key, $value := .Values.global.env -}}
{{- $_ := set $env $key (include "chorus.envString" $value) -}}
{{- end -}}
{{- toYaml $env -}}
{{- end -}}

{{/*
The env entries of one container, each name once; call with
(list $ "<component>" $svc BASE "<service>" USES) where BASE is a map of variables to start
from (the common ones for a hook Job, which runs before the ConfigMap exists; empty for the
others, which read it by envFrom), <service> the `services` entry whose database it uses and
USES what it is given (see chorus.workloads; a Job passes only what its command needs;
`metrics` gives it the service's metrics port, else CHORUS_METRICS_PORT is 0).
The chart's variables (port, name, metrics, S3 and credentials' names) come first, the
service's own `env` overrides them and BASE; Secret references (database URL, Kafka, SMTP,
KEK, S3 credentials, `secretEnv`) override both.
*/}}
{{- define "chorus.serviceEnv" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index . 2 -}}
{{- $literal := deepCopy (index . 3) -}}
{{- $service := index . 4 -}}
{{- $uses := index . 5 -}}
{{- $values := $root.Values -}}
{{- $fullname := include "chorus.fullname" $root -}}
{{- if eq $svc.kind "grpc" -}}
{{- $_ := set $literal "CHORUS_GRPC_PORT" (toString $svc.port) -}}
{{- else -}}
{{- $_ := set $literal "CHORUS_HTTP_HOST" "0.0.0.0" -}}
{{- $_ := set $literal "CHORUS_HTTP_PORT" (toString $svc.port) -}}
{{- end -}}
{{- $_ := set $literal "OTEL_SERVICE_NAME" (printf "chorus-%s" $name) -}}
{{- $_ := set $literal "CHORUS_METRICS_PORT" (ternary (toString ($svc.metricsPort | default 0)) "0" (has "metrics" $uses)) -}}
{{- $secrets := dict -}}
{{- if has "database" $uses -}}
{{- $_ := set $secrets "CHORUS_DATABASE_URL" (include "chorus.databaseSecretRef" (list $root $service) | fromYaml) -}}
{{- end -}}
{{- if has "kafka" $uses -}}
{{- $kafka := $values.kafka -}}
{{- if and $kafka.existingSecret $kafka.existingSecretUsernameKey -}}
{{- $_ := set $secrets "CHORUS_KAFKA_SASL_USERNAME" (dict "name" $kafka.existingSecret "key" $kafka.existingSecretUsernameKey) -}}
{{- else if $kafka.sasl.username -}}
{{- $_ := set $literal "CHORUS_KAFKA_SASL_USERNAME" $kafka.sasl.username -}}
{{- end -}}
{{- if $kafka.existingSecret -}}
{{- $_ := set $secrets "CHORUS_KAFKA_SASL_PASSWORD" (dict "name" $kafka.existingSecret "key" $kafka.existingSecretPasswordKey) -}}
{{- else if $kafka.sasl.password -}}
{{- $_ := set $secrets "CHORUS_KAFKA_SASL_PASSWORD" (dict "name" (printf "%s-kafka" $fullname) "key" "password") -}}
{{- end -}}
{{- if $kafka.tls.caSecret -}}
{{- $_ := set $literal "CHORUS_KAFKA_SSL_CAFILE" "/etc/chorus/kafka/ca.crt" -}}
{{- end -}}
{{- if $kafka.tls.clientSecret -}}
{{- $_ := set $literal "CHORUS_KAFKA_SSL_CERTFILE" "/etc/chorus/kafka/client.crt" -}}
{{- $_ := set $literal "CHORUS_KAFKA_SSL_KEYFILE" "/etc/chorus/kafka/client.key" -}}
{{- end -}}
{{- end -}}
{{- if has "smtp" $uses -}}
{{- with $values.smtp.username -}}
{{- $_ := set $literal "CHORUS_SMTP_USERNAME" . -}}
{{- end -}}
{{- if $values.smtp.existingSecret -}}
{{- $_ := set $secrets "CHORUS_SMTP_PASSWORD" (dict "name" $values.smtp.existingSecret "key" $values.smtp.existingSecretKey) -}}
{{- else if $values.smtp.password -}}
{{- $_ := set $secrets "CHORUS_SMTP_PASSWORD" (dict "name" (printf "%s-smtp" $fullname) "key" "password") -}}
{{- end -}}
{{- end -}}
{{- if has "kek" $uses -}}
{{- if $values.kek.existingSecret -}}
{{- $_ := set $secrets "CHORUS_KEK" (dict "name" $values.kek.existingSecret "key" $values.kek.existingSecretKey) -}}
{{- else if $values.kek.keys -}}
{{- $_ := set $secrets "CHORUS_KEK" (dict "name" (printf "%s-kek" $fullname) "key" "kek") -}}
{{- end -}}
{{- end -}}
{{- if and (has "s3" $uses) (eq $values.documents.store "s3") -}}
{{- $s3 := $values.documents.s3 -}}
{{- $_ := set $literal "CHORUS_DOCUMENT_STORE" "s3" -}}
{{- with $s3.endpointUrl -}}
{{- $_ := set $literal "CHORUS_S3_ENDPOINT_URL" . -}}
{{- end -}}
{{- $_ := set $literal "CHORUS_S3_BUCKET" $s3.bucket -}}
{{- $_ := set $literal "CHORUS_S3_REGION" $s3.region -}}
{{- $s3Secret := $s3.existingSecret | default (printf "%s-s3" $fullname) -}}
{{- if not (or $s3.existingSecret $s3.accessKeyId) -}}
{{- fail "documents.store s3: set documents.s3.existingSecret (or accessKeyId and secretAccessKey)" -}}
{{- end -}}
{{- $_ := set $secrets "CHORUS_S3_ACCESS_KEY_ID" (dict "name" $s3Secret "key" (ternary $s3.accessKeyIdKey "access-key-id" (not (empty $s3.existingSecret)))) -}}
{{- $_ := set $secrets "CHORUS_S3_SECRET_ACCESS_KEY" (dict "name" $s3Secret "key" (ternary $s3.secretAccessKeyKey "secret-access-key" (not (empty $s3.existingSecret)))) -}}
{{- end -}}
{{- range $key, $value := $svc.env -}}
{{- $_ := set $literal $key (include "chorus.envString" $value) -}}
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
{{- $uses := index . 3 | default list -}}
{{- $tls := $root.Values.kafka.tls -}}
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
  {{- if and (has "kafka" $uses) (or $tls.caSecret $tls.clientSecret) }}
  # Kafka TLS: the brokers' CA and the client certificate, read-only for the pod's group.
  - name: kafka-tls
    projected:
      defaultMode: 0440
      sources:
        {{- with $tls.caSecret }}
        - secret:
            name: {{ . }}
            items:
              - {key: {{ $tls.caSecretKey | quote }}, path: ca.crt}
        {{- end }}
        {{- with $tls.clientSecret }}
        - secret:
            name: {{ . }}
            items:
              - {key: {{ $tls.clientCertKey | quote }}, path: client.crt}
              - {key: {{ $tls.clientKeyKey | quote }}, path: client.key}
        {{- end }}
  {{- end }}
{{- end -}}

{{/*
Container fields shared by every Chorus container; call with (list $ "identity" $svc USES)
(USES: see chorus.serviceEnv; `kafka` mounts the Kafka TLS files when set).
*/}}
{{- define "chorus.containerCommon" -}}
{{- $root := index . 0 -}}
{{- $name := index . 1 -}}
{{- $svc := index . 2 -}}
{{- $uses := index . 3 | default list -}}
{{- $tls := $root.Values.kafka.tls -}}
image: {{ include "chorus.image" (list $root $name) }}
imagePullPolicy: {{ $root.Values.global.image.pullPolicy }}
securityContext:
  {{- toYaml $root.Values.containerSecurityContext | nindent 2 }}
resources:
  {{- toYaml $svc.resources | nindent 2 }}
volumeMounts:
  - name: tmp
    mountPath: /tmp
  {{- if and (has "kafka" $uses) (or $tls.caSecret $tls.clientSecret) }}
  - name: kafka-tls
    mountPath: /etc/chorus/kafka
    readOnly: true
  {{- end }}
{{- end -}}

{{/*
checkov skips as annotations (checkov.io/skip<N>: <check>=<reason>); call with a map of check
id to reason (a reason must not contain "=": checkov splits on it). Renders nothing for an
empty map.
*/}}
{{- define "chorus.checkovSkips" -}}
{{- $n := 0 -}}
{{- range $check := keys . | sortAlpha }}
{{- $n = add1 $n }}
{{- $reason := index $ $check }}
{{- if contains "=" $reason }}{{ fail (printf "checkov skip %s: no '=' in the reason" $check) }}{{ end }}
checkov.io/skip{{ $n }}: {{ printf "%s=%s" $check $reason | quote }}
{{- end }}
{{- end -}}

{{/*
The checkov skips of a workload, as a map: call with (list $ "<image>" ENV) where ENV is the
rendered env of its container.
- CKV_K8S_35 (secrets as files): the services read every setting, credentials included,
  from the environment (pydantic-settings); the values come from secretKeyRef, never from
  the manifest.
- CKV_K8S_43 / CKV_K8S_15 (digest, pull Always): only for an image without a digest in
  global.image.digests (with one, IfNotPresent is safe and checkov passes).
- CKV2_K8S_6 (a NetworkPolicy per pod): only with networkPolicies.enabled false.
*/}}
{{- define "chorus.workloadSkips" -}}
{{- $root := index . 0 -}}
{{- $skips := dict -}}
{{- if contains "secretKeyRef" (index . 2) -}}
{{- $_ := set $skips "CKV_K8S_35" "the services read their settings, credentials included, from the environment only (pydantic-settings); each value comes from a secretKeyRef, never from the manifest" -}}
{{- end -}}
{{- if not (index ($root.Values.global.image.digests | default dict) (index . 1)) -}}
{{- $_ := set $skips "CKV_K8S_43" "this value set pins the image by tag; production sets global.image.digests, which pins it by digest" -}}
{{- if ne $root.Values.global.image.pullPolicy "Always" -}}
{{- $_ := set $skips "CKV_K8S_15" "release tags are never rebuilt, so IfNotPresent pulls what Always would; production pins digests (global.image.digests)" -}}
{{- end -}}
{{- end -}}
{{- if not $root.Values.networkPolicies.enabled -}}
{{- $_ := set $skips "CKV2_K8S_6" "networkPolicies.enabled is false in this value set (a cluster without a NetworkPolicy controller); production turns them on" -}}
{{- end -}}
{{- toYaml $skips -}}
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
  "metricsPort" $invoices.metricsPort
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
  namespace: {{ $root.Release.Namespace }}
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
