// Package chartconf gives tests the cloud.conf of the epks-addons chart, the
// one writer of that file, and reads it back as the components read it.
//
//   - Render and Write render the chart's cloud-config Secret from values;
//     Write puts its files in a directory, as kubelet mounts them, with the
//     mount path in cloud.conf remapped to that directory as test/podrun does.
//   - Read parses a cloud.conf with the OCCM's reader
//     (k8s.io/cloud-provider-openstack/pkg/openstack.ReadConfig), the cinder
//     CSI plugin's (pkg/csi/cinder/openstack.GetConfigFromFiles) and the port
//     tagger's (pkg/cloudconf.Read), checks that every key written is one
//     some upstream reader knows and that pkg/cloudconf models (gcfg ignores
//     unknown keys, so a typo would go unnoticed), and that the port tagger
//     reads each key as the upstream reader does.
package chartconf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"

	csi "k8s.io/cloud-provider-openstack/pkg/csi/cinder/openstack"
	occm "k8s.io/cloud-provider-openstack/pkg/openstack"

	"github.com/epks/epks/charts"
	"github.com/epks/epks/pkg/cloudconf"
	"github.com/epks/epks/pkg/names"
	"github.com/epks/epks/pkg/render"
)

// MountPath is where the pods mount the cloud-config Secret; cloud.conf
// names the CA bundle below it (ca-file = "/etc/config/ca.crt").
const MountPath = "/etc/config"

// Values returns chart values that render the cloud-config Secret from
// the given openstack values, with the components that need NSX off.
func Values(openstack map[string]any) map[string]any {
	return map[string]any{
		"clusterName":  "k8scluster",
		"openstack":    openstack,
		"ncp":          map[string]any{"enabled": false},
		"nsxNodeAgent": map[string]any{"enabled": false},
		"portTagger":   map[string]any{"enabled": false},
	}
}

