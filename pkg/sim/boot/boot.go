// Package boot runs viosim's Nova servers as QEMU virtual machines
// (viosim --boot qemu): each server boots its Glance image's disk through a
// qcow2 overlay of its own, with a config drive as Nova writes it and a NIC
// per Neutron port, with the port's MAC, on a tap device on the bridge of the
// port's network inside a network namespace that the caller made. Its status
// follows the machine (BUILD until QEMU runs, then ACTIVE; ERROR when QEMU
// fails; SHUTOFF when the guest powers off), and its serial console is Nova's
// console output.
//
// QEMU runs with software emulation (TCG) and no display. Every machine is
// stopped by its process id when its server is deleted or the booter is
// closed, and gets SIGKILL when viosim dies (the parent-death signal).
package boot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"

	"github.com/epks/epks/pkg/sim/model"
)

// Image is a disk image the servers of a Glance image boot from. The kernel
// is booted directly (the disk holds a file system, no boot loader), as the
// guest image of hack/build-guest-image.sh is made.
type Image struct {
	// Disk is the base disk (qcow2 or raw); servers write to overlays.
	Disk string
	// Kernel and Initrd are booted with -kernel and -initrd [the Disk's
	// path with .vmlinuz and .initrd in place of its extension].
	Kernel, Initrd string
	// Append is the kernel command line [root=/dev/vda rw console=ttyS0].
	Append string
}

// DefaultAppend is the kernel command line of Image.Append.
const DefaultAppend = "root=/dev/vda rw console=ttyS0"

// Config configures the QEMU booter.
type Config struct {
	// Dir holds a directory per server: the disk overlay, the config drive,
	// the serial console log, QEMU's log and pid file.
	Dir string
	// Images maps a Glance image's name or id to its disk; the key "" is
	// for every other image.
	Images map[string]Image
	// NetNS is the network namespace (as `ip netns` names it) of the tap
	// devices and of QEMU; "" is viosim's own.
	NetNS string
	// Servers selects by name the servers that run as machines; the others
	// stay simulated [nil: every server].
	Servers *regexp.Regexp
	// Bridges maps a Neutron network's name or id to its bridge in NetNS.
	// The tap of a port on a network without a bridge is on no bridge.
	Bridges map[string]string
	// QEMU is the emulator [qemu-system-x86_64]; QEMUImg its image tool
	// [qemu-img].
	QEMU, QEMUImg string
	// MaxMemoryMiB and MaxCPUs cap what a flavor gives a machine [2048, 2].
	MaxMemoryMiB, MaxCPUs int
	// StopTimeout is how long a machine has to exit after SIGTERM before
	// it is killed [10s].
	StopTimeout time.Duration
	// Log gets a line per machine started, stopped or failed [none].
	Log logr.Logger
}

// QEMU boots servers as QEMU machines. It implements nova.Booter.
type QEMU struct {
	cfg   Config
	world *model.World

	mu       sync.Mutex
	machines map[string]*machine
	closed   bool
}

type machine struct {
	id    string
	dir   string
	taps  []string
	ready chan struct{} // closed once the machine's QEMU was started, or failed to
	done  chan struct{} // closed once QEMU exited (or never started)
	cmd   *exec.Cmd
	// stopping is set by Stop, before the signal, so that the exit is not a
	// failure.
	stopping bool
}

