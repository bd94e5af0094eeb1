// Package proc runs child processes the way the local control plane and the
// pod runner need them: each in its own process group, with its output in
// its own log file and its pid in a pid file, killed with the parent unless
// detached, and stopped by its own pid (SIGTERM, then SIGKILL).
package proc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Spec says what to run.
type Spec struct {
	// Name names the log file (Dir/<Name>.log) and the pid file
	// (Dir/<Name>.pid).
	Name string
	// Dir is the working directory and holds the log and pid files.
	Dir string
	// Path and Args are the program and its arguments.
	Path string
	Args []string
	// Env is the whole environment of the process; nil inherits ours.
	Env []string
	// Detached processes outlive the caller; others get SIGKILL when the
	// caller dies (Pdeathsig), so nothing outlives a test run even when the
	// test is killed.
	Detached bool
	// AppendLog appends to the log file instead of truncating it (a
	// restarted process keeps the log of its earlier runs).
	AppendLog bool
}

// Process is a started child process.
type Process struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	// done is closed when the process exited; err is its exit error.
	done chan struct{}
	err  error
}

// Start runs a process as spec says.
func Start(spec Spec) (*Process, error) {
	logPath := filepath.Join(spec.Dir, spec.Name+".log")
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if spec.AppendLog {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	logFile, err := os.OpenFile(logPath, flags, 0o600)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = spec.Dir
	cmd.Env = spec.Env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !spec.Detached {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", spec.Name, err)
	}
	logFile.Close() // the child has its own descriptor
	if err := os.WriteFile(filepath.Join(spec.Dir, spec.Name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		_ = killGroup(cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, err
	}
	p := &Process{Name: spec.Name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process ended.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Err is how the process exited; nil while it runs or after a clean exit.
func (p *Process) Err() error {
	if !p.Exited() {
		return nil
	}
	return p.err
}

// CrashError describes an exit with the end of the log.
func (p *Process) CrashError() error {
	return fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.Name, p.Err(), p.LogPath, LogTail(p.LogPath, 30))
}

// Stop ends the process group: SIGTERM, then SIGKILL after grace.
func (p *Process) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	if err := killGroup(p.Pid(), syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(grace):
	}
	if err := killGroup(p.Pid(), syscall.SIGKILL); err != nil {
		return err
	}
	<-p.done
	return nil
}

// killGroup signals the process group of pid.
func killGroup(pid int, sig syscall.Signal) error {
	err := syscall.Kill(-pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}

// StopPid ends a process that is not our child (a detached one), by the pid
// it recorded: SIGTERM to its group, then SIGKILL after grace.
func StopPid(pid int, grace time.Duration) error {
	if !Alive(pid) {
		return nil
	}
	if err := killGroup(pid, syscall.SIGTERM); err != nil {
		return err
	}
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !Alive(pid) {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := killGroup(pid, syscall.SIGKILL); err != nil {
		return err
	}
	for i := 0; i < 50 && Alive(pid); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if Alive(pid) {
		return fmt.Errorf("process %d survived SIGKILL", pid)
	}
	return nil
}

// Alive reports whether pid runs (and is not a zombie).
func Alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

// LogTail returns the last n lines of a file, indented.
func LogTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  " + strings.Join(lines, "\n  ")
}
