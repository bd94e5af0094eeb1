package install

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestPrinterPlainReportsEachComponentOnce(t *testing.T) {
	var buf bytes.Buffer
	p := NewPrinter(&buf)
	p.Step("Installing release r")
	p.StepDone(nil)
	notReady := []ComponentStatus{{Name: "ncp"}, {Name: "occm", Ready: true, Workloads: []WorkloadStatus{{
		Workload: Workload{Kind: "DaemonSet", Name: "r-occm"}, Readiness: Readiness{Ready: true, Summary: "1/1 nodes available"}}}}}
	p.Components(notReady, 3*time.Second)
	p.Components(notReady, 4*time.Second)
	p.Step("Waiting")
	p.StepDone(errors.New("boom"))
	out := buf.String()
	for _, want := range []string{" • Installing release r ...", " ✓ Installing release r", "✓ occm", "ready after 3s (DaemonSet r-occm: 1/1 nodes available)", " ✗ Waiting"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Count(out, "✓ occm") != 1 {
		t.Errorf("occm reported more than once:\n%s", out)
	}
	if strings.Contains(out, "ncp") {
		t.Errorf("a component that is not ready was reported ready:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("escape codes written to a non-terminal:\n%q", out)
	}
}

func TestSummaryCountsAlikeWorkloads(t *testing.T) {
	ready := Readiness{Ready: true, Summary: "established"}
	c := ComponentStatus{Workloads: []WorkloadStatus{
		{Workload: Workload{Kind: "CustomResourceDefinition", Name: "a"}, Readiness: ready},
		{Workload: Workload{Kind: "CustomResourceDefinition", Name: "b"}, Readiness: ready},
		{Workload: Workload{Kind: "CustomResourceDefinition", Name: "c"}, Readiness: Readiness{Summary: "not established yet"}},
		{Workload: Workload{Kind: "Deployment", Name: "d"}, Readiness: Readiness{Summary: "0/1 available"}},
	}}
	want := "2 CustomResourceDefinitions: established; CustomResourceDefinition c: not established yet; Deployment d: 0/1 available"
	if got := c.Summary(); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
}

func TestPrinterLiveRedraws(t *testing.T) {
	var buf bytes.Buffer
	p := &Printer{w: &buf, live: true, reported: map[string]bool{}}
	st := []ComponentStatus{{Name: "ncp"}, {Name: "occm", Ready: true}}
	p.Components(st, time.Second)
	first := buf.Len()
	p.Components(st, 2*time.Second)
	second := buf.String()[first:]
	if !strings.HasPrefix(second, "\x1b[3A") {
		t.Fatalf("second frame does not move the cursor up over 3 lines: %q", second)
	}
	if !strings.Contains(second, "✓ occm") || !strings.Contains(second, "2s elapsed") {
		t.Errorf("frame lacks state: %q", second)
	}
}