// New makes a booter for the servers of world.
func New(world *model.World, cfg Config) (*QEMU, error) {
	if cfg.Dir == "" {
		return nil, errors.New("boot: no directory for the machines")
	}
	if len(cfg.Images) == 0 {
		return nil, errors.New("boot: no disk image")
	}
	for name, img := range cfg.Images {
		if img.Disk == "" {
			return nil, fmt.Errorf("boot: image %q has no disk", name)
		}
		stem := strings.TrimSuffix(img.Disk, filepath.Ext(img.Disk))
		if img.Kernel == "" {
			img.Kernel = stem + ".vmlinuz"
		}
		if img.Initrd == "" {
			img.Initrd = stem + ".initrd"
		}
		if img.Append == "" {
			img.Append = DefaultAppend
		}
		for _, f := range []string{img.Disk, img.Kernel, img.Initrd} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("boot: image %q: %w", name, err)
			}
		}
		cfg.Images[name] = img
	}
	if cfg.QEMU == "" {
		cfg.QEMU = "qemu-system-x86_64"
	}
	if cfg.QEMUImg == "" {
		cfg.QEMUImg = "qemu-img"
	}
	for _, tool := range []string{cfg.QEMU, cfg.QEMUImg, "ip"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("boot: %w (Debian packages qemu-system-x86, qemu-utils, iproute2)", err)
		}
	}
	if cfg.NetNS != "" {
		if _, err := os.Stat(filepath.Join(netnsDir, cfg.NetNS)); err != nil {
			return nil, fmt.Errorf("boot: network namespace %s: %w", cfg.NetNS, err)
		}
	}
	if cfg.MaxMemoryMiB <= 0 {
		cfg.MaxMemoryMiB = 2048
	}
	if cfg.MaxCPUs <= 0 {
		cfg.MaxCPUs = 2
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("boot: %w", err)
	}
	return &QEMU{cfg: cfg, world: world, machines: map[string]*machine{}}, nil
}

// Boots reports whether a server of this name runs as a machine
// (Config.Servers).
func (q *QEMU) Boots(name string) bool {
	return q.cfg.Servers == nil || q.cfg.Servers.MatchString(name)
}

// Boot starts the server's machine in the background.
func (q *QEMU) Boot(s model.Server) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed || q.machines[s.ID] != nil {
		return
	}
	m := &machine{id: s.ID, dir: filepath.Join(q.cfg.Dir, s.ID), ready: make(chan struct{}), done: make(chan struct{})}
	q.machines[s.ID] = m
	go q.run(m, s)
}

// setStatus sets a server's status (and fault) unless it is gone.
func (q *QEMU) setStatus(id, status, fault string) {
	_, _ = q.world.UpdateServer(id, func(s *model.Server) error {
		s.Status, s.Fault = status, fault
		return nil
	})
}

// run prepares and starts the machine, then waits for QEMU to exit.
func (q *QEMU) run(m *machine, s model.Server) {
	start := time.Now()
	args, err := q.prepare(m, s)
	if err != nil {
		close(m.done)
	} else {
		err = q.start(m, args)
	}
	close(m.ready)
	if errors.Is(err, errExited) {
		return // exited reported it
	}
	if err != nil {
		q.cfg.Log.Error(err, "the machine did not start", "server", s.Name, "id", s.ID)
		q.setStatus(s.ID, "ERROR", err.Error())
		return
	}
	q.cfg.Log.Info("machine started", "server", s.Name, "id", s.ID, "pid", m.cmd.Process.Pid, "took", time.Since(start).Round(time.Millisecond).String())
}

// imageFor is the disk of the server's Glance image.
func (q *QEMU) imageFor(s model.Server) (Image, error) {
	if img, ok := q.cfg.Images[s.ImageID]; ok {
		return img, nil
	}
	if g, err := q.world.Image(s.ImageID); err == nil {
		if img, ok := q.cfg.Images[g.Name]; ok {
			return img, nil
		}
	}
	if img, ok := q.cfg.Images[""]; ok {
		return img, nil
	}
	return Image{}, fmt.Errorf("no disk image for Glance image %s", s.ImageID)
}

