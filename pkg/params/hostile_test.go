package params

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestLineBreaksAndControlsRefused puts every character that some reader
// of epks's outputs takes for a line break or a terminal control into every
// string parameter: each is refused, naming the key, and a secret's
// character is not shown.
func TestLineBreaksAndControlsRefused(t *testing.T) {
	chars := []rune{'\n', '\r', '\t', '\v', '\f', 0x1b, 0, 0x7f, 0x85, 0x9b, 0x2028, 0x2029, 0x202e, 0xfeff}
	for _, key := range StringKeys() {
		var p Params
		k, _ := keyByName(key)
		_, list := k.field(&p).(*[]string)
		for _, r := range chars {
			if list && r == '\t' {
				continue // a separator of list items, as spaces and commas are
			}
			m := seed()
			m[key] = "a" + string(r) + "b"
			_, err := parse(t, fixture(t), m)
			if err == nil {
				t.Errorf("%s with %U is accepted", key, r)
				continue
			}
			found := false
			for _, p := range problemsOf(t, err) {
				found = found || p.Key == key
			}
			if !found {
				t.Errorf("%s with %U: the error does not name the key: %v", key, r, err)
			}
			for _, line := range strings.Split(err.Error(), "\n") {
				if strings.ContainsRune(line, r) {
					t.Errorf("%s with %U: the error prints the character raw", key, r)
				}
			}
		}
	}
}

// TestHostileFiles loads the hostile parameter files of testdata/hostile:
// each says in its first line "# want: KEY: REASON" (KEY "-" for the file),
// and "# never: TEXT" lines that must not appear in the error.
func TestHostileFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/hostile/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no hostile files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want string
			var never []string
			for _, line := range strings.Split(string(data), "\n") {
				if v, ok := strings.CutPrefix(line, "# want: "); ok {
					want = v
				}
				if v, ok := strings.CutPrefix(line, "# never: "); ok {
					never = append(never, v)
				}
			}
			key, reason, _ := strings.Cut(want, ": ")
			_, err = Parse(data, Source{Name: "hostile.yaml", Dir: t.TempDir(), Now: testNow})
			if err == nil {
				t.Fatal("accepted")
			}
			found := false
			for _, p := range problemsOf(t, err) {
				if (Printable(p.Key) == key || key == "-" && p.Key == "") && strings.Contains(p.Reason, reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("want %s: ...%s..., got %v", key, reason, err)
			}
			for _, s := range never {
				if strings.Contains(err.Error(), s) {
					t.Errorf("the error shows %q: %v", s, err)
				}
			}
			for _, r := range err.Error() {
				if r != '\n' && IsUnsafeRune(r) {
					t.Errorf("the error holds %U raw", r)
				}
			}
		})
	}
}

// TestCredentialsInURLs: user info, a query or a fragment in an NSX Manager
// or Keystone URL is refused, and the URL is never shown.
func TestCredentialsInURLs(t *testing.T) {
	for _, tc := range []struct{ key, value string }{
		{"nsx_api_manager", "https://admin:S3cretPW@nsx.local"},
		{"nsx_api_manager", "admin:S3cretPW@nsx.local"},
		{"nsx_api_manager", "https://nsx.local/?token=S3cretPW"},
		{"nsx_api_manager", "https://nsx.local#S3cretPW"},
		{"nsx_api_manager", "nsx.local?S3cretPW"},
		{"nsx_api_managers", "https://u:S3cretPW@nsx2.local"},
		{"os_auth_url", "https://admin:S3cretPW@keystone.local:5000/v3"},
		{"os_auth_url", "https://keystone.local:5000/v3?password=S3cretPW"},
		{"os_auth_url", "https://keystone.local:5000/v3#S3cretPW"},
		{"os_auth_url", "https://admin:S3cret%zzPW@keystone.local/v3"},
	} {
		m := seed()
		m[tc.key] = tc.value
		_, err := parse(t, fixture(t), m)
		if err == nil {
			t.Errorf("%s %s accepted", tc.key, tc.value)
			continue
		}
		ps := problemsOf(t, err)
		if len(ps) != 1 || !strings.HasPrefix(ps[0].Key, "nsx_api_manager") && ps[0].Key != tc.key {
			t.Errorf("%s: want one problem naming it, got %v", tc.key, err)
		}
		if strings.Contains(err.Error(), "S3cret") {
			t.Errorf("%s: the error shows the value: %v", tc.key, err)
		}
	}
}

func TestZonesAndPodRange(t *testing.T) {
	for _, tc := range []struct{ key, value, reason string }{
		{"keystone_ip", "fe80::1%eth0", "IPv6 zone"},
		{"nova_ip", "fe80::1%25eth0", "IPv6 zone"},
		{"nsx_api_manager", "[fe80::1%eth0]:443", "IPv6 zone"},
		{"nsx_api_manager", "https://[fe80::1%25eth0]", "IPv6 zone"},
		{"os_auth_url", "https://[fe80::1%25eth0]:5000/v3", "IPv6 zone"},
		{"kube_apiserver_host", "fe80::1%eth0", "IPv6 zone"},
		{"pod_network_cidr", "193.167.0.0/25", "kubeadm gives every node a /24"},
		{"pod_network_cidr", "fd00::/96", "/64"},
		{"pod_network_cidr", "12.0.0.0/7", "at most 16 bits"},
	} {
		m := seed()
		m[tc.key] = tc.value
		_, err := parse(t, fixture(t), m)
		if err == nil {
			t.Errorf("%s %s accepted", tc.key, tc.value)
			continue
		}
		ps := problemsOf(t, err)
		if len(ps) != 1 || ps[0].Key != tc.key || !strings.Contains(ps[0].Reason, tc.reason) {
			t.Errorf("%s %s: want %s: ...%s..., got %v", tc.key, tc.value, tc.key, tc.reason, err)
		}
	}
	m := seed()
	m["pod_network_cidr"] = "193.167.0.0/24"
	if _, err := parse(t, fixture(t), m); err != nil {
		t.Errorf("a /24 pod network is one node's range and must pass: %v", err)
	}
}

// TestReadsRegularFilesOnly: a FIFO does not hang, a device is refused,
// and a file over the limit is not read.
func TestReadsRegularFilesOnly(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, MaxFileSize+1), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]error{fifo: ErrNotRegular, "/dev/zero": ErrNotRegular, dir: ErrNotRegular, big: ErrTooLarge} {
		done := make(chan error, 1)
		go func() { _, err := ReadFile(path, MaxFileSize); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, want) {
				t.Errorf("%s: got %v, want %v", path, err, want)
			}
		case <-time.After(time.Minute):
			t.Fatalf("reading %s hangs", path)
		}
	}
	m := seed()
	m["os_ca_file"] = "/dev/zero"
	_, err := parse(t, fixture(t), m)
	if ps := problemsOf(t, err); len(ps) != 1 || ps[0].Key != "os_ca_file" || !strings.Contains(ps[0].Reason, "not a regular file") {
		t.Errorf("os_ca_file /dev/zero: %v", err)
	}
	if _, err := LoadFor(fifo, ForAddons); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("a FIFO as the parameters file: %v", err)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain ünï":      "plain ünï",
		"a\x1b[31mb":     `a\x1b[31mb`,
		"a\u2028b":       `a\u2028b`,
		"a\u0085b\xffc":  `a\u0085b\xffc`,
		"tab\tnewline\n": `tab\x09newline\x0a`,
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %s, want %s", in, got, want)
		}
	}
}
