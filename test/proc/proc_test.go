package proc

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStartStop(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(Spec{Name: "sleeper", Dir: dir, Path: "/bin/sh", Args: []string{"-c", "echo started; sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	pidFile, err := os.ReadFile(filepath.Join(dir, "sleeper.pid"))
	if err != nil || strings.TrimSpace(string(pidFile)) != strconv.Itoa(p.Pid()) {
		t.Fatalf("pid file %q, pid %d: %v", pidFile, p.Pid(), err)
	}
	if !Alive(p.Pid()) || p.Exited() {
		t.Fatal("the process does not run")
	}
	for i := 0; i < 100; i++ {
		if log, _ := os.ReadFile(p.LogPath); len(log) > 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.Exited() || Alive(p.Pid()) {
		t.Fatal("the process survived Stop")
	}
	if log, _ := os.ReadFile(p.LogPath); string(log) != "started\n" {
		t.Errorf("log %q", log)
	}
}

// TestStopKillsTheGroup checks that children of the process die with it.
func TestStopKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	p, err := Start(Spec{Name: "parent", Dir: dir, Path: "/bin/sh", Args: []string{"-c", "sleep 60 & echo $! > child.pid; wait"}})
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for i := 0; i < 50 && child == 0; i++ {
		data, _ := os.ReadFile(filepath.Join(dir, "child.pid"))
		child, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		time.Sleep(20 * time.Millisecond)
	}
	if child == 0 {
		t.Fatal("the child did not start")
	}
	if err := p.Stop(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50 && Alive(child); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	if Alive(child) {
		t.Error("a child of the stopped process still runs")
	}
}

func TestCrashErrorAndAppend(t *testing.T) {
	dir := t.TempDir()
	for i, want := range []string{"run 1\n", "run 1\nrun 2\n"} {
		p, err := Start(Spec{Name: "crasher", Dir: dir, Path: "/bin/sh", Args: []string{"-c", "echo run " + strconv.Itoa(i+1) + "; exit 3"}, AppendLog: i > 0})
		if err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		if err := p.CrashError(); err == nil || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "run "+strconv.Itoa(i+1)) {
			t.Errorf("crash error %v", err)
		}
		if log, _ := os.ReadFile(p.LogPath); string(log) != want {
			t.Errorf("log after run %d: %q, want %q", i+1, log, want)
		}
	}
}

func TestStopPid(t *testing.T) {
	p, err := Start(Spec{Name: "detached", Dir: t.TempDir(), Path: "/bin/sleep", Args: []string{"60"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := StopPid(p.Pid(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	<-p.Done()
	if Alive(p.Pid()) {
		t.Error("alive after StopPid")
	}
}

func TestLogTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	var lines []string
	for i := 0; i < 50; i++ {
		lines = append(lines, "line"+string(rune('A'+i%26)))
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tail := LogTail(path, 3)
	if strings.Count(tail, "\n") != 2 || !strings.HasSuffix(tail, lines[49]) {
		t.Errorf("tail = %q", tail)
	}
	if !strings.Contains(LogTail(filepath.Join(t.TempDir(), "none"), 3), "no log") {
		t.Error("a missing log must say so")
	}
}

// TestBindFiles runs a process that sees its own /etc/hosts and
// /etc/resolv.conf, while the host's stay as they are, and checks that it
// lives on (it forks from a thread kept for it: Pdeathsig would kill it if
// that thread ended).
func TestBindFiles(t *testing.T) {
	dir := t.TempDir()
	hosts, resolv := filepath.Join(dir, "hosts"), filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(hosts, []byte("192.0.2.7 keystone.vio.local\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(resolv, []byte("nameserver 127.0.10.53\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile("/etc/hosts")
	p, err := Start(Spec{Name: "pod", Dir: dir, Path: "/bin/sh", Args: []string{"-c", "cat /etc/hosts /etc/resolv.conf; sleep 60"},
		BindFiles: map[string]string{"/etc/hosts": hosts, "/etc/resolv.conf": resolv}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop(5 * time.Second)
	want := "192.0.2.7 keystone.vio.local\nnameserver 127.0.10.53\n"
	var log []byte
	for i := 0; i < 200; i++ {
		if log, _ = os.ReadFile(p.LogPath); string(log) == want {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if string(log) != want {
		t.Errorf("the process sees %q, want %q", log, want)
	}
	if after, _ := os.ReadFile("/etc/hosts"); string(after) != string(before) {
		t.Errorf("the host's /etc/hosts changed: %q", after)
	}
	time.Sleep(500 * time.Millisecond)
	if p.Exited() {
		t.Fatalf("the process died: %v", p.Err())
	}
}

// TestCrashErrorAddrInUse: a process that could not bind its port is told
// apart from other crashes, so that callers start it again on other ports.
func TestCrashErrorAddrInUse(t *testing.T) {
	for _, tt := range []struct {
		log  string
		want bool
	}{
		{"listen tcp 127.0.0.1:2379: bind: address already in use", true},
		{"panic: something else", false},
	} {
		p, err := Start(Spec{Name: "crash", Dir: t.TempDir(), Path: "/bin/sh", Args: []string{"-c", "echo '" + tt.log + "'; exit 1"}})
		if err != nil {
			t.Fatal(err)
		}
		<-p.Done()
		if got := errors.Is(p.CrashError(), ErrAddrInUse); got != tt.want {
			t.Errorf("log %q: errors.Is(CrashError(), ErrAddrInUse) = %v, want %v (%v)", tt.log, got, tt.want, p.CrashError())
		}
	}
}
