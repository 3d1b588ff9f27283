{{/* Names ---------------------------------------------------------------------------------- */}}

{{- define "pavewatch.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pavewatch.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* <fullname>-<component>; call with (dict "root" $ "component" "ingest") */}}
{{- define "pavewatch.componentName" -}}
{{- printf "%s-%s" (include "pavewatch.fullname" .root) .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "pavewatch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "pavewatch.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels --------------------------------------------------------------------------------- */}}

{{- define "pavewatch.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "pavewatch.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: pavewatch
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* Selector labels of one component; call with (dict "root" $ "component" "ingest") */}}
{{- define "pavewatch.selectorLabels" -}}
app.kubernetes.io/name: {{ include "pavewatch.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "pavewatch.componentLabels" -}}
{{ include "pavewatch.labels" .root }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Image ---------------------------------------------------------------------------------- */}}

{{- define "pavewatch.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* Kafka: settings every PaveWatch process needs --------------------------------------------

pavewatch.kafkaEnv: environment variables (PAVEWATCH_<OPTION>, see docs/configuration.md) with
the brokers, topics, topic creation, logging and the Secrets' values.
pavewatch.kafkaArgs: --kafka-property arguments (repeatable; an environment variable holds only
one). Secret values reach them through Kubernetes' $(VAR) expansion of container arguments, so
they never appear in the pod spec.
pavewatch.kafkaVolumeMounts / pavewatch.kafkaVolumes: the TLS Secret, when there is one.
Call each with (dict "root" $ "createTopics" true|false). */}}

{{- define "pavewatch.saslEnabled" -}}
{{- if hasPrefix "SASL_" .Values.kafka.securityProtocol -}}true{{- end -}}
{{- end -}}

{{- define "pavewatch.tlsEnabled" -}}
{{- if and (has .Values.kafka.securityProtocol (list "SSL" "SASL_SSL")) .Values.kafka.tls.existingSecret -}}true{{- end -}}
{{- end -}}

{{- define "pavewatch.kafkaEnv" -}}
{{- $v := .root.Values -}}
- name: PAVEWATCH_BROKERS
  value: {{ $v.kafka.brokers | quote }}
- name: PAVEWATCH_PARTITIONS
  value: {{ $v.kafka.partitions | quote }}
- name: PAVEWATCH_REPLICATION_FACTOR
  value: {{ $v.kafka.replicationFactor | quote }}
- name: PAVEWATCH_CREATE_TOPICS
  value: {{ ternary "true" "false" .createTopics | quote }}
- name: PAVEWATCH_LOG_LEVEL
  value: {{ $v.logLevel | quote }}
- name: PAVEWATCH_TOPIC_RAW_VEHICLE
  value: {{ $v.kafka.topics.rawVehicle | quote }}
- name: PAVEWATCH_TOPIC_RAW_EMBEDDED
  value: {{ $v.kafka.topics.rawEmbedded | quote }}
- name: PAVEWATCH_TOPIC_OBSERVATIONS
  value: {{ $v.kafka.topics.observations | quote }}
- name: PAVEWATCH_TOPIC_CONDITIONS
  value: {{ $v.kafka.topics.conditions | quote }}
- name: PAVEWATCH_TOPIC_CONDITION_HISTORY
  value: {{ $v.kafka.topics.conditionHistory | quote }}
- name: PAVEWATCH_TOPIC_DLQ
  value: {{ $v.kafka.topics.dlq | quote }}
- name: PAVEWATCH_TOPIC_CHANGELOG
  value: {{ $v.kafka.topics.changelog | quote }}
- name: PAVEWATCH_TOPIC_HAZARD_ACTIONS
  value: {{ $v.kafka.topics.hazardActions | quote }}
{{- if and (include "pavewatch.saslEnabled" .root) $v.kafka.sasl.existingSecret }}
- name: KAFKA_SASL_USERNAME
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.usernameKey }}
- name: KAFKA_SASL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ $v.kafka.sasl.existingSecret }}
      key: {{ $v.kafka.sasl.passwordKey }}
{{- end }}
{{- end -}}

