package logging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"k8s.io/klog/v2"

	"github.com/epks/epks/pkg/logging"
)

func TestJSONAndVerbosity(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(&buf, logging.Options{Format: logging.JSON, Verbosity: 1})
	if err != nil {
		t.Fatal(err)
	}
	log.WithName("tagger").Info("tagged", "node", "n1")
	log.V(1).Info("detail")
	log.V(2).Info("too detailed")
	log.Error(errors.New("boom"), "failed", "port", "p1")
	// klog (client-go, leader election) logs through the same logger.
	klog.InfoS("from klog", "lease", "l1")
	klog.V(2).InfoS("klog too detailed")
	klog.Flush()

	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not a JSON line: %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"msg": "tagged", "logger": "tagger", "node": "n1"},
		{"msg": "detail", "v": float64(1)},
		{"msg": "failed", "error": "boom", "port": "p1"},
		{"msg": "from klog", "lease": "l1"},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), buf.String())
	}
	for i, w := range want {
		for k, v := range w {
			if lines[i][k] != v {
				t.Errorf("line %d: %s = %v, want %v (%v)", i, k, lines[i][k], v, lines[i])
			}
		}
		if _, ok := lines[i]["ts"]; !ok {
			t.Errorf("line %d has no time: %v", i, lines[i])
		}
	}
}

func TestText(t *testing.T) {
	var buf bytes.Buffer
	log, err := logging.New(&buf, logging.Options{Format: logging.Text})
	if err != nil {
		t.Fatal(err)
	}
	log.Info("machine started", "pid", 42)
	log.V(1).Info("not at verbosity 0")
	out := buf.String()
	if !strings.Contains(out, "INFO\tmachine started\t{\"pid\": 42}") || strings.Contains(out, "verbosity 0") {
		t.Errorf("text log:\n%s", out)
	}
}

func TestFlagsAndValidation(t *testing.T) {
	o := logging.Options{Format: logging.Text}
	fs := pflag.NewFlagSet("epks", pflag.ContinueOnError)
	o.AddFlags(fs)
	if err := fs.Parse([]string{"-v", "3", "--log-format", "json"}); err != nil {
		t.Fatal(err)
	}
	if o.Verbosity != 3 || o.Format != logging.JSON {
		t.Errorf("pflag: %+v", o)
	}
	g := logging.Options{Format: logging.JSON}
	gfs := flag.NewFlagSet("tagger", flag.ContinueOnError)
	g.AddGoFlags(gfs)
	if err := gfs.Parse([]string{"--v=2", "-log-format=text"}); err != nil {
		t.Fatal(err)
	}
	if g.Verbosity != 2 || g.Format != logging.Text {
		t.Errorf("flag: %+v", g)
	}
	for _, bad := range []logging.Options{{Format: "xml"}, {Format: logging.Text, Verbosity: -1}, {Format: logging.JSON, Verbosity: 11}} {
		if _, err := logging.New(&bytes.Buffer{}, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// TestKlogVerbosityCapped: client-go logs request and response bodies
// (Secrets among them) from klog's V(8); no -v reaches that.
func TestKlogVerbosityCapped(t *testing.T) {
	var buf bytes.Buffer
	if _, err := logging.New(&buf, logging.Options{Format: logging.JSON, Verbosity: 10}); err != nil {
		t.Fatal(err)
	}
	if !klog.V(logging.MaxKlogVerbosity).Enabled() {
		t.Errorf("klog V(%d) is off at -v 10", logging.MaxKlogVerbosity)
	}
	for _, v := range []klog.Level{7, 8, 9} {
		if klog.V(v).Enabled() {
			t.Errorf("klog V(%d) is on: client-go would log request bodies", v)
		}
	}
}