// Render returns the files of the cloud-config Secret (cloud.conf, ca.crt)
// as the chart renders them from values.
func Render(ctx context.Context, values map[string]any) (map[string][]byte, error) {
	ch, err := charts.LoadAddons()
	if err != nil {
		return nil, err
	}
	manifest, err := render.Render(ctx, ch, values, render.Options{})
	if err != nil {
		return nil, err
	}
	objs, err := render.Objects(manifest)
	if err != nil {
		return nil, err
	}
	name := names.Release + "-cloud-config"
	secret := render.Find(objs, "Secret", name)
	if secret == nil {
		return nil, fmt.Errorf("the chart rendered no Secret %s", name)
	}
	out := map[string][]byte{}
	for _, key := range []string{"cloud.conf", "ca.crt"} {
		if out[key], err = render.SecretData(secret, key); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Write renders the cloud-config Secret from values into dir, as kubelet
// mounts it, with MountPath in cloud.conf remapped to dir. It returns the
// path of cloud.conf.
func Write(ctx context.Context, values map[string]any, dir string) (string, error) {
	files, err := Render(ctx, values)
	if err != nil {
		return "", err
	}
	files["cloud.conf"] = []byte(strings.ReplaceAll(string(files["cloud.conf"]), `"`+MountPath+"/", `"`+dir+"/"))
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "cloud.conf"), nil
}

// Readings are what each component reads from one cloud.conf.
type Readings struct {
	// OCCM is what the OpenStack cloud controller manager reads.
	OCCM occm.Config
	// CSI is what the cinder CSI plugin reads; its [Global] is CSI.Global[""].
	CSI csi.Config
	// Tagger is what the port tagger reads (pkg/cloudconf).
	Tagger *cloudconf.Config
	// Keys are the keys the file sets, by lower-case section.
	Keys map[string][]string
}

// Read parses conf with every component's reader and checks its keys: each
// one is known by the OCCM or the CSI plugin and modelled by pkg/cloudconf,
// and the port tagger reads it as they do. Every problem is reported.
func Read(conf string) (*Readings, error) {
	var r Readings
	var errs []error
	var err error
	if r.OCCM, err = occm.ReadConfig(strings.NewReader(conf)); err != nil {
		errs = append(errs, fmt.Errorf("the OCCM's reader: %w", err))
	}
	f, err := os.CreateTemp("", "cloud.conf")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(conf); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	if r.CSI, err = csi.GetConfigFromFiles([]string{f.Name()}); err != nil {
		errs = append(errs, fmt.Errorf("the cinder CSI plugin's reader: %w", err))
	} else if r.CSI.Global[""] == nil {
		errs = append(errs, errors.New("the cinder CSI plugin's reader found no [Global]"))
	}
	if r.Tagger, err = cloudconf.Read(strings.NewReader(conf), "cloud.conf"); err != nil {
		errs = append(errs, fmt.Errorf("the port tagger's reader: %w", err))
	}
	r.Keys, err = Keys(conf)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return &r, errors.Join(CheckKeys(r.Keys), r.agree())
}

var (
	header   = regexp.MustCompile(`^\[([A-Za-z][A-Za-z0-9-]*)\]$`)
	variable = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*)\s*(=|$)`)
)

// Keys lists the keys a cloud.conf sets, by lower-case section, in the
// order written (a key is listed once). Subsections are not used by epks
// and are refused.
func Keys(conf string) (map[string][]string, error) {
	out := map[string][]string{}
	seen := map[string]bool{}
	section := ""
	for i, line := range strings.Split(conf, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if m := header.FindStringSubmatch(line); m != nil {
			section = strings.ToLower(m[1])
			continue
		}
		m := variable.FindStringSubmatch(line)
		if m == nil || section == "" {
			return nil, fmt.Errorf("cloud.conf line %d: %q is not a key of a section", i+1, line)
		}
		key := strings.ToLower(m[1])
		if !seen[section+"."+key] {
			seen[section+"."+key] = true
			out[section] = append(out[section], key)
		}
	}
	return out, nil
}

// upstreamKeys are the keys the OCCM's and the CSI plugin's readers know.
func upstreamKeys() map[string]map[string]bool {
	known := map[string]map[string]bool{}
	for _, cfg := range []any{occm.Config{}, csi.Config{}} {
		t := reflect.TypeOf(cfg)
		for i := range t.NumField() {
			f := t.Field(i)
			st := sectionType(f.Type)
			if st.Kind() != reflect.Struct {
				continue
			}
			name := strings.ToLower(f.Name)
			if known[name] == nil {
				known[name] = map[string]bool{}
			}
			for j := range st.NumField() {
				known[name][gcfgKey(st.Field(j))] = true
			}
		}
	}
	return known
}

func sectionType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Map || t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// gcfgKey is the key gcfg matches a field with: its tag, else its name in
// lower case.
func gcfgKey(f reflect.StructField) string {
	if key := strings.Split(f.Tag.Get("gcfg"), ",")[0]; key != "" {
		return key
	}
	return strings.ToLower(f.Name)
}

// CheckKeys checks that every key is known by an upstream reader and
// modelled by pkg/cloudconf.
func CheckKeys(keys map[string][]string) error {
	upstream := upstreamKeys()
	model := map[string]map[string]bool{}
	for section, ks := range cloudconf.Keys() {
		model[section] = map[string]bool{}
		for _, k := range ks {
			model[section][k] = true
		}
	}
	var errs []error
	for _, section := range sortedKeys(keys) {
		for _, key := range keys[section] {
			if !upstream[section][key] {
				errs = append(errs, fmt.Errorf("[%s] %s is read by neither the OCCM nor the cinder CSI plugin", section, key))
			}
			if !model[section][key] {
				errs = append(errs, fmt.Errorf("[%s] %s is not in pkg/cloudconf's model", section, key))
			}
		}
	}
	return errors.Join(errs...)
}

// agree checks that pkg/cloudconf reads every key the file sets as the
// upstream readers do.
func (r *Readings) agree() error {
	upstream := []reflect.Value{reflect.ValueOf(r.OCCM), reflect.ValueOf(r.CSI)}
	tagger := reflect.ValueOf(*r.Tagger)
	var errs []error
	for _, section := range sortedKeys(r.Keys) {
		mine := field(tagger, section)
		for _, key := range r.Keys[section] {
			want := field(mine, key)
			for _, u := range upstream {
				got := field(field(u, section), key)
				if !got.IsValid() || !want.IsValid() {
					continue
				}
				if !reflect.DeepEqual(got.Interface(), want.Interface()) {
					errs = append(errs, fmt.Errorf("[%s] %s: the port tagger reads %#v, %s reads %#v",
						section, key, want.Interface(), u.Type(), got.Interface()))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// field finds a section of a config, or a key of a section, as gcfg does:
// a section may be a map of subsections, whose "" entry is the section.
func field(v reflect.Value, name string) reflect.Value {
	if !v.IsValid() {
		return v
	}
	if v.Kind() == reflect.Map {
		v = v.MapIndex(reflect.ValueOf(""))
	}
	for v.IsValid() && v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return reflect.Value{}
		}
		v = v.Elem()
	}
	if !v.IsValid() || v.Kind() != reflect.Struct {
		return reflect.Value{}
	}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if gcfgKey(f) == name || strings.EqualFold(f.Name, name) {
			return v.Field(i)
		}
	}
	return reflect.Value{}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