{{- define "pavewatch.kafkaArgs" -}}
{{- $v := .root.Values -}}
- --kafka-property=security.protocol={{ $v.kafka.securityProtocol }}
{{- if include "pavewatch.saslEnabled" .root }}
- --kafka-property=sasl.mechanism={{ $v.kafka.sasl.mechanism }}
{{- if $v.kafka.sasl.existingSecret }}
- --kafka-property=sasl.username=$(KAFKA_SASL_USERNAME)
- --kafka-property=sasl.password=$(KAFKA_SASL_PASSWORD)
{{- end }}
{{- end }}
{{- if include "pavewatch.tlsEnabled" .root }}
- --kafka-property=ssl.ca.location=/etc/pavewatch/kafka-tls/{{ $v.kafka.tls.caKey }}
{{- if and $v.kafka.tls.certKey $v.kafka.tls.keyKey }}
- --kafka-property=ssl.certificate.location=/etc/pavewatch/kafka-tls/{{ $v.kafka.tls.certKey }}
- --kafka-property=ssl.key.location=/etc/pavewatch/kafka-tls/{{ $v.kafka.tls.keyKey }}
{{- end }}
{{- end }}
{{- range $key, $value := $v.kafka.properties }}
- --kafka-property={{ $key }}={{ $value }}
{{- end }}
{{- end -}}

{{- define "pavewatch.kafkaVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "pavewatch.tlsEnabled" .root }}
- name: kafka-tls
  mountPath: /etc/pavewatch/kafka-tls
  readOnly: true
{{- end }}
{{- end -}}

{{- define "pavewatch.kafkaVolumes" -}}
- name: tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if include "pavewatch.tlsEnabled" .root }}
- name: kafka-tls
  secret:
    secretName: {{ .root.Values.kafka.tls.existingSecret }}
    defaultMode: 0440
{{- end }}
{{- end -}}

{{/* Services with --create-topics true? */}}
{{- define "pavewatch.servicesCreateTopics" -}}
{{- if eq .Values.kafka.createTopics "services" -}}true{{- end -}}
{{- end -}}

{{/* The road network: environment and mounts when it comes from a ConfigMap. */}}
{{- define "pavewatch.networkEnv" -}}
- name: PAVEWATCH_MAX_SEGMENT_LENGTH_M
  value: {{ .Values.network.maxSegmentLengthM | quote }}
{{- if .Values.network.existingConfigMap }}
- name: PAVEWATCH_NETWORK
  value: /etc/pavewatch/network/{{ .Values.network.key }}
{{- end }}
{{- end -}}

{{- define "pavewatch.networkVolumeMounts" -}}
{{- if .Values.network.existingConfigMap }}
- name: network
  mountPath: /etc/pavewatch/network
  readOnly: true
{{- end }}
{{- end -}}

{{- define "pavewatch.networkVolumes" -}}
{{- if .Values.network.existingConfigMap }}
- name: network
  configMap:
    name: {{ .Values.network.existingConfigMap }}
{{- end }}
{{- end -}}

{{/* Operations endpoint probes: call with (dict "port" "metrics" "startup" N) */}}
{{- define "pavewatch.probes" -}}
{{- if .startup }}
startupProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 10
  failureThreshold: {{ .startup }}
{{- end }}
livenessProbe:
  httpGet:
    path: /healthz
    port: {{ .port }}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /readyz
    port: {{ .port }}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{- define "pavewatch.podSecurityContext" -}}
{{ toYaml .Values.podSecurityContext }}
{{- end -}}

{{- define "pavewatch.securityContext" -}}
{{ toYaml .Values.securityContext }}
{{- end -}}

{{/* Scheduling fields of a component's values */}}
{{- define "pavewatch.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}
