package testbed

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPodsDir(t *testing.T) {
	short := filepath.Join(os.TempDir(), "tb")
	defer os.RemoveAll(short)
	if got, err := podsDir(short); err != nil || got != filepath.Join(short, "pods") {
		t.Errorf("podsDir(%s) = %s, %v", short, got, err)
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 40))
	got, err := podsDir(long)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(got)
	if strings.HasPrefix(got, long) || len(got) > maxSocketDir {
		t.Errorf("podsDir of a long directory = %s: sockets would not fit", got)
	}
	// The longest socket a chart pod makes fits: <pods>/<pod, at most 40>/v/socket-dir/csi.sock.
	if n := len(got) + len("/"+strings.Repeat("p", 40)+"/v/socket-dir/csi.sock"); n > 107 {
		t.Errorf("a socket path would be %d bytes", n)
	}
}

func TestIndent(t *testing.T) {
	var b bytes.Buffer
	w := indent{&b}
	if _, err := w.Write([]byte("one\ntwo\n")); err != nil {
		t.Fatal(err)
	}
	if b.String() != "   one\n   two\n" {
		t.Errorf("indented %q", b.String())
	}
}
