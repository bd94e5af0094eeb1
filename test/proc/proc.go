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
	"runtime"
	"sort"
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
	// BindFiles maps files the process sees (e.g. /etc/hosts) to the files
	// it sees there instead: the process runs in a private mount namespace
	// of its own with each bind-mounted over its target, as a container
	// sees the /etc/hosts and /etc/resolv.conf kubelet wrote. It needs root
	// (CAP_SYS_ADMIN); the host's mounts are not changed.
	BindFiles map[string]string
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
	p := &Process{Name: spec.Name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		if len(spec.BindFiles) > 0 {
			// The mount namespace is this thread's, and the child forks from
			// it. The thread stays locked until the child exited: it then
			// ends with the goroutine (never serving other goroutines), and
			// Pdeathsig, which fires when the forking thread ends, does not
			// kill the child early.
			runtime.LockOSThread()
			if err := privateMounts(spec.BindFiles); err != nil {
				started <- fmt.Errorf("starting %s in a private mount namespace: %w", spec.Name, err)
				return
			}
		}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("starting %s: %w", spec.Name, err)
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	err = <-started
	logFile.Close() // the child has its own descriptor
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(spec.Dir, spec.Name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		_ = killGroup(cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return nil, err
	}
	return p, nil
}

// privateMounts moves the calling thread into a new mount namespace whose
// mounts do not propagate to the host's, and bind-mounts each source file
// over its target there.
func privateMounts(binds map[string]string) error {
	if err := syscall.Unshare(syscall.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare: %w (a private mount namespace needs root)", err)
	}
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making / private: %w", err)
	}
	targets := make([]string, 0, len(binds))
	for t := range binds {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	for _, target := range targets {
		if err := syscall.Mount(binds[target], target, "", syscall.MS_BIND, ""); err != nil {
			return fmt.Errorf("bind-mounting %s over %s: %w", binds[target], target, err)
		}
	}
	return nil
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

// ErrAddrInUse is wrapped by CrashError when the process's log says that
// it could not listen on an address: a port chosen free was taken before
// the process bound it, and a start on other ports may succeed.
var ErrAddrInUse = errors.New("address already in use")

// CrashError describes an exit with the end of the log. It wraps
// ErrAddrInUse when the log holds "address already in use".
func (p *Process) CrashError() error {
	err := fmt.Errorf("%s exited (%v); last lines of %s:\n%s", p.Name, p.Err(), p.LogPath, LogTail(p.LogPath, 30))
	if data, rerr := os.ReadFile(p.LogPath); rerr == nil && bytes.Contains(data, []byte("address already in use")) {
		return fmt.Errorf("%w: %w", ErrAddrInUse, err)
	}
	return err
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
