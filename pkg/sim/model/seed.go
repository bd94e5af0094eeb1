package model

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"

	"github.com/epks/epks/pkg/nodename"
)

// Seed describes a starting world. It is built through the world's own
// methods, the same paths the APIs take.
type Seed struct {
	Project  SeedProject   `json:"project"`
	Users    []SeedUser    `json:"users"`
	Flavors  []SeedFlavor  `json:"flavors,omitempty"`
	Images   []SeedImage   `json:"images,omitempty"`
	Networks []SeedNetwork `json:"networks"`
	Routers  []SeedRouter  `json:"routers,omitempty"`
	Servers  []SeedServer  `json:"servers,omitempty"`
	// NSX names the objects NCP's configuration refers to; the simulator
	// does not model them beyond their names.
	NSX SeedNSX `json:"nsx"`
}

// SeedProject is the project every object belongs to.
type SeedProject struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	DomainID string `json:"domainID,omitempty"`
}

// SeedUser is a user of the project, with optional application credentials.
type SeedUser struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	// Roles on the project [admin, member, reader]: give [member, reader]
	// for a user Keystone's policy does not let see other projects or
	// the endpoints.
	Roles                  []string            `json:"roles,omitempty"`
	ApplicationCredentials []SeedAppCredential `json:"applicationCredentials,omitempty"`
}

// SeedAppCredential is an application credential of a user.
type SeedAppCredential struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
}

// SeedFlavor is a flavor.
type SeedFlavor struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name"`
	VCPUs int    `json:"vcpus"`
	RAM   int    `json:"ram"`
	Disk  int    `json:"disk"`
}

// SeedImage is a public, active Glance image.
type SeedImage struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name"`
}

// SeedNetwork is a network with one subnet.
type SeedNetwork struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	CIDR     string `json:"cidr"`
	External bool   `json:"external,omitempty"`
}

// SeedRouter is a router with a gateway and interfaces on networks.
type SeedRouter struct {
	Name       string   `json:"name"`
	Gateway    string   `json:"gateway,omitempty"`
	EnableSNAT bool     `json:"enableSNAT,omitempty"`
	Interfaces []string `json:"interfaces,omitempty"`
}

// SeedServer is a server with a NIC on each network named.
type SeedServer struct {
	Name             string   `json:"name"`
	Flavor           string   `json:"flavor,omitempty"`
	AvailabilityZone string   `json:"availabilityZone,omitempty"`
	Networks         []string `json:"networks"`
}

// SeedNSX names NSX objects of NCP's configuration.
type SeedNSX struct {
	Tier0Router    string `json:"tier0Router"`
	OverlayTZ      string `json:"overlayTZ"`
	IPBlock        string `json:"ipBlock"`
	ExternalIPPool string `json:"externalIPPool"`
}

// ClusterSeed is the preset of a cluster laid out as the seed's HEAT stack
// does: a management network, a pod network and a public network, and
// controlPlanes + workers servers named as pkg/nodename names them, each on
// the management and the pod network.
func ClusterSeed(cluster string, controlPlanes, workers int) Seed {
	s := Seed{
		Project: SeedProject{Name: "demo"},
		Users:   []SeedUser{{Name: "admin", Password: "viosim-password", ApplicationCredentials: []SeedAppCredential{{ID: "viosim-app-cred", Secret: "viosim-app-secret"}}}},
		Flavors: []SeedFlavor{{ID: "3", Name: "m1.medium", VCPUs: 2, RAM: 4096, Disk: 40}},
		// The seed's parameters file names this image.
		Images: []SeedImage{{Name: "ubuntu_dual_nic"}},
		Networks: []SeedNetwork{
			{Name: cluster + "-mgmt", CIDR: "10.10.0.0/16"},
			{Name: cluster + "-pod", CIDR: "172.30.0.0/16"},
			{Name: "public", CIDR: "198.51.100.0/24", External: true},
		},
		Routers: []SeedRouter{{Name: cluster + "-router", Gateway: "public", EnableSNAT: true, Interfaces: []string{cluster + "-mgmt"}}},
		NSX:     SeedNSX{Tier0Router: "t0-router", OverlayTZ: "overlay-tz", IPBlock: "pod-ip-block", ExternalIPPool: "external-ip-pool"},
	}
	for _, name := range nodename.All(cluster, controlPlanes, workers) {
		s.Servers = append(s.Servers, SeedServer{Name: name, Flavor: "m1.medium", Networks: []string{cluster + "-mgmt", cluster + "-pod"}})
	}
	return s
}

