package sim_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/simtest"
)

// cliStep is one command an operator runs, with what its output must
// hold (every substring of want), or that it must fail.
type cliStep struct {
	args []string
	want []string
	not  []string // substrings the output must not hold
	fail bool
	// save names the step's output (trimmed, e.g. an id printed with
	// -f value -c ID): "{name}" in the arguments of the steps after it
	// stands for it.
	save string
}

// TestOpenStackCLI drives viosim with the official OpenStack CLI
// (python3-openstackclient, python3-octaviaclient, as hack/ci-setup.sh
// installs them) through what epks cluster create and delete do and what
// an operator checks afterwards, asserting each command's output.
func TestOpenStackCLI(t *testing.T) {
	cli := startCLI(t)
	s := start(t, sim.Options{Transition: 20 * time.Millisecond})
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	pub := filepath.Join(dir, "id.pub")
	userData := filepath.Join(dir, "user-data")
	for path, data := range map[string]string{ca: string(s.CACertPEM()), pub: pubKeyForCLI, userData: "#cloud-config\nhostname: demo-master-0\n"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(),
		"OS_AUTH_URL="+s.URL(sim.Keystone), "OS_IDENTITY_API_VERSION=3", "OS_USERNAME=admin", "OS_PASSWORD=viosim-password",
		"OS_USER_DOMAIN_ID=default", "OS_PROJECT_ID="+s.Seeded.Project.ID, "OS_REGION_NAME=RegionOne", "OS_INTERFACE=public",
		"OS_CACERT="+ca, "HOME="+dir, "OS_CLOUD=")
	steps := []cliStep{
		{args: []string{"network", "list", "-f", "value", "-c", "Name"}, want: []string{"k8scluster-mgmt", "public"}},
		{args: []string{"network", "create", "demo-mgmt", "-f", "value", "-c", "name"}, want: []string{"demo-mgmt"}},
		{args: []string{"network", "set", "--description", "management", "demo-mgmt"}},
		{args: []string{"network", "show", "demo-mgmt", "-f", "value", "-c", "description"}, want: []string{"management"}},
		{args: []string{"subnet", "create", "demo-mgmt-subnet", "--network", "demo-mgmt", "--subnet-range", "10.60.0.0/24",
			"--dns-nameserver", "10.0.0.53", "--allocation-pool", "start=10.60.0.10,end=10.60.0.100", "-f", "json"},
			want: []string{`"10.60.0.10"`, `"10.60.0.100"`, "10.0.0.53"}},
		{args: []string{"subnet", "list", "--network", "demo-mgmt", "-f", "value", "-c", "Name"}, want: []string{"demo-mgmt-subnet"}},
		{args: []string{"subnet", "set", "--no-dns-nameservers", "--dns-nameserver", "10.0.0.54", "demo-mgmt-subnet"}},
		{args: []string{"subnet", "show", "demo-mgmt-subnet", "-f", "value", "-c", "dns_nameservers"}, want: []string{"10.0.0.54"}},
		{args: []string{"router", "create", "demo-router", "-f", "value", "-c", "name"}, want: []string{"demo-router"}},
		{args: []string{"router", "set", "--external-gateway", "public", "--disable-snat", "demo-router"}},
		{args: []string{"router", "show", "demo-router", "-f", "json"}, want: []string{`"enable_snat": false`}},
		{args: []string{"router", "add", "subnet", "demo-router", "demo-mgmt-subnet"}},
		{args: []string{"port", "list", "--router", "demo-router", "-f", "value", "-c", "Fixed IP Addresses"}, want: []string{"10.60.0.1"}},
		{args: []string{"port", "create", "demo-master-0-mgmt", "--network", "demo-mgmt", "--fixed-ip", "subnet=demo-mgmt-subnet,ip-address=10.60.0.20",
			"--tag", "cluster=demo", "-f", "json"}, want: []string{"10.60.0.20", "cluster=demo"}},
		{args: []string{"port", "list", "--tags", "cluster=demo", "-f", "value", "-c", "Name"}, want: []string{"demo-master-0-mgmt"}},
		{args: []string{"security", "group", "list", "-f", "value", "-c", "Name"}, want: []string{"default"}},
		{args: []string{"security", "group", "create", "demo-sg", "-f", "value", "-c", "name"}, want: []string{"demo-sg"}},
		{args: []string{"security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "6443", "--remote-ip", "10.60.0.0/24", "demo-sg", "-f", "value", "-c", "port_range_max"}, want: []string{"6443"}},
		{args: []string{"security", "group", "rule", "create", "--protocol", "tcp", "--dst-port", "6443", "--remote-ip", "10.60.0.0/24", "demo-sg"}, fail: true, want: []string{"already exists"}},
		{args: []string{"security", "group", "rule", "list", "demo-sg", "-f", "value", "-c", "Port Range"}, want: []string{"6443:6443"}},
		{args: []string{"floating", "ip", "create", "--port", "demo-master-0-mgmt", "public", "-f", "json"}, want: []string{"10.60.0.20", `"router_id": "`}},
		{args: []string{"floating", "ip", "list", "-f", "value", "-c", "Fixed IP Address"}, want: []string{"10.60.0.20"}},
		{args: []string{"keypair", "create", "--public-key", pub, "test", "-f", "value", "-c", "name"}, want: []string{"test"}},
		{args: []string{"keypair", "list", "-f", "value", "-c", "Name"}, want: []string{"test"}},
		{args: []string{"keypair", "show", "test", "-f", "value", "-c", "fingerprint"}, want: []string{":"}},
		{args: []string{"image", "list", "-f", "value", "-c", "Name"}, want: []string{"ubuntu_dual_nic"}},
		{args: []string{"image", "show", "ubuntu_dual_nic", "-f", "value", "-c", "status"}, want: []string{"active"}},
		{args: []string{"flavor", "list", "-f", "value", "-c", "Name"}, want: []string{"m1.medium"}},
		{args: []string{"flavor", "show", "m1.medium", "-f", "value", "-c", "vcpus"}, want: []string{"2"}},
		{args: []string{"availability", "zone", "list", "--compute", "-f", "value", "-c", "Zone Name"}, want: []string{"nova"}},
		{args: []string{"server", "group", "create", "--policy", "anti-affinity", "demo-cp", "-f", "value", "-c", "name"}, want: []string{"demo-cp"}},
		{args: []string{"server", "create", "demo-master-0", "--image", "ubuntu_dual_nic", "--flavor", "m1.medium", "--nic", "port-id=demo-master-0-mgmt",
			"--key-name", "test", "--config-drive", "True", "--user-data", userData, "--wait", "-f", "value", "-c", "status"}, want: []string{"ACTIVE"}},
		{args: []string{"server", "create", "bad-key", "--image", "ubuntu_dual_nic", "--flavor", "m1.medium", "--network", "demo-mgmt", "--key-name", "missing"},
			fail: true, want: []string{"Invalid key_name"}},
		{args: []string{"server", "list", "-f", "value", "-c", "Name", "-c", "Status"}, want: []string{"demo-master-0 ACTIVE"}},
		{args: []string{"server", "show", "demo-master-0", "-f", "json"}, want: []string{`"key_name": "test"`, "10.60.0.20"}},
		{args: []string{"quota", "show", "-f", "json"}, want: []string{`"instances": 10`, `"ports": 500`}},
		{args: []string{"volume", "create", "--size", "1", "demo-vol", "-f", "value", "-c", "name"}, want: []string{"demo-vol"}},
		{args: []string{"volume", "list", "-f", "value", "-c", "Name"}, want: []string{"demo-vol"}},
		{args: []string{"volume", "show", "demo-vol", "-f", "value", "-c", "size"}, want: []string{"1"}},
		{args: []string{"volume", "delete", "demo-vol"}},
		{args: []string{"loadbalancer", "list", "-f", "value"}},
		{args: []string{"server", "delete", "--wait", "demo-master-0"}},
		// The port outlives the server it was passed to; deleting it frees its floating IP.
		{args: []string{"port", "delete", "demo-master-0-mgmt"}},
		{args: []string{"floating", "ip", "list", "-f", "value", "-c", "Port"}, want: []string{"None"}},
		{args: []string{"router", "remove", "subnet", "demo-router", "demo-mgmt-subnet"}},
		{args: []string{"router", "delete", "demo-router"}},
		{args: []string{"subnet", "delete", "demo-mgmt-subnet"}},
		{args: []string{"network", "delete", "demo-mgmt"}},
		{args: []string{"network", "list", "-f", "value", "-c", "Name"}, want: []string{"k8scluster-pod"}},
		{args: []string{"security", "group", "delete", "demo-sg"}},
		{args: []string{"server", "group", "delete", "demo-cp"}},
		{args: []string{"keypair", "delete", "test"}},
		{args: []string{"keypair", "list", "-f", "value"}},
	}
	runCLI(t, cli, env, steps)
}

// runCLI runs the steps in order under env with the batch b, and checks
// each one's output (stdout and stderr) and exit code. A failing step
// fails the test with its command.
func runCLI(t *testing.T, b *cliBatch, env []string, steps []cliStep) {
	t.Helper()
	failed := 0
	saved := map[string]string{}
	for _, st := range steps {
		st.args = append([]string(nil), st.args...)
		for i := range st.args {
			for name, v := range saved {
				st.args[i] = strings.ReplaceAll(st.args[i], "{"+name+"}", v)
			}
		}
		begin := time.Now()
		out, code, err := b.run(st.args, env)
		if err != nil {
			t.Fatalf("openstack %s: %v", strings.Join(st.args, " "), err)
		}
		if st.save != "" {
			saved[st.save] = strings.TrimSpace(out)
		}
		t.Logf("openstack %s: exit %d in %v", strings.Join(st.args, " "), code, time.Since(begin).Round(time.Millisecond))
		ok := (code == 0) != st.fail
		for _, w := range st.want {
			ok = ok && strings.Contains(out, w)
		}
		for _, w := range st.not {
			ok = ok && !strings.Contains(out, w)
		}
		if !ok {
			failed++
			t.Errorf("openstack %s: exit %d, output:\n%s\nwant %q, not %q (fail=%v)", strings.Join(st.args, " "), code, out, st.want, st.not, st.fail)
		}
	}
	t.Logf("%d of %d openstack commands failed", failed, len(steps))
}

// cliBatch is a Python process that runs openstack commands one after
// the other (testdata/openstack_batch.py): it imports the client once and
// runs each command in a process forked from it, openstackclient.shell.main
// with the command's arguments and environment, as the openstack script
// runs it, without starting Python and importing the client each time.
type cliBatch struct {
	cmd      *exec.Cmd
	in       io.WriteCloser
	answers  *bufio.Reader
	stderr   lockedBuffer
	waitOnce sync.Once
	waitErr  error
}

// lockedBuffer is the batch's stderr, written by exec's copier while a
// failing test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// startCLI starts a batch with the interpreter of the openstack script
// (its #! line), so that it imports the very client the script runs; it
// imports while the test sets up. It ends with the test (its process
// stopped by its pid if it does not exit).
func startCLI(t *testing.T) *cliBatch {
	t.Helper()
	bin, err := exec.LookPath("openstack")
	if err != nil {
		t.Fatalf("the openstack CLI is not installed (hack/ci-setup.sh installs it): %v", err)
	}
	script, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(script), "\n")
	python := strings.Fields(strings.TrimPrefix(first, "#!"))
	if !strings.HasPrefix(first, "#!") || len(python) == 0 || !strings.Contains(python[len(python)-1], "python") {
		t.Fatalf("%s is not a Python script (%q): cannot run its client in one process", bin, first)
	}
	b := &cliBatch{}
	b.cmd = exec.Command(python[0], append(python[1:], "testdata/openstack_batch.py", t.TempDir())...)
	b.cmd.Stderr = &b.stderr
	// Its own process group, and killed with the test binary.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if b.in, err = b.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := b.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	b.answers = bufio.NewReaderSize(out, 1<<20)
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		b.close(t)
		b.kill()
	})
	return b
}

