package install

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/epks/epks/pkg/certs"
)

// TrustTarget is a TLS endpoint the components call, with each trust a
// component verifies it with.
type TrustTarget struct {
	// Name says what the endpoint is, e.g. "Keystone" or "NSX Manager 192.0.2.1".
	Name string
	// Address is https://host[:port]/... or host[:port].
	Address string
	// Via is the IP to connect to instead of resolving Address's host, as
	// the pods' hostAliases map it; "" resolves it.
	Via string
	// Trusts are checked one by one; each must accept the endpoint.
	Trusts []NamedTrust
}

// NamedTrust is one trust and who uses it, for the message.
type NamedTrust struct {
	// Use says which component verifies with it and which value sets it.
	Use   string
	Trust certs.Trust
	// Missing is true when no trust is configured (the system roots are
	// used); the message then says what to add: Fix.
	Missing bool
	Fix     string
}

// TrustError lists every endpoint whose certificate a component would
// refuse. It is a failed preflight: nothing was applied.
type TrustError struct {
	Problems []string
}

func (e *TrustError) Error() string {
	return "preflight: the components would refuse these endpoints' certificates; nothing was applied:\n  " +
		strings.Join(e.Problems, "\n  ")
}

// CheckTrust connects to every target and completes a TLS handshake with
// each of its trusts, before anything is applied: a presented chain that
// does not match what the values pin (Keystone's CA, the NSX CA or
// thumbprints), or an NSX Manager that no configured trust accepts, is a
// *TrustError naming it. It never trusts what it is presented.
func CheckTrust(ctx context.Context, targets []TrustTarget) error {
	var problems []string
	for _, t := range targets {
		for _, nt := range t.Trusts {
			if nt.Trust.Insecure {
				continue
			}
			err := certs.CheckVia(ctx, t.Address, t.Via, nt.Trust)
			if err == nil {
				continue
			}
			msg := fmt.Sprintf("%s (%s), as %s verifies it: %v", t.Name, t.Address, nt.Use, err)
			if nt.Missing {
				msg += "\n    no trust is set for it: run `epks trust -p <parameters file>`, compare what it prints with VIO's, " +
					"and add the " + nt.Fix + " it names"
			} else {
				msg += "\n    the endpoint presents a certificate the pinned trust does not accept: if VIO's certificate was replaced, " +
					"run `epks trust -p <parameters file>` and compare before pinning the new one"
			}
			problems = append(problems, msg)
		}
	}
	if len(problems) > 0 {
		return &TrustError{Problems: problems}
	}
	return nil
}

// TrustTargetsFromValues returns the endpoints the chart's components call
// and the trust each verifies them with, from chart values: Keystone with
// openstack.caBundle (the OCCM, cinder-csi and the port tagger), and each
// NSX Manager with nsx.caBundle (NCP, and the tagger without thumbprints)
// and nsx.thumbprints (the tagger, and NCP without a CA). Endpoints whose
// trust lives in an existing Secret are left out.
func TrustTargetsFromValues(v map[string]any) []TrustTarget {
	var out []TrustTarget
	aliases := aliasIPs(v)
	os, _ := v["openstack"].(map[string]any)
	if url, _ := os["authURL"].(string); url != "" && strings.HasPrefix(url, "https://") && str(os, "existingSecret") == "" {
		ca := str(os, "caBundle")
		out = append(out, TrustTarget{Name: "Keystone", Address: url, Via: aliases[hostOf(url)], Trusts: []NamedTrust{{
			Use:     "the cloud controller manager, cinder-csi and the port tagger (openstack.caBundle)",
			Trust:   certs.Trust{CABundle: []byte(ca), Insecure: boolean(os, "insecure")},
			Missing: ca == "",
			Fix:     "os_ca_file",
		}}})
	}
	nsx, _ := v["nsx"].(map[string]any)
	ca := str(nsx, "caBundle")
	var thumbprints []string
	if list, ok := nsx["thumbprints"].([]any); ok {
		for _, t := range list {
			if s, ok := t.(string); ok && s != "" {
				thumbprints = append(thumbprints, s)
			}
		}
	}
	insecure := boolean(nsx, "insecure")
	if ca == "" && len(thumbprints) == 0 && str(nsx, "existingSecret") != "" {
		return out
	}
	managers, _ := nsx["managers"].([]any)
	for _, m := range managers {
		addr, _ := m.(string)
		if addr == "" {
			continue
		}
		t := TrustTarget{Name: "NSX Manager " + addr, Address: addr, Via: aliases[hostOf(addr)]}
		switch {
		case insecure:
		case ca == "" && len(thumbprints) == 0:
			t.Trusts = append(t.Trusts, NamedTrust{Use: "NCP and the port tagger (system roots: no nsx.caBundle, no nsx.thumbprints)", Missing: true, Fix: "nsx_thumbprint (or nsx_ca_file)"})
		default:
			if ca != "" {
				t.Trusts = append(t.Trusts, NamedTrust{Use: "NCP (nsx.caBundle)", Trust: certs.Trust{CABundle: []byte(ca)}})
			}
			if len(thumbprints) > 0 {
				use := "the port tagger (nsx.thumbprints)"
				if ca == "" {
					use = "NCP and the port tagger (nsx.thumbprints)"
				}
				t.Trusts = append(t.Trusts, NamedTrust{Use: use, Trust: certs.Trust{Thumbprints: thumbprints}})
			}
		}
		if len(t.Trusts) > 0 {
			out = append(out, t)
		}
	}
	return out
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func boolean(m map[string]any, k string) bool {
	b, _ := m[k].(bool)
	return b
}

// aliasIPs maps the host names of hostAliases to their IPs.
func aliasIPs(v map[string]any) map[string]string {
	out := map[string]string{}
	list, _ := v["hostAliases"].([]any)
	for _, a := range list {
		m, _ := a.(map[string]any)
		ip := str(m, "ip")
		names, _ := m["hostnames"].([]any)
		for _, n := range names {
			if s, ok := n.(string); ok && ip != "" {
				out[s] = ip
			}
		}
	}
	return out
}

// hostOf returns the host of https://host[:port]/..., host:port or host.
func hostOf(addr string) string {
	raw := addr
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
