// Package viosim is the viosim command line: flags to options, start the
// simulator, write the files epks needs, serve until interrupted.
package viosim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"

	"github.com/epks/epks/pkg/logging"
	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/boot"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
)

type options struct {
	address        string
	osPort         int
	nsxPort        int
	dir            string
	seedFile       string
	cluster        string
	controlPlanes  int
	workers        int
	plainHTTP      bool
	nsxRate        float64
	nsxConcurrency int
	transition     time.Duration
	tokenTTL       time.Duration
	lbProvider     string
	faults         []string
	allowRemote    bool
	boot           string
	bootDir        string
	bootImages     []string
	bootServers    string
	hostnames      bool
	bootNetNS      string
	bootBridges    []string
	bootAddresses  []string
	bootMemory     int
	bootCPUs       int
	log            logging.Options
}

// Main runs viosim and returns the exit code: 0 after an interrupt, 2 for
// bad flags, 1 when it cannot start.
func Main(ctx context.Context, args []string, out, errOut io.Writer) int {
	var o options
	c := &cobra.Command{
		Use:   "viosim",
		Short: "Simulate VIO (Keystone, Nova, Neutron, Cinder, Octavia) and the NSX-T Manager on loopback",
		Long: `viosim serves a stateful simulation of the VMware Integrated OpenStack APIs and the NSX-T
Manager API that epks and the components it installs talk to, over HTTPS with a CA it makes.

It writes the CA (viosim-ca.crt) and an epks parameters file (viosim-params.yaml) that points
at it, so that this works with no cloud at all:

  viosim --dir _output/viosim &
  epks template --params _output/viosim/viosim-params.yaml

Faults can be set with --fault (JSON rules, repeatable) or at run time through the control
API (/control/v1/faults); the control API also shows the model and the requests it served.`,
		Example: `  viosim --workers 5
  viosim --fault '{"service":"nsx","status":429,"count":10}' --nsx-rate-limit 50
  viosim --seed my-cloud.yaml --plain-http`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, _ []string) error {
			logger, err := logging.New(errOut, o.log)
			if err != nil {
				return badInput{err}
			}
			return run(logr.NewContext(c.Context(), logger), o, out)
		},
	}
	f := c.Flags()
	f.StringVar(&o.address, "address", "127.0.0.1", "address to listen on (loopback only)")
	f.IntVar(&o.osPort, "openstack-port", 0, "port of the OpenStack APIs [any free port]")
	f.IntVar(&o.nsxPort, "nsx-port", 0, "port of the NSX Manager [any free port]")
	f.StringVar(&o.dir, "dir", "_output/viosim", "directory to write viosim-ca.crt and viosim-params.yaml into")
	f.StringVar(&o.seedFile, "seed", "", "YAML file describing the world (default: a cluster laid out as the seed's HEAT stack)")
	f.StringVar(&o.cluster, "cluster", "k8scluster", "cluster name of the default world: servers <name>-master-N and <name>-minion-N")
	f.IntVar(&o.controlPlanes, "control-planes", 1, "control-plane servers of the default world")
	f.IntVar(&o.workers, "workers", 2, "worker servers of the default world")
	f.BoolVar(&o.plainHTTP, "plain-http", false, "serve plain HTTP instead of HTTPS")
	f.Float64Var(&o.nsxRate, "nsx-rate-limit", 100, "NSX requests per second a client may make (negative: no limit)")
	f.IntVar(&o.nsxConcurrency, "nsx-concurrency", 40, "NSX requests a client may have in flight")
	f.DurationVar(&o.transition, "transition", 100*time.Millisecond, "how long asynchronous status changes take (volumes, load balancers)")
	f.DurationVar(&o.tokenTTL, "token-ttl", time.Hour, "how long Keystone tokens last")
	f.BoolVar(&o.hostnames, "hostnames", false, "serve the OpenStack APIs under VIO's host names, as VIO with IP access off (Keystone's catalog, the certificate and the parameters file name them; the clients resolve them)")
	f.StringVar(&o.lbProvider, "lb-provider", "nsx", "load_balancer_provider written into the parameters file (nsx or octavia)")
	f.StringArrayVar(&o.faults, "fault", nil, `fault rule as JSON, e.g. {"service":"nova","method":"GET","status":503,"count":2} (repeatable)`)
	f.StringVar(&o.boot, "boot", "", "run the servers Nova creates as virtual machines: qemu (software emulation; see docs/viosim.md)")
	f.StringVar(&o.bootDir, "boot-dir", "", "directory of the machines' disks, config drives and console logs [<dir>/machines]")
	f.StringArrayVar(&o.bootImages, "boot-image", nil, "disk image the servers boot, [GLANCE_IMAGE=]PATH.qcow2 with its .vmlinuz and .initrd beside; without a name, for every image (repeatable)")
	f.StringVar(&o.bootServers, "boot-servers", "", "regular expression of the names of the servers that boot (the others stay simulated) [every server]")
	f.StringVar(&o.bootNetNS, "boot-netns", "", "network namespace (ip netns) of the machines' NICs and bridges")
	f.StringArrayVar(&o.bootBridges, "boot-bridge", nil, "NETWORK=BRIDGE: the bridge in --boot-netns of a Neutron network (name or id) (repeatable)")
	f.StringArrayVar(&o.bootAddresses, "boot-address", nil, "address in --boot-netns (the gateway of a bridged network) where viosim also serves, on the same ports (repeatable)")
	f.IntVar(&o.bootMemory, "boot-max-memory", 2048, "MiB of memory a machine gets at most (the flavor's otherwise)")
	f.IntVar(&o.bootCPUs, "boot-max-cpus", 2, "vCPUs a machine gets at most (the flavor's otherwise)")
	f.BoolVar(&o.allowRemote, "allow-non-loopback", false, "allow listening on a non-loopback address")
	_ = f.MarkHidden("allow-non-loopback")
	o.log = logging.Options{Format: logging.Text}
	o.log.AddFlags(f)
	c.SetArgs(args)
	c.SetOut(out)
	c.SetErr(errOut)
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return badInput{err} })
	if err := c.ExecuteContext(ctx); err != nil {
		fmt.Fprintf(errOut, "Error: %v\n", err)
		var bi badInput
		if errors.As(err, &bi) {
			return 2
		}
		return 1
	}
	return 0
}