// run runs one command under env and returns its output and exit code;
// an error is the batch's, not the command's (it is stopped then).
func (b *cliBatch) run(args, env []string) (string, int, error) {
	vars := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	line, err := json.Marshal(map[string]any{"args": args, "env": vars})
	if err != nil {
		return "", 0, err
	}
	if _, err := b.in.Write(append(line, '\n')); err != nil {
		b.kill()
		return "", 0, fmt.Errorf("the CLI batch took no command: %v; its stderr:\n%s", err, b.stderr.String())
	}
	type answer struct {
		Code   int    `json:"code"`
		Output string `json:"output"`
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		var a answer
		raw, err := b.answers.ReadBytes('\n')
		if err == nil {
			err = json.Unmarshal(raw, &a)
		}
		a.err = err
		got <- a
	}()
	select {
	case a := <-got:
		if a.err != nil {
			b.kill()
			return "", 0, fmt.Errorf("no answer from the CLI batch: %v; its stderr:\n%s", a.err, b.stderr.String())
		}
		return a.Output, a.Code, nil
	case <-time.After(2 * time.Minute):
		b.kill()
		return "", 0, fmt.Errorf("no answer in 2 minutes; the CLI batch's stderr:\n%s", b.stderr.String())
	}
}

// close ends the batch: no more commands, it exits (or is killed after
// 30 seconds).
func (b *cliBatch) close(t *testing.T) {
	t.Helper()
	b.in.Close()
	timer := time.AfterFunc(30*time.Second, func() { _ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL) })
	defer timer.Stop()
	if err := b.wait(); err != nil {
		t.Errorf("the CLI batch: %v; its stderr:\n%s", err, b.stderr.String())
	}
}