// prepare writes the overlay and the config drive, makes the taps, and
// returns QEMU's command line.
func (q *QEMU) prepare(m *machine, s model.Server) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	img, err := q.imageFor(s)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(m.dir, 0o755); err != nil {
		return nil, err
	}
	memory, cpus, diskGiB := q.cfg.MaxMemoryMiB, 1, 0
	if f, err := q.world.Flavor(s.FlavorID); err == nil {
		memory, cpus, diskGiB = min(max(f.RAM, 256), q.cfg.MaxMemoryMiB), min(max(f.VCPUs, 1), q.cfg.MaxCPUs), f.Disk
	}
	disk := filepath.Join(m.dir, "disk.qcow2")
	abs, err := filepath.Abs(img.Disk)
	if err != nil {
		return nil, err
	}
	format := "qcow2"
	if ext := filepath.Ext(abs); ext == ".raw" || ext == ".img" {
		format = "raw"
	}
	create := []string{"create", "-q", "-f", "qcow2", "-F", format, "-b", abs, disk}
	if out, err := exec.CommandContext(ctx, q.cfg.QEMUImg, create...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(create, " "), err, bytes.TrimSpace(out))
	}
	if diskGiB > 0 {
		// Grow the overlay to the flavor's disk; a smaller flavor keeps the
		// image's size (qemu-img does not shrink).
		resize := exec.CommandContext(ctx, q.cfg.QEMUImg, "resize", "-q", disk, fmt.Sprintf("%dG", diskGiB))
		_ = resize.Run()
	}
	cd, err := ConfigDriveFor(q.world, s)
	if err != nil {
		return nil, err
	}
	iso := filepath.Join(m.dir, "config-drive.iso")
	if err := cd.WriteISO(ctx, iso); err != nil {
		return nil, err
	}
	args := []string{
		"-name", "guest=" + s.Name, "-uuid", s.ID,
		"-machine", "pc", "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", strconv.Itoa(cpus), "-m", strconv.Itoa(memory),
		"-nodefaults", "-nographic", "-monitor", "none", "-serial", "file:" + filepath.Join(m.dir, "console.log"),
		"-pidfile", filepath.Join(m.dir, "qemu.pid"),
		"-smbios", "type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,serial=" + s.ID + ",uuid=" + s.ID,
		"-kernel", img.Kernel, "-initrd", img.Initrd, "-append", img.Append,
		"-drive", "file=" + disk + ",if=virtio,format=qcow2,cache=unsafe,discard=unmap",
		"-drive", "file=" + iso + ",if=ide,media=cdrom,format=raw,readonly=on",
	}
	for i, p := range q.world.PortsOfDevice(s.ID) {
		tap := TapName(p.ID)
		bridge, mtu := q.cfg.Bridges[p.NetworkID], 0
		if n, err := q.world.Network(p.NetworkID); err == nil {
			if bridge == "" {
				bridge = q.cfg.Bridges[n.Name]
			}
			mtu = n.MTU
		}
		_ = deleteTap(ctx, q.cfg.NetNS, tap) // left by a machine that died with viosim
		if err := addTap(ctx, q.cfg.NetNS, tap, bridge, mtu); err != nil {
			return nil, fmt.Errorf("port %s: %w", p.ID, err)
		}
		m.taps = append(m.taps, tap)
		args = append(args,
			"-netdev", fmt.Sprintf("tap,id=nic%d,ifname=%s,script=no,downscript=no", i, tap),
			"-device", fmt.Sprintf("virtio-net-pci,netdev=nic%d,mac=%s", i, p.MACAddress))
	}
	return args, nil
}

// errExited is start's error when QEMU exited before it ran the machine.
var errExited = errors.New("QEMU exited")

