package params

import "testing"

func TestEffectiveNSXAPIMode(t *testing.T) {
	for _, tc := range []struct{ mode, image, want string }{
		{"", "", NSXAPIPolicy}, // the chart's NCP 4.2.0
		{"", "registry.local/nsx-ncp:4.2.0", NSXAPIPolicy},
		{"", "registry.local/nsx-ncp:v3.2.1", NSXAPIManager},
		{"", "registry.local/nsx-ncp:3.1", NSXAPIManager},
		{"", "registry.local/2.4.1.13515827/nsx-ncp-ubuntu:latest", NSXAPIManager}, // the seed's
		{"", "registry.local/4.2.0/nsx-ncp-ubuntu", NSXAPIPolicy},
		{"policy", "registry.local/nsx-ncp:3.2.1", NSXAPIPolicy},
		{"manager", "registry.local/nsx-ncp:latest", NSXAPIManager},
	} {
		p := Params{NSXAPIMode: tc.mode, NCPImage: tc.image}
		if got := p.EffectiveNSXAPIMode(); got != tc.want {
			t.Errorf("mode %q image %q: %s, want %s", tc.mode, tc.image, got, tc.want)
		}
	}
	for _, ok := range []string{"t0-gw", "23fd006e-337a-467a-b3a6-1404a71cc2cf", "TZ_overlay.1"} {
		if r := policyIDProblem(ok); r != "" {
			t.Errorf("%q: %s", ok, r)
		}
	}
}