type badInput struct{ error }

// bootConfig checks the --boot flags, all problems at once; nil without
// --boot.
func (o options) bootConfig() (*boot.Config, error) {
	var problems []string
	if o.boot == "" {
		for name, set := range map[string]bool{"--boot-image": len(o.bootImages) > 0, "--boot-netns": o.bootNetNS != "",
			"--boot-bridge": len(o.bootBridges) > 0, "--boot-address": len(o.bootAddresses) > 0, "--boot-dir": o.bootDir != "", "--boot-servers": o.bootServers != ""} {
			if set {
				problems = append(problems, name+" needs --boot qemu")
			}
		}
		sort.Strings(problems)
		if len(problems) > 0 {
			return nil, errors.New(strings.Join(problems, "; "))
		}
		return nil, nil
	}
	if o.boot != "qemu" {
		problems = append(problems, fmt.Sprintf("--boot %q is not qemu", o.boot))
	}
	cfg := boot.Config{Dir: o.bootDir, Images: map[string]boot.Image{}, NetNS: o.bootNetNS, Bridges: map[string]string{},
		MaxMemoryMiB: o.bootMemory, MaxCPUs: o.bootCPUs}
	if cfg.Dir == "" {
		cfg.Dir = filepath.Join(o.dir, "machines")
	}
	if len(o.bootImages) == 0 {
		problems = append(problems, "--boot qemu needs a disk image: --boot-image PATH (make guest-image builds one)")
	}
	for _, v := range o.bootImages {
		name, path, ok := strings.Cut(v, "=")
		if !ok {
			name, path = "", v
		}
		if path == "" {
			problems = append(problems, fmt.Sprintf("--boot-image %q names no file", v))
			continue
		}
		cfg.Images[name] = boot.Image{Disk: path}
	}
	if o.bootServers != "" {
		re, err := regexp.Compile(o.bootServers)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--boot-servers %q is not a regular expression: %v", o.bootServers, err))
		}
		cfg.Servers = re
	}
	for _, v := range o.bootBridges {
		network, bridge, ok := strings.Cut(v, "=")
		if !ok || network == "" || bridge == "" {
			problems = append(problems, fmt.Sprintf("--boot-bridge %q is not NETWORK=BRIDGE", v))
			continue
		}
		cfg.Bridges[network] = bridge
	}
	if (len(o.bootBridges) > 0 || len(o.bootAddresses) > 0) && o.bootNetNS == "" {
		problems = append(problems, "--boot-bridge and --boot-address need --boot-netns")
	}
	for _, a := range o.bootAddresses {
		if net.ParseIP(a) == nil {
			problems = append(problems, fmt.Sprintf("--boot-address %q is not an IP address", a))
		}
	}
	if len(problems) > 0 {
		return nil, errors.New(strings.Join(problems, "; "))
	}
	return &cfg, nil
}