// start runs QEMU (in the namespace) and waits until it runs the machine:
// until it wrote its pid file, which it does once the machine is set up.
func (q *QEMU) start(m *machine, args []string) error {
	name, full := q.cfg.QEMU, args
	if q.cfg.NetNS != "" {
		// ip execs QEMU in the namespace: the pid is QEMU's.
		name, full = "ip", append([]string{"netns", "exec", q.cfg.NetNS, q.cfg.QEMU}, args...)
	}
	logFile, err := os.Create(filepath.Join(m.dir, "qemu.log"))
	if err != nil {
		return err
	}
	started := make(chan error, 1)
	go func() {
		// The parent-death signal is sent when the thread that started the
		// process ends: this goroutine keeps its thread until QEMU exits.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer logFile.Close()
		cmd := exec.Command(name, full...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, logFile, logFile
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("starting QEMU: %w", err)
			close(m.done)
			return
		}
		q.mu.Lock()
		m.cmd = cmd
		q.mu.Unlock()
		_ = os.WriteFile(filepath.Join(m.dir, "pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
		started <- nil
		err := cmd.Wait()
		close(m.done)
		q.exited(m, err)
	}()
	if err := <-started; err != nil {
		return err
	}
	pidFile := filepath.Join(m.dir, "qemu.pid")
	for {
		if _, err := os.Stat(pidFile); err == nil {
			q.setStatus(m.id, "ACTIVE", "")
			return nil
		}
		select {
		case <-m.done:
			return errExited
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// exited records how QEMU ended: a stop is expected; a guest that powered
// off is SHUTOFF; anything else is an ERROR with the end of QEMU's log.
func (q *QEMU) exited(m *machine, err error) {
	q.mu.Lock()
	stopping := m.stopping
	q.mu.Unlock()
	if stopping {
		return
	}
	if err == nil {
		q.cfg.Log.Info("the machine powered off", "id", m.id)
		q.setStatus(m.id, "SHUTOFF", "")
		return
	}
	log, _ := os.ReadFile(filepath.Join(m.dir, "qemu.log"))
	msg := fmt.Sprintf("QEMU exited: %v", err)
	if tail := lastLines(string(log), 5); tail != "" {
		msg += ": " + strings.ReplaceAll(strings.TrimSpace(tail), "\n", "; ")
	}
	q.cfg.Log.Info("the machine failed", "id", m.id, "reason", msg)
	q.setStatus(m.id, "ERROR", msg)
}

// Stop stops the server's machine: SIGTERM to QEMU by its pid, SIGKILL
// after the stop timeout; then its taps and files are removed.
func (q *QEMU) Stop(id string) error {
	q.mu.Lock()
	m := q.machines[id]
	delete(q.machines, id)
	q.mu.Unlock()
	if m == nil {
		return nil
	}
	return q.stop(m)
}

func (q *QEMU) stop(m *machine) error {
	<-m.ready
	q.mu.Lock()
	m.stopping = true
	cmd := m.cmd
	q.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(q.cfg.StopTimeout):
			_ = cmd.Process.Kill()
			<-m.done
		}
		q.cfg.Log.Info("machine stopped", "id", m.id, "pid", cmd.Process.Pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	for _, tap := range m.taps {
		if err := deleteTap(ctx, q.cfg.NetNS, tap); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(m.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Pid is the process id of the server's QEMU (0 when it does not run).
func (q *QEMU) Pid(id string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	m := q.machines[id]
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return 0
	}
	select {
	case <-m.done:
		return 0
	default:
		return m.cmd.Process.Pid
	}
}

// ConsoleOutput returns the last lines of the server's serial console
// (every line when lines <= 0).
func (q *QEMU) ConsoleOutput(id string, lines int) (string, error) {
	q.mu.Lock()
	m := q.machines[id]
	q.mu.Unlock()
	if m == nil {
		return "", nil
	}
	data, err := os.ReadFile(filepath.Join(m.dir, "console.log"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("console log of server %s: %w", id, err)
	}
	out := strings.ReplaceAll(string(data), "\r\n", "\n")
	if lines > 0 {
		out = lastLines(out, lines)
	}
	return out, nil
}

// Close stops every machine, by its pid; no machine starts after it.
func (q *QEMU) Close() error {
	q.mu.Lock()
	q.closed = true
	all := q.machines
	q.machines = map[string]*machine{}
	q.mu.Unlock()
	var errs []error
	var wg sync.WaitGroup
	var emu sync.Mutex
	for _, m := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := q.stop(m); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
