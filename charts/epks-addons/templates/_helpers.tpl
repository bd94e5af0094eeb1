{{/*
Names. Every object name starts with the release name, so two releases never collide,
cluster-scoped objects included.
*/}}
{{- define "epks-addons.name" -}}
{{- printf "%s-%s" .root.Release.Name .component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object of a component: call with (dict "root" $ "component" "ncp"). */}}
{{- define "epks-addons.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
app.kubernetes.io/part-of: epks
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Selector labels of a component's pods. */}}
{{- define "epks-addons.selectorLabels" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/*
An image reference: call with (dict "root" $ "image" .Values.x.image). global.imageRegistry
replaces the image's registry; a digest wins over the tag.
*/}}
{{- define "epks-addons.image" -}}
{{- $registry := .image.registry -}}
{{- if .root.Values.global.imageRegistry -}}{{- $registry = .root.Values.global.imageRegistry -}}{{- end -}}
{{- $ref := .image.repository -}}
{{- if $registry -}}{{- $ref = printf "%s/%s" (trimSuffix "/" $registry) .image.repository -}}{{- end -}}
{{- if .image.digest -}}
{{- printf "%s@%s" $ref .image.digest -}}
{{- else -}}
{{- printf "%s:%s" $ref (.image.tag | toString) -}}
{{- end -}}
{{- end -}}

{{/* The node agent image: its own fields where set, else NCP's. */}}
{{- define "epks-addons.nodeAgentImage" -}}
{{- $img := deepCopy .Values.ncp.image -}}
{{- range $k, $v := .Values.nsxNodeAgent.image -}}{{- if $v -}}{{- $_ := set $img $k $v -}}{{- end -}}{{- end -}}
{{- include "epks-addons.image" (dict "root" . "image" $img) -}}
{{- end -}}

{{- define "epks-addons.pullSecrets" -}}
{{- with .Values.global.imagePullSecrets }}
imagePullSecrets:
{{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{- define "epks-addons.hostAliases" -}}
{{- with .Values.hostAliases }}
hostAliases:
{{- range . }}
  - ip: {{ .ip | quote }}
    hostnames:
    {{- range .hostnames }}
      - {{ . | quote }}
    {{- end }}
{{- end }}
{{- end }}
{{- end -}}

{{/*
Security context of containers that need no privilege: non-root, read-only root file
system, no privilege escalation, no capabilities.
*/}}
{{- define "epks-addons.restrictedContainer" -}}
securityContext:
  runAsNonRoot: true
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{- define "epks-addons.restrictedPod" -}}
securityContext:
  runAsNonRoot: true
  runAsUser: 65532
  runAsGroup: 65532
  fsGroup: 65532
  seccompProfile:
    type: RuntimeDefault
{{- end -}}

{{/* Names of the Secrets, rendered or existing. */}}
{{- define "epks-addons.cloudConfigSecret" -}}
{{- .Values.openstack.existingSecret | default (include "epks-addons.name" (dict "root" . "component" "cloud-config")) -}}
{{- end -}}

{{- define "epks-addons.nsxSecret" -}}
{{- .Values.nsx.existingSecret | default (include "epks-addons.name" (dict "root" . "component" "nsx")) -}}
{{- end -}}

{{/*
A gcfg (git-config syntax) string value, as the cloud-provider-openstack readers parse it:
in double quotes, with backslash and double quote escaped. Newlines cannot be represented;
the schema refuses them.
*/}}
{{- define "epks-addons.gcfg" -}}
"{{ . | toString | replace "\\" "\\\\" | replace "\"" "\\\"" }}"
{{- end -}}

{{/* True when a component that reads cloud.conf is enabled. */}}
{{- define "epks-addons.needsCloudConfig" -}}
{{- if or .Values.occm.enabled .Values.cinderCSI.enabled .Values.portTagger.enabled -}}true{{- end -}}
{{- end -}}

{{/* True when a component that talks to NSX is enabled. */}}
{{- define "epks-addons.needsNSX" -}}
{{- if or .Values.ncp.enabled .Values.portTagger.enabled -}}true{{- end -}}
{{- end -}}

{{/* Checksum annotation so that pods roll when their configuration changes. */}}
{{- define "epks-addons.checksum" -}}
checksum/{{ .name }}: {{ include (print .root.Template.BasePath "/" .file) .root | sha256sum }}
{{- end -}}

{{/*
The NSX API NCP and the port tagger use: nsx.apiMode when set, else the one
the NCP version (the major of ncp.image.tag, else of a version path element
of its repository) needs; pkg/params decides the same way. NCP 4.x forces
policy_nsxapi = True, so manager is refused with it; older NCP keeps manager.
*/}}
{{- define "epks-addons.nsxAPIMode" -}}
{{- $mode := .Values.nsx.apiMode -}}
{{- $tag := toString .Values.ncp.image.tag -}}
{{- $major := -1 -}}
{{- if regexMatch "^v?[0-9]+([.].*)?$" $tag -}}
{{- $major = regexFind "^[0-9]+" (trimPrefix "v" $tag) | atoi -}}
{{- else -}}
{{- /* a version as a path element, as the seed's 2.4.1.13515827/nsx-ncp-ubuntu:latest */ -}}
{{- range splitList "/" (toString .Values.ncp.image.repository) -}}
{{- if and (lt $major 0) (regexMatch "^v?[0-9]+[.]" .) -}}
{{- $major = regexFind "^[0-9]+" (trimPrefix "v" .) | atoi -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if and (not $mode) (lt $major 0) -}}
{{- fail (printf "nsx.apiMode: set it to manager or policy; the NCP image tag %q names no NCP version to choose by (NCP 4.x needs policy)" $tag) -}}
{{- end -}}
{{- if and (eq $mode "manager") (ge $major 4) -}}
{{- fail (printf "nsx.apiMode: manager cannot be used with NCP %s: NCP 4.x uses the Policy API only (policy_nsxapi = True); use policy or an older NCP" $tag) -}}
{{- end -}}
{{- if $mode -}}{{ $mode }}{{- else if ge $major 4 -}}policy{{- else -}}manager{{- end -}}
{{- end -}}
