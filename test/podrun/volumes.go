package podrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// volumes are a pod's volumes written under its directory.
type volumes struct {
	// dirs maps a volume name to its directory; unsupported volumes are
	// absent and unsupported says why.
	dirs        map[string]string
	unsupported map[string]string
}

// mountMap maps mount paths in the container to local paths.
type mountMap map[string]string

// writeVolumes writes the pod's volumes: the files of Secrets, ConfigMaps
// and projected volumes (with the pod's mount paths remapped in their
// text), and empty directories for emptyDir volumes.
func (r *Runner) writeVolumes(ctx context.Context, pod *corev1.Pod, dir string) (*volumes, error) {
	v := &volumes{dirs: map[string]string{}, unsupported: map[string]string{}}
	for _, vol := range pod.Spec.Volumes {
		v.dirs[vol.Name] = filepath.Join(dir, "v", vol.Name)
	}
	// The mount paths of every container, for the text of mounted files.
	// A path mounted from different volumes by different containers is
	// ambiguous and left alone.
	all := mountMap{}
	ambiguous := map[string]bool{}
	for i := range pod.Spec.Containers {
		for _, m := range pod.Spec.Containers[i].VolumeMounts {
			local := filepath.Join(v.dirs[m.Name], m.SubPath)
			if prev, ok := all[m.MountPath]; ok && prev != local {
				ambiguous[m.MountPath] = true
			}
			all[m.MountPath] = local
		}
	}
	for p := range ambiguous {
		delete(all, p)
	}

	for _, vol := range pod.Spec.Volumes {
		d := v.dirs[vol.Name]
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
		var files map[string][]byte
		var err error
		switch {
		case vol.EmptyDir != nil:
			continue
		case vol.Secret != nil:
			files, err = r.secretFiles(ctx, pod.Namespace, vol.Secret.SecretName, vol.Secret.Items, vol.Secret.Optional)
		case vol.ConfigMap != nil:
			files, err = r.configMapFiles(ctx, pod.Namespace, vol.ConfigMap.Name, vol.ConfigMap.Items, vol.ConfigMap.Optional)
		case vol.Projected != nil:
			files, err = r.projectedFiles(ctx, pod, vol.Projected)
		default:
			v.unsupported[vol.Name] = "only secret, configMap, projected and emptyDir volumes can be run here"
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("volume %s: %w", vol.Name, err)
		}
		for name, data := range files {
			path := filepath.Join(d, name)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, err
			}
			if utf8.Valid(data) {
				data = []byte(all.remap(string(data)))
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				return nil, err
			}
		}
	}
	return v, nil
}

// mountsOf returns a container's mount paths and their local paths.
func (v *volumes) mountsOf(c *corev1.Container) (mountMap, error) {
	m := mountMap{}
	for _, vm := range c.VolumeMounts {
		if why, ok := v.unsupported[vm.Name]; ok {
			return nil, fmt.Errorf("volume %s mounted at %s: %s", vm.Name, vm.MountPath, why)
		}
		d, ok := v.dirs[vm.Name]
		if !ok {
			return nil, fmt.Errorf("mount of unknown volume %s", vm.Name)
		}
		m[vm.MountPath] = filepath.Join(d, vm.SubPath)
	}
	return m, nil
}

// remap replaces every mount path in s by its local path. A mount path
// matches only as a whole path prefix: /csi matches in unix:///csi/csi.sock
// and "/csi", not in /var/csi or /csinode.
func (m mountMap) remap(s string) string {
	paths := make([]string, 0, len(m))
	for p := range m {
		paths = append(paths, p)
	}
	// Longest first, so /etc/config/x wins over /etc/config.
	sort.Slice(paths, func(i, j int) bool { return len(paths[i]) > len(paths[j]) })
	for _, p := range paths {
		s = replacePath(s, p, m[p])
	}
	return s
}

