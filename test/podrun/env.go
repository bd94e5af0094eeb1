package podrun

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// envVar is one resolved environment variable.
type envVar struct{ name, value string }

// environment resolves a container's envFrom and env as kubelet does: envFrom
// first, then env in order, each value able to refer to the ones before it
// with $(NAME).
func (r *Runner) environment(ctx context.Context, pod *corev1.Pod, c *corev1.Container) ([]envVar, error) {
	var out []envVar
	index := map[string]int{}
	set := func(name, value string) {
		if i, ok := index[name]; ok {
			out[i].value = value
			return
		}
		index[name] = len(out)
		out = append(out, envVar{name, value})
	}
	for _, from := range c.EnvFrom {
		data, err := r.sourceData(ctx, pod.Namespace, from.SecretRef, from.ConfigMapRef)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			set(from.Prefix+k, v)
		}
	}
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			vars := map[string]string{}
			for _, v := range out {
				vars[v.name] = v.value
			}
			set(e.Name, expand(e.Value, vars))
			continue
		}
		v, ok, err := r.valueFrom(ctx, pod, e.ValueFrom)
		if err != nil {
			return nil, fmt.Errorf("env %s: %w", e.Name, err)
		}
		if ok {
			set(e.Name, v)
		}
	}
	return out, nil
}

// sourceData reads a whole Secret or ConfigMap for envFrom.
func (r *Runner) sourceData(ctx context.Context, ns string, s *corev1.SecretEnvSource, cm *corev1.ConfigMapEnvSource) (map[string]string, error) {
	out := map[string]string{}
	switch {
	case s != nil:
		sec, err := r.Client.CoreV1().Secrets(ns).Get(ctx, s.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && s.Optional != nil && *s.Optional {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading Secret %s: %w", s.Name, err)
		}
		for k, v := range sec.Data {
			out[k] = string(v)
		}
	case cm != nil:
		m, err := r.Client.CoreV1().ConfigMaps(ns).Get(ctx, cm.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && cm.Optional != nil && *cm.Optional {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading ConfigMap %s: %w", cm.Name, err)
		}
		for k, v := range m.Data {
			out[k] = v
		}
	}
	return out, nil
}

// valueFrom resolves one env var source; ok is false for an optional key
// that is missing.
func (r *Runner) valueFrom(ctx context.Context, pod *corev1.Pod, src *corev1.EnvVarSource) (string, bool, error) {
	switch {
	case src.FieldRef != nil:
		v, err := fieldValue(pod, src.FieldRef.FieldPath)
		return v, err == nil, err
	case src.SecretKeyRef != nil:
		ref := src.SecretKeyRef
		sec, err := r.Client.CoreV1().Secrets(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && ref.Optional != nil && *ref.Optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("reading Secret %s: %w", ref.Name, err)
		}
		v, ok := sec.Data[ref.Key]
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("Secret %s has no key %s", ref.Name, ref.Key)
		}
		return string(v), true, nil
	case src.ConfigMapKeyRef != nil:
		ref := src.ConfigMapKeyRef
		cm, err := r.Client.CoreV1().ConfigMaps(pod.Namespace).Get(ctx, ref.Name, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) && ref.Optional != nil && *ref.Optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("reading ConfigMap %s: %w", ref.Name, err)
		}
		v, ok := cm.Data[ref.Key]
		if !ok {
			if ref.Optional != nil && *ref.Optional {
				return "", false, nil
			}
			return "", false, fmt.Errorf("ConfigMap %s has no key %s", ref.Name, ref.Key)
		}
		return v, true, nil
	case src.ResourceFieldRef != nil:
		return "", false, fmt.Errorf("resourceFieldRef %s is not supported", src.ResourceFieldRef.Resource)
	}
	return "", false, fmt.Errorf("empty valueFrom")
}

// fieldValue is the downward API's value of a pod field.
func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.podIP":
		return pod.Status.PodIP, nil
	case "status.hostIP":
		return pod.Status.HostIP, nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if rest, ok := strings.CutPrefix(path, prefix+"['"); ok {
			if key, ok := strings.CutSuffix(rest, "']"); ok {
				return m[key], nil
			}
		}
	}
	return "", fmt.Errorf("field %s is not supported", path)
}

// expand replaces $(NAME) with the value of NAME when it is defined, and
// $$ with $, as kubelet expands command, args and env values; undefined
// references stay as written.
func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+2+end]
			if v, ok := vars[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
