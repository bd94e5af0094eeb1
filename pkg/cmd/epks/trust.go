package epks

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/epks/epks/pkg/atomicfile"
	"github.com/epks/epks/pkg/certs"
	"github.com/epks/epks/pkg/params"
)

// DefaultKeystoneCAFile is the name of the CA file epks trust writes beside
// the parameters file.
const DefaultKeystoneCAFile = "keystone-ca.pem"

// setting is a parameter epks trust adds.
type setting struct {
	key   string
	value any // string or []string
}

func newTrustCommand(s streams) *cobra.Command {
	var (
		paramsFile string
		caOut      string
		write      bool
	)
	c := &cobra.Command{
		Use:   "trust --params params.yaml",
		Short: "Fetch the certificates of Keystone and the NSX Managers, show them, and pin them",
		Long: `Connect to Keystone (os_auth_url) and to every NSX Manager, print the certificate chain each
presents (subject, issuer, validity, SHA-256 fingerprint) and the NSX Managers' SHA-256
thumbprints, and pin what you accept:

  - Keystone: the last certificate of its chain (its CA, or the certificate itself when it is
    self-signed) is written to keystone-ca.pem beside the parameters file (--ca-out), which
    os_ca_file then names. It becomes the CA of every OpenStack endpoint the components call.
  - NSX: the leaf certificates' thumbprints, which nsx_thumbprint then lists (NCP's
    [nsx_v3] thumbprint; the port tagger pins them too).

Compare what it prints with VIO's before you use it, out of band: on the NSX Manager,
"get certificate api thumbprint"; for Keystone, the certificate VIO's administrator gives you
(openssl x509 -noout -fingerprint -sha256 -in <file>). Anyone between this machine and VIO can
present their own certificate here; what you pin is what the cluster trusts from then on.

Without --write it prints the parameters to add; with --write it adds them to the parameters
file. What the parameters already pin is checked instead: a chain that does not match is
reported and the exit code is 1. epks template, install and cloud-init never fetch a
certificate; with IP access they require os_ca_file (or os_insecure, or --trust-system-roots).`,
		Example: `  epks trust -p params.yaml
  epks trust -p params.yaml --write`,
		Args: noArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if paramsFile == "" {
				return badInput("give the parameters file with --params")
			}
			p, err := params.Load(paramsFile)
			if err != nil {
				if os.IsNotExist(err) || strings.Contains(err.Error(), "reading parameters file") {
					return badInput("%v", err)
				}
				return err
			}
			if caOut == "" {
				caOut = filepath.Join(filepath.Dir(paramsFile), DefaultKeystoneCAFile)
			}
			t := truster{out: s.out, p: p, caOut: caOut}
			t.keystone(c.Context())
			t.nsx(c.Context())
			return t.finish(paramsFile, write)
		},
	}
	f := c.Flags()
	f.StringVarP(&paramsFile, "params", "p", "", "parameters file: the seed's HEAT parameters file, see docs/parameters.md")
	f.StringVar(&caOut, "ca-out", "", "where to write Keystone's CA [keystone-ca.pem beside the parameters file]")
	f.BoolVar(&write, "write", false, "add os_ca_file and nsx_thumbprint to the parameters file instead of printing them")
	return c
}

// truster gathers what epks trust shows, adds and finds wrong.
type truster struct {
	out      io.Writer
	p        *params.Params
	caOut    string
	add      []setting
	problems []string
}

func (t *truster) problem(format string, args ...any) {
	t.problems = append(t.problems, fmt.Sprintf(format, args...))
}

func (t *truster) printChain(chain []*x509.Certificate) {
	for i, c := range chain {
		role := "certificate"
		switch {
		case i == 0:
			role = "server certificate"
		case i == len(chain)-1:
			role = "last certificate of the chain"
		}
		fmt.Fprintf(t.out, "  %d. %s\n", i+1, role)
		for _, line := range strings.Split(certs.Describe(c), "\n") {
			fmt.Fprintf(t.out, "     %s\n", line)
		}
	}
}