func replacePath(s, from, to string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, from)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		end := i + len(from)
		whole := (i == 0 || !pathChar(s[i-1])) && (end == len(s) || s[end] == '/' || !pathChar(s[end]))
		b.WriteString(s[:i])
		if whole {
			b.WriteString(to)
		} else {
			b.WriteString(from)
		}
		s = s[end:]
	}
}

// pathChar reports whether c can be part of a path component.
func pathChar(c byte) bool {
	return c == '.' || c == '_' || c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func (r *Runner) secretFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool) (map[string][]byte, error) {
	sec, err := r.Client.CoreV1().Secrets(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading Secret %s: %w", name, err)
	}
	return pick(sec.Data, items, "Secret "+name, optional)
}

func (r *Runner) configMapFiles(ctx context.Context, ns, name string, items []corev1.KeyToPath, optional *bool) (map[string][]byte, error) {
	cm, err := r.Client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) && optional != nil && *optional {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading ConfigMap %s: %w", name, err)
	}
	data := map[string][]byte{}
	for k, v := range cm.Data {
		data[k] = []byte(v)
	}
	for k, v := range cm.BinaryData {
		data[k] = v
	}
	return pick(data, items, "ConfigMap "+name, optional)
}

// pick returns the files of a volume: every key, or the items asked for.
func pick(data map[string][]byte, items []corev1.KeyToPath, what string, optional *bool) (map[string][]byte, error) {
	if len(items) == 0 {
		return data, nil
	}
	out := map[string][]byte{}
	for _, it := range items {
		v, ok := data[it.Key]
		if !ok {
			if optional != nil && *optional {
				continue
			}
			return nil, fmt.Errorf("%s has no key %s", what, it.Key)
		}
		out[it.Path] = v
	}
	return out, nil
}

// projectedFiles writes the sources of a projected volume: Secrets,
// ConfigMaps, ServiceAccount tokens and downward API fields.
func (r *Runner) projectedFiles(ctx context.Context, pod *corev1.Pod, p *corev1.ProjectedVolumeSource) (map[string][]byte, error) {
	out := map[string][]byte{}
	add := func(files map[string][]byte) {
		for k, v := range files {
			out[k] = v
		}
	}
	for _, src := range p.Sources {
		switch {
		case src.Secret != nil:
			files, err := r.secretFiles(ctx, pod.Namespace, src.Secret.Name, src.Secret.Items, src.Secret.Optional)
			if err != nil {
				return nil, err
			}
			add(files)
		case src.ConfigMap != nil:
			files, err := r.configMapFiles(ctx, pod.Namespace, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional)
			if err != nil {
				return nil, err
			}
			add(files)
		case src.ServiceAccountToken != nil:
			t := src.ServiceAccountToken
			spec := authenticationv1.TokenRequestSpec{
				ExpirationSeconds: t.ExpirationSeconds,
				BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: pod.Name, UID: pod.UID},
			}
			if t.Audience != "" {
				spec.Audiences = []string{t.Audience}
			}
			sa := pod.Spec.ServiceAccountName
			if sa == "" {
				sa = "default"
			}
			tr, err := r.Client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, sa, &authenticationv1.TokenRequest{Spec: spec}, metav1.CreateOptions{})
			if err != nil {
				return nil, fmt.Errorf("requesting a token for ServiceAccount %s: %w", sa, err)
			}
			out[t.Path] = []byte(tr.Status.Token)
		case src.DownwardAPI != nil:
			for _, it := range src.DownwardAPI.Items {
				if it.FieldRef == nil {
					return nil, fmt.Errorf("downward API item %s: only fieldRef is supported", it.Path)
				}
				v, err := fieldValue(pod, it.FieldRef.FieldPath)
				if err != nil {
					return nil, err
				}
				out[it.Path] = []byte(v)
			}
		default:
			return nil, fmt.Errorf("a projected source of an unsupported kind")
		}
	}
	return out, nil
}