func (b *cliBatch) wait() error {
	b.waitOnce.Do(func() { b.waitErr = b.cmd.Wait() })
	return b.waitErr
}

// kill stops the batch's process group by its pid, if it still runs, and
// reaps it.
func (b *cliBatch) kill() {
	if b.cmd.ProcessState == nil {
		_ = syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		_ = b.wait()
	}
}

// cliEnv is the environment of the openstack CLI as a user of the seed's
// project, trusting the simulator's CA.
func cliEnv(t *testing.T, s *sim.Server, user, password string) []string {
	t.Helper()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, s.CACertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(),
		"OS_AUTH_URL="+s.URL(sim.Keystone), "OS_IDENTITY_API_VERSION=3", "OS_USERNAME="+user, "OS_PASSWORD="+password,
		"OS_USER_DOMAIN_ID=default", "OS_PROJECT_ID="+s.Seeded.Project.ID, "OS_REGION_NAME=RegionOne", "OS_INTERFACE=public",
		"OS_CACERT="+ca, "HOME="+dir, "OS_CLOUD=")
}

// TestOpenStackCLIOperator runs what an operator checks of identity and
// volumes with the openstack CLI: projects, the catalog, endpoints and
// regions as an admin and as a member (refused where Keystone's policy
// refuses), volume properties, Cinder's attachments (listed and shown at
// 3.27; created, connected, completed at 3.44 and deleted, the volume's
// status following), and Nova's error on a route it does not serve.
func TestOpenStackCLIOperator(t *testing.T) {
	cli := startCLI(t)
	seed := model.ClusterSeed("k8scluster", 1, 2)
	seed.Users = append(seed.Users, model.SeedUser{Name: "member", Password: "viosim-member-password", Roles: []string{"member", "reader"}})
	s := start(t, sim.Options{Seed: &seed, Transition: 20 * time.Millisecond})
	project := s.Seeded.Project.ID
	node := s.Seeded.Servers["k8scluster-minion-0"].ID
	vol, err := s.World.CreateVolume(model.Volume{Name: "pvc-data", Size: 1, ProjectID: project})
	if err != nil {
		t.Fatal(err)
	}
	simtest.Until(t, "volume available", func() (bool, error) { v, err := s.World.Volume(vol.ID); return v.Status == "available", err })
	att, err := s.World.AttachVolume(node, vol.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	simtest.Until(t, "volume in-use", func() (bool, error) { v, err := s.World.Volume(vol.ID); return v.Status == "in-use", err })
	scratch, err := s.World.CreateVolume(model.Volume{Name: "pvc-scratch", Size: 1, ProjectID: project})
	if err != nil {
		t.Fatal(err)
	}
	simtest.Until(t, "volume available", func() (bool, error) { v, err := s.World.Volume(scratch.ID); return v.Status == "available", err })
	v327 := []string{"--os-volume-api-version", "3.27"}
	v344 := []string{"--os-volume-api-version", "3.44"}
	runCLI(t, cli, cliEnv(t, s, "admin", "viosim-password"), []cliStep{
		{args: []string{"project", "list", "-f", "value", "-c", "ID", "-c", "Name"}, want: []string{project + " demo"}},
		{args: []string{"project", "show", "demo", "-f", "json"}, want: []string{`"id": "` + project + `"`, `"domain_id": "default"`}},
		{args: []string{"catalog", "list", "-f", "value", "-c", "Name", "-c", "Type"}, want: []string{"nova compute", "cinderv3 volumev3", "octavia load-balancer"}},
		{args: []string{"catalog", "show", "volumev3", "-f", "json"}, want: []string{"/volume/v3/" + project}},
		{args: []string{"endpoint", "list", "--service", "compute", "--interface", "public", "-f", "value", "-c", "Service Name", "-c", "Interface", "-c", "URL"},
			want: []string{"nova public " + s.URL(sim.Nova)}, not: []string{"internal"}},
		{args: []string{"region", "list", "-f", "value", "-c", "Region"}, want: []string{"RegionOne"}},
		{args: []string{"volume", "set", "--property", "team=storage", "--property", "tier=gold", "--name", "pvc-data-2", "pvc-data"}},
		{args: []string{"volume", "unset", "--property", "tier", "pvc-data-2"}},
		{args: []string{"volume", "show", "pvc-data-2", "-f", "json"}, want: []string{`"team": "storage"`, `"status": "in-use"`}, not: []string{"tier"}},
		{args: append(v327, "volume", "attachment", "list", "-f", "value", "-c", "ID", "-c", "Volume ID", "-c", "Server ID", "-c", "Status"),
			want: []string{att.AttachmentID + " " + vol.ID + " " + node + " attached"}},
		{args: append(v327, "volume", "attachment", "show", att.AttachmentID, "-f", "json"), want: []string{`"Volume ID": "` + vol.ID + `"`, `"Instance ID": "` + node + `"`, `"Attach Mode": "rw"`, `"Status": "attached"`}},
		{args: []string{"volume", "attachment", "list"}, fail: true, want: []string{"3.27"}},
		// An attach made through Cinder's attachments API, the volume's status following.
		{args: append(v344, "volume", "attachment", "create", "pvc-scratch", node, "-f", "value", "-c", "ID"), save: "attachment"},
		{args: append(v344, "volume", "attachment", "show", "{attachment}", "-f", "value", "-c", "Status", "-c", "Volume ID"), want: []string{"reserved", scratch.ID}},
		{args: []string{"volume", "show", "pvc-scratch", "-f", "value", "-c", "status"}, want: []string{"reserved"}},
		{args: append(v344, "volume", "attachment", "set", "{attachment}", "--host", "k8scluster-minion-0", "--initiator", "iqn.1993-08.org.debian:01:0", "-f", "json"),
			want: []string{`"Status": "attaching"`, `"driver_volume_type": "vmdk"`}},
		{args: []string{"volume", "show", "pvc-scratch", "-f", "value", "-c", "status"}, want: []string{"attaching"}},
		{args: append(v327, "volume", "attachment", "complete", "{attachment}"), fail: true, want: []string{"3.44"}},
		{args: append(v344, "volume", "attachment", "complete", "{attachment}")},
		{args: append(v344, "volume", "attachment", "show", "{attachment}", "-f", "json"), want: []string{`"Status": "attached"`, `"Instance ID": "` + node + `"`}},
		{args: []string{"volume", "show", "pvc-scratch", "-f", "value", "-c", "status"}, want: []string{"in-use"}},
		{args: append(v344, "volume", "attachment", "delete", "{attachment}")},
		{args: []string{"volume", "show", "pvc-scratch", "-f", "value", "-c", "status"}, want: []string{"available"}},
		{args: append(v344, "volume", "attachment", "show", "{attachment}"), fail: true, want: []string{"could not be found", "HTTP 404"}},
		{args: []string{"--os-compute-api-version", "2.1", "server", "event", "list", node}, fail: true, want: []string{"The resource could not be found", "404"}},
	})
	runCLI(t, cli, cliEnv(t, s, "member", "viosim-member-password"), []cliStep{
		// Refused the list of every project (403), the CLI lists the user's own.
		{args: []string{"project", "list", "-f", "value", "-c", "Name"}, want: []string{"demo"}},
		{args: []string{"project", "show", project, "-f", "value", "-c", "name"}, want: []string{"demo"}},
		{args: []string{"endpoint", "list"}, fail: true, want: []string{"identity:list_endpoints", "HTTP 403"}},
		{args: []string{"catalog", "list", "-f", "value", "-c", "Name"}, want: []string{"keystone", "nova"}},
		{args: []string{"region", "list", "-f", "value", "-c", "Region"}, want: []string{"RegionOne"}},
	})
	counts := s.RequestCounts()
	if counts["keystone GET /v3/users/{id}/projects"] != 1 || counts["keystone status 403"] != 2 {
		t.Errorf("the member's project list did not go through Keystone's 403: %v", counts)
	}
}

const pubKeyForCLI = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGAsD2B8Db2NTJrFtBPDBB2hmvYa/W8AnQQdgtE2cHjW test@viosim\n"
