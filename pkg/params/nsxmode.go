package params

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/distribution/reference"
)

// DefaultNCPVersion is the NCP version the chart pins (its ncp.image.tag);
// a test keeps the two equal.
const DefaultNCPVersion = "4.2.0"

// firstPolicyNCP is the first NCP major that uses the Policy API only: NCP
// 4.x forces policy_nsxapi = True.
const firstPolicyNCP = 4

var versionTag = regexp.MustCompile(`^v?([0-9]+)(\.|$)`)

// NCPMajor returns the major version of NCP an image reference names
// (ncp_image, or the chart's NCP when it is empty): its tag, else a path
// element such as the seed's registry.local/2.4.1.13515827/nsx-ncp-ubuntu:latest;
// false when neither names a version.
func NCPMajor(image string) (int, bool) {
	if image == "" {
		return major(DefaultNCPVersion)
	}
	ref, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return 0, false
	}
	if tagged, ok := ref.(reference.Tagged); ok {
		if m, ok := major(tagged.Tag()); ok {
			return m, true
		}
	}
	for _, elem := range strings.Split(reference.Path(ref), "/") {
		if strings.Contains(elem, ".") {
			if m, ok := major(elem); ok {
				return m, true
			}
		}
	}
	return 0, false
}

func major(version string) (int, bool) {
	m := versionTag.FindStringSubmatch(version)
	if m == nil {
		return 0, false
	}
	n, err := strconv.Atoi(m[1])
	return n, err == nil
}

// EffectiveNSXAPIMode is nsx_api_mode, or when it is empty the mode the NCP
// version needs: policy for NCP 4.x, manager before. The chart decides the
// same way from its ncp.image.tag.
func (p *Params) EffectiveNSXAPIMode() string {
	if p.NSXAPIMode != "" {
		return p.NSXAPIMode
	}
	if major, ok := NCPMajor(p.NCPImage); ok && major < firstPolicyNCP {
		return NSXAPIManager
	}
	return NSXAPIPolicy
}

// nsxAPIMode checks nsx_api_mode against the NCP version, and in policy
// mode the form of the NSX object references, which are then Policy IDs.
func (v *validator) nsxAPIMode() {
	p := v.p
	major, known := NCPMajor(p.NCPImage)
	switch p.NSXAPIMode {
	case "":
		if _, err := reference.ParseNormalizedNamed(p.NCPImage); !known && err == nil {
			v.add("nsx_api_mode", "is required: the tag of ncp_image %q names no NCP version to choose by (policy for NCP 4.x, manager before)", p.NCPImage)
			return
		}
	case NSXAPIManager:
		if known && major >= firstPolicyNCP {
			v.add("nsx_api_mode", "manager cannot be used with NCP %d.x: NCP 4.x uses the Policy API only (policy_nsxapi = True); use policy or an older ncp_image", major)
		}
	case NSXAPIPolicy:
	default:
		v.add("nsx_api_mode", "%q is not one of %s, %s", p.NSXAPIMode, NSXAPIManager, NSXAPIPolicy)
		return
	}
	if p.EffectiveNSXAPIMode() != NSXAPIPolicy {
		return
	}
	for _, k := range []struct{ key, value string }{
		{"tier0_router", p.Tier0Router}, {"overlay_tz", p.OverlayTZ}, {"ip_block", p.IPBlock}, {"external_ip_pool", p.ExternalIPPool},
	} {
		if strings.TrimSpace(k.value) == "" {
			continue // reported as blank
		}
		if reason := policyIDProblem(k.value); reason != "" {
			v.add(k.key, "%q is not an NSX Policy ID (the last element of the object's path, e.g. /infra/tier-0s/<id>), which the Policy API mode needs: %s", k.value, reason)
		}
	}
}

// policyIDProblem says why s cannot be a Policy object ID, or "".
func policyIDProblem(s string) string {
	switch {
	case len(s) > 255:
		return "longer than 255 characters"
	case strings.Contains(s, "/"):
		return "it contains '/' (give the ID, not the path)"
	case strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t"):
		return "it contains blanks (a display name, not an ID?)"
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return "it contains control characters"
		}
	}
	return ""
}