func (t *truster) keystone(ctx context.Context) {
	p := t.p
	if p.OSInsecure {
		fmt.Fprintf(t.out, "Keystone: os_insecure is true, the OpenStack endpoints are not verified; nothing to pin.\n\n")
		return
	}
	u, err := url.Parse(p.OSAuthURL)
	if err != nil || u.Scheme != "https" {
		fmt.Fprintf(t.out, "Keystone: %s does not use TLS; nothing to pin.\n\n", p.OSAuthURL)
		return
	}
	via := t.via(u.Hostname())
	chain, err := certs.FetchChainVia(ctx, p.OSAuthURL, via)
	if err != nil {
		t.problem("Keystone: %v", err)
		return
	}
	fmt.Fprintf(t.out, "Keystone at %s presents:\n", p.OSAuthURL)
	t.printChain(chain)
	if len(p.OpenStackCA) > 0 {
		if err := certs.CheckVia(ctx, p.OSAuthURL, via, certs.Trust{CABundle: p.OpenStackCA}); err != nil {
			t.problem("Keystone's chain does not verify with the CA the parameters pin (%s): %v\n"+
				"  If VIO's certificate was replaced, compare the chain above with VIO's, then remove os_ca_file and run epks trust again.",
				openStackCAKeys(p), err)
			return
		}
		fmt.Fprintf(t.out, "  verified with the CA the parameters pin (%s): nothing to add.\n\n", openStackCAKeys(p))
		return
	}
	anchor, err := certs.Anchor(chain, u.Hostname(), timeNow())
	if err != nil {
		t.problem("Keystone: %v", err)
		return
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: anchor.Raw})
	if old, err := os.ReadFile(t.caOut); err == nil && !bytes.Equal(old, pemData) {
		t.problem("%s exists and holds other certificates; move it away or choose another file with --ca-out", t.caOut)
		return
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.problem("reading %s: %v", t.caOut, err)
		return
	}
	// A CA certificate is public: 0644.
	if err := atomicfile.Write(t.caOut, 0o644, func(w io.Writer) error { _, err := w.Write(pemData); return err }); err != nil {
		t.problem("%v", err)
		return
	}
	fmt.Fprintf(t.out, "  wrote certificate %d (SHA-256 %s) to %s: with os_ca_file naming it, it is the CA of every OpenStack endpoint.\n\n",
		len(chain), certs.Fingerprint(anchor), t.caOut)
	t.add = append(t.add, setting{key: "os_ca_file", value: t.caOut})
}

// via is the IP the pods reach host at through their hostAliases (the
// keystone_/nova_/cinder_ names and IPs), or "" to resolve it here.
func (t *truster) via(host string) string {
	for _, a := range t.p.HostAliases() {
		for _, n := range a.Hostnames {
			if n == host {
				return a.IP.String()
			}
		}
	}
	return ""
}