// LoadSeed reads a seed from a YAML file.
func LoadSeed(path string) (Seed, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Seed{}, err
	}
	var s Seed
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return Seed{}, fmt.Errorf("seed %s: %w", path, err)
	}
	return s, nil
}

// Seeded is what Apply created, by name, for writing parameters files and
// for tests.
type Seeded struct {
	Project  Project
	Users    map[string]User
	Networks map[string]Network
	Subnets  map[string]Subnet
	Servers  map[string]Server
	NSX      SeedNSX
}

// Apply builds the seed into the world.
func (w *World) Apply(s Seed) (*Seeded, error) {
	out := &Seeded{Users: map[string]User{}, Networks: map[string]Network{}, Subnets: map[string]Subnet{}, Servers: map[string]Server{}, NSX: s.NSX}
	out.Project = w.CreateProject(Project{ID: s.Project.ID, Name: s.Project.Name, DomainID: s.Project.DomainID})
	for _, u := range s.Users {
		roles := u.Roles
		if len(roles) == 0 {
			roles = []string{"admin", "member", "reader"}
		}
		user := w.CreateUser(User{Name: u.Name, Password: u.Password, DomainID: out.Project.DomainID, ProjectID: out.Project.ID, Roles: roles})
		for _, ac := range u.ApplicationCredentials {
			if _, err := w.CreateApplicationCredential(ApplicationCredential{ID: ac.ID, Secret: ac.Secret, UserID: user.ID}); err != nil {
				return nil, err
			}
		}
		out.Users[u.Name] = user
	}
	flavors := map[string]string{}
	for _, f := range s.Flavors {
		fl := w.CreateFlavor(Flavor{ID: f.ID, Name: f.Name, VCPUs: f.VCPUs, RAM: f.RAM, Disk: f.Disk})
		flavors[f.Name] = fl.ID
	}
	for _, img := range s.Images {
		w.CreateImage(Image{ID: img.ID, Name: img.Name, ProjectID: out.Project.ID, Size: 2361393152, MinDisk: 0})
	}
	for _, n := range s.Networks {
		net := w.CreateNetwork(Network{ID: n.ID, Name: n.Name, ProjectID: out.Project.ID, External: n.External})
		sub, err := w.CreateSubnet(Subnet{Name: n.Name + "-subnet", NetworkID: net.ID, CIDR: n.CIDR, EnableDHCP: true})
		if err != nil {
			return nil, fmt.Errorf("network %s: %w", n.Name, err)
		}
		net, _ = w.Network(net.ID)
		out.Networks[n.Name], out.Subnets[n.Name] = net, sub
	}
	for _, r := range s.Routers {
		router := Router{Name: r.Name, ProjectID: out.Project.ID, EnableSNAT: r.EnableSNAT}
		if r.Gateway != "" {
			gw, ok := out.Networks[r.Gateway]
			if !ok {
				return nil, fmt.Errorf("router %s: no network %s", r.Name, r.Gateway)
			}
			router.GatewayNetworkID = gw.ID
		}
		for _, i := range r.Interfaces {
			sub, ok := out.Subnets[i]
			if !ok {
				return nil, fmt.Errorf("router %s: no network %s", r.Name, i)
			}
			router.InterfaceSubnets = append(router.InterfaceSubnets, sub.ID)
		}
		if _, err := w.CreateRouter(router); err != nil {
			return nil, fmt.Errorf("router %s: %w", r.Name, err)
		}
	}
	for _, sv := range s.Servers {
		var nics []NIC
		for _, n := range sv.Networks {
			net, ok := out.Networks[n]
			if !ok {
				return nil, fmt.Errorf("server %s: no network %s", sv.Name, n)
			}
			nics = append(nics, NIC{NetworkID: net.ID})
		}
		server, err := w.CreateServer(Server{Name: sv.Name, ProjectID: out.Project.ID, FlavorID: flavors[sv.Flavor], AvailabilityZone: sv.AvailabilityZone}, nics)
		if err != nil {
			return nil, fmt.Errorf("server %s: %w", sv.Name, err)
		}
		out.Servers[sv.Name] = server
	}
	return out, nil
}