func run(ctx context.Context, o options, out io.Writer) error {
	log := logr.FromContextOrDiscard(ctx)
	seed := model.ClusterSeed(o.cluster, o.controlPlanes, o.workers)
	if o.seedFile != "" {
		var err error
		if seed, err = model.LoadSeed(o.seedFile); err != nil {
			return badInput{err}
		}
	}
	if o.lbProvider != "nsx" && o.lbProvider != "octavia" {
		return badInput{fmt.Errorf("--lb-provider %q is not nsx or octavia", o.lbProvider)}
	}
	bootCfg, err := o.bootConfig()
	if err != nil {
		return badInput{err}
	}
	s, err := sim.New(sim.Options{
		Seed: &seed, Address: o.address, AllowNonLoopback: o.allowRemote, OpenStackPort: o.osPort, NSXPort: o.nsxPort,
		PlainHTTP: o.plainHTTP, NSXRateLimit: o.nsxRate, NSXConcurrency: o.nsxConcurrency,
		Transition: o.transition, TokenTTL: o.tokenTTL, IPAddresses: o.bootAddresses, Log: log,
		Hostnames: hostnames(o.hostnames),
	})
	if err != nil {
		return badInput{err}
	}
	if bootCfg != nil {
		bootCfg.Log = log.WithName("boot")
		q, err := boot.New(s.World, *bootCfg)
		if err != nil {
			return badInput{err}
		}
		// The machines stop by their pids when viosim stops; QEMU gets
		// SIGKILL should viosim die.
		defer q.Close()
		s.SetBooter(q)
	}
	for _, raw := range o.faults {
		var r fault.Rule
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			return badInput{fmt.Errorf("--fault %s: %w", raw, err)}
		}
		if _, err := s.Faults.Add(r); err != nil {
			return badInput{fmt.Errorf("--fault %s: %w", raw, err)}
		}
	}
	if err := s.Start(); err != nil {
		return err
	}
	defer s.Close()
	if bootCfg != nil {
		osPort, nsxPort := s.Ports()
		for _, a := range o.bootAddresses {
			osLn, err := boot.ListenIn(o.bootNetNS, net.JoinHostPort(a, fmt.Sprint(osPort)))
			if err != nil {
				return err
			}
			nsxLn, err := boot.ListenIn(o.bootNetNS, net.JoinHostPort(a, fmt.Sprint(nsxPort)))
			if err != nil {
				osLn.Close()
				return err
			}
			if err := s.ServeOn(osLn, nsxLn); err != nil {
				return err
			}
			fmt.Fprintf(out, "Serving in network namespace %s at %s (ports %d and %d) for the booted servers\n", o.bootNetNS, a, osPort, nsxPort)
		}
	}
	lb := ""
	if o.lbProvider == "octavia" {
		lb = "octavia"
	}
	paramsPath, err := s.WriteFiles(o.dir, sim.ParamsOptions{LoadBalancerProvider: lb})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "viosim is serving %d servers in project %s (region %s)\n\n", len(seed.Servers), s.Seeded.Project.Name, s.World.Region)
	for _, e := range []struct{ name, url string }{
		{"Keystone (auth URL)", s.URL(sim.Keystone)}, {"Nova", s.URL(sim.Nova)}, {"Neutron", s.URL(sim.Neutron)},
		{"Cinder", s.URL(sim.Cinder)}, {"Octavia", s.URL(sim.Octavia)}, {"NSX Manager", s.URL(sim.NSX)},
		{"control API", s.URL(sim.Control)},
	} {
		fmt.Fprintf(out, "  %-20s %s\n", e.name, e.url)
	}
	user, _ := s.NSXCredentials()
	var osUsers []string
	for name := range s.Seeded.Users {
		osUsers = append(osUsers, name)
	}
	sort.Strings(osUsers)
	fmt.Fprintf(out, "\nOpenStack users %s; NSX user %s (passwords in the parameters file)\n", strings.Join(osUsers, ", "), user)
	if ca := s.CACertPEM(); ca != nil {
		fmt.Fprintf(out, "CA:               %s\n", filepath.Join(o.dir, "viosim-ca.crt"))
	}
	fmt.Fprintf(out, "Parameters file:  %s\n\n", paramsPath)
	fmt.Fprintf(out, "Try:  epks template --params %s\n", paramsPath)
	fmt.Fprintf(out, "      curl -s %s/model\n", s.URL(sim.Control))
	fmt.Fprintf(out, "Stop with Ctrl-C.\n")
	<-ctx.Done()
	fmt.Fprintln(out, "viosim stopped.")
	return nil
}

// hostnames are the host names of --hostnames: VIO's (sim.VIOHostnames).
func hostnames(on bool) map[string]string {
	if !on {
		return nil
	}
	return sim.VIOHostnames()
}