// managerHost is the host of an NSX Manager address.
func managerHost(m string) string {
	if !strings.Contains(m, "://") {
		m = "https://" + m
	}
	u, err := url.Parse(m)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

func openStackCAKeys(p *params.Params) string {
	if p.OSCAFile != "" {
		return "os_ca_file " + p.OSCAFile
	}
	return "nova_cert_file and cinder_cert_file"
}

func (t *truster) nsx(ctx context.Context) {
	p := t.p
	if p.NSXInsecure {
		fmt.Fprintf(t.out, "NSX: nsx_insecure is true, the NSX Managers are not verified; nothing to pin.\n\n")
		return
	}
	var pins []string
	for _, m := range p.NSXAPIManagers {
		via := t.via(managerHost(m))
		chain, err := certs.FetchChainVia(ctx, m, via)
		if err != nil {
			t.problem("NSX Manager %s: %v", m, err)
			continue
		}
		tp := certs.Thumbprint(chain[0])
		fmt.Fprintf(t.out, "NSX Manager %s presents:\n", m)
		t.printChain(chain)
		fmt.Fprintf(t.out, "  thumbprint (SHA-256 of the server certificate, as `get certificate api thumbprint` prints it):\n     %s\n", tp)
		pinned := false
		if len(p.NSXCA) > 0 {
			pinned = true
			if err := certs.CheckVia(ctx, m, via, certs.Trust{CABundle: p.NSXCA}); err != nil {
				t.problem("NSX Manager %s does not verify with nsx_ca_file %s: %v", m, p.NSXCAFile, err)
				continue
			}
		}
		if len(p.NSXThumbprints) > 0 {
			pinned = true
			if err := certs.CheckVia(ctx, m, via, certs.Trust{Thumbprints: p.NSXThumbprints}); err != nil {
				t.problem("NSX Manager %s: %v (nsx_thumbprint lists %s)", m, err, strings.Join(p.NSXThumbprints, ", "))
				continue
			}
		}
		switch {
		case pinned:
			fmt.Fprintf(t.out, "  verified with the trust the parameters pin: nothing to add.\n\n")
		case certs.CheckVia(ctx, m, via, certs.Trust{}) == nil:
			fmt.Fprintf(t.out, "  verified with the system roots: nothing to add.\n\n")
		default:
			fmt.Fprintln(t.out)
			pins = append(pins, tp)
		}
	}
	if len(pins) > 0 {
		t.add = append(t.add, setting{key: "nsx_thumbprint", value: pins})
	}
}

// finish prints or writes what to add, and reports the problems.
func (t *truster) finish(paramsFile string, write bool) error {
	if len(t.add) > 0 {
		if write {
			if err := setParams(paramsFile, t.add); err != nil {
				return err
			}
			fmt.Fprintf(t.out, "Added to %s:\n", paramsFile)
		} else {
			fmt.Fprintf(t.out, "After comparing the fingerprints above with VIO's, add to the parameters of %s (or run again with --write):\n", paramsFile)
		}
		for _, a := range t.add {
			fmt.Fprintf(t.out, "  %s\n", settingLine(a, filepath.Dir(paramsFile)))
		}
	} else if len(t.problems) == 0 {
		fmt.Fprintf(t.out, "Everything the parameters pin matches what the endpoints present.\n")
	}
	if len(t.problems) > 0 {
		return fmt.Errorf("trust:\n  %s", strings.Join(t.problems, "\n  "))
	}
	return nil
}

func settingLine(a setting, dir string) string {
	n := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Value: a.key}, valueNode(relativeTo(a.value, dir))}}
	data, _ := yaml.Marshal(n)
	return strings.TrimSpace(string(data))
}

// relativeTo makes a file path relative to the parameters' directory, as
// the parameters resolve it.
func relativeTo(v any, dir string) any {
	s, ok := v.(string)
	if !ok {
		return v
	}
	if absDir, err := filepath.Abs(dir); err == nil {
		if abs, err := filepath.Abs(s); err == nil {
			if rel, err := filepath.Rel(absDir, abs); err == nil && !strings.HasPrefix(rel, "..") {
				return rel
			}
			return abs
		}
	}
	return s
}

func valueNode(v any) *yaml.Node {
	switch v := v.(type) {
	case []string:
		n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
		for _, s := range v {
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
		}
		return n
	default:
		return &yaml.Node{Kind: yaml.ScalarNode, Value: fmt.Sprint(v)}
	}
}

// setParams sets keys in a parameters file (under parameters: when it has
// that map), keeping its comments and mode, whole or not at all.
func setParams(path string, add []setting) error {
	info, err := os.Stat(path)
	if err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return fmt.Errorf("%s: cannot add the parameters: the file is not one YAML map", path)
	}
	target := doc.Content[0]
	for i := 0; i+1 < len(target.Content); i += 2 {
		if target.Content[i].Value == "parameters" && target.Content[i+1].Kind == yaml.MappingNode {
			target = target.Content[i+1]
			break
		}
	}
	for _, a := range add {
		v := valueNode(relativeTo(a.value, filepath.Dir(path)))
		set := false
		for i := 0; i+1 < len(target.Content); i += 2 {
			if target.Content[i].Value == a.key {
				target.Content[i+1] = v
				set = true
			}
		}
		if !set {
			target.Content = append(target.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: a.key}, v)
		}
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return atomicfile.Write(path, info.Mode().Perm(), func(w io.Writer) error { _, err := w.Write(b.Bytes()); return err })
}
