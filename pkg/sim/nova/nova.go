// Package nova simulates the Compute v2.1 API: servers (with the name
// regular-expression filter and paging), their interfaces, addresses and
// volume attachments, flavors and availability zones, with microversions.
package nova

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// MaxMicroversion is the newest microversion served.
const MaxMicroversion = "2.96"

// Booter runs servers as virtual machines (viosim --boot qemu, package
// boot). With one, Nova creates servers Booted (their status follows the
// machine), calls Boot once a server is created and Stop before it is
// deleted, and serves the machine's serial console as os-getConsoleOutput.
type Booter interface {
	// Boot starts the server's machine in the background; it sets the
	// server ACTIVE once the machine runs, ERROR (with a fault) when it
	// cannot start.
	Boot(s model.Server)
	// Stop stops the server's machine and waits for it to exit.
	Stop(id string) error
	// ConsoleOutput returns the last lines of the serial console (every
	// line when lines <= 0).
	ConsoleOutput(id string, lines int) (string, error)
	// Boots reports whether a server of this name runs as a machine; the
	// others stay simulated.
	Boots(name string) bool
}

// Handler returns the Compute API; base is its URL (for links), and the
// handler expects paths below it (e.g. "/servers"). A nil booter keeps the
// servers simulated.
func Handler(world *model.World, base func() string, booter Booter) http.Handler {
	n := &nova{world: world, base: base, booter: booter}
	mux := api.NewMux(api.NovaCinder)
	mux.HandleFunc("GET /servers", get(n.listServers(false)))
	mux.HandleFunc("GET /servers/detail", get(n.listServers(true)))
	mux.HandleFunc("POST /servers", n.createServer())
	mux.HandleFunc("GET /servers/{id}", get(n.getServer))
	mux.HandleFunc("DELETE /servers/{id}", n.deleteServer())
	mux.HandleFunc("POST /servers/{id}/action", n.action())
	mux.HandleFunc("GET /servers/{id}/ips", get(n.serverIPs))
	mux.HandleFunc("GET /servers/{id}/os-interface", get(n.interfaces))
	mux.HandleFunc("GET /servers/{id}/os-volume_attachments", get(n.listAttachments))
	mux.HandleFunc("POST /servers/{id}/os-volume_attachments", n.attach())
	mux.HandleFunc("GET /servers/{id}/os-volume_attachments/{volume}", get(n.getAttachment))
	mux.HandleFunc("DELETE /servers/{id}/os-volume_attachments/{volume}", n.detach())
	mux.HandleFunc("GET /flavors", get(n.listFlavors(false)))
	mux.HandleFunc("GET /flavors/detail", get(n.listFlavors(true)))
	mux.HandleFunc("GET /flavors/{id}", get(n.getFlavor))
	mux.HandleFunc("GET /os-availability-zone", get(n.zones))
	mux.HandleFunc("GET /os-availability-zone/detail", get(n.zones))
	n.computeRoutes(mux)
	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", get(n.version)) // version discovery needs no token
	outer.Handle("/", api.TokenAuth(world, api.NovaCinder, mux))
	return withMicroversion(outer)
}

type nova struct {
	world  *model.World
	base   func() string
	booter Booter
}

// get is a read: no body, 200.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc { return api.Get(api.NovaCinder, fn) }

// handle is a write whose body is a Req.
func handle[Req any](status int, fn func(r *http.Request, req *Req) (any, error)) http.HandlerFunc {
	return api.Handle(api.NovaCinder, status, fn)
}

// microversion returns the requested microversion's minor number (1 when
// none was asked for).
func microversion(r *http.Request) int {
	v := r.Header.Get("X-OpenStack-Nova-API-Version")
	if v == "" {
		if s := r.Header.Get("OpenStack-API-Version"); strings.HasPrefix(s, "compute ") {
			v = strings.TrimPrefix(s, "compute ")
		}
	}
	if v == "latest" {
		v = MaxMicroversion
	}
	if _, minor, ok := strings.Cut(v, "."); ok {
		if n, err := strconv.Atoi(minor); err == nil {
			return n
		}
	}
	return 1
}

// requestedVersion is the microversion a request asks for ("" for none).
func requestedVersion(r *http.Request) string {
	v := r.Header.Get("X-OpenStack-Nova-API-Version")
	if s := r.Header.Get("OpenStack-API-Version"); v == "" && strings.HasPrefix(s, "compute ") {
		v = strings.TrimPrefix(s, "compute ")
	}
	return strings.TrimSpace(v)
}

// inRange reports whether a microversion ("2.N") is one Nova serves.
func inRange(v string) bool {
	if v == "" || v == "latest" {
		return true
	}
	major, minor, ok := strings.Cut(v, ".")
	n, err := strconv.Atoi(minor)
	_, max, _ := strings.Cut(MaxMicroversion, ".")
	m, _ := strconv.Atoi(max)
	return ok && major == "2" && err == nil && n >= 1 && n <= m
}

func withMicroversion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := requestedVersion(r); !inRange(v) {
			if _, _, ok := strings.Cut(v, "."); !ok {
				api.ErrorStatus(w, api.NovaCinder, http.StatusBadRequest, fmt.Sprintf("Invalid format for API version: %s.", v))
				return
			}
			api.ErrorStatus(w, api.NovaCinder, http.StatusNotAcceptable,
				fmt.Sprintf("Version %s is not supported by the API. Minimum is 2.1 and maximum is %s.", v, MaxMicroversion))
			return
		}
		v := fmt.Sprintf("2.%d", microversion(r))
		w.Header().Set("X-OpenStack-Nova-API-Version", v)
		w.Header().Set("OpenStack-API-Version", "compute "+v)
		w.Header().Set("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
		next.ServeHTTP(w, r)
	})
}

func (n *nova) version(*http.Request) (any, error) {
	return map[string]any{"version": map[string]any{
		"id": "v2.1", "status": "CURRENT", "version": MaxMicroversion, "min_version": "2.1", "updated": "2013-07-23T11:33:21Z",
		"links": []any{map[string]any{"rel": "self", "href": n.base() + "/"}},
	}}, nil
}

func (n *nova) link(kind, id string) []any {
	return []any{map[string]any{"rel": "self", "href": n.base() + "/" + kind + "/" + id}}
}

func (n *nova) serverView(r *http.Request, s model.Server, detail bool) map[string]any {
	v := map[string]any{"id": s.ID, "name": s.Name, "links": n.link("servers", s.ID)}
	if !detail {
		return v
	}
	addresses := map[string][]any{}
	for _, a := range n.world.ServerAddresses(s.ID) {
		addresses[a.Network] = append(addresses[a.Network], map[string]any{
			"version": a.Version, "addr": a.Addr, "OS-EXT-IPS:type": a.Type, "OS-EXT-IPS-MAC:mac_addr": a.MAC,
		})
	}
	var volumes []any
	for _, a := range s.Attachments {
		volumes = append(volumes, map[string]any{"id": a.VolumeID, "delete_on_termination": false})
	}
	if volumes == nil {
		volumes = []any{}
	}
	var flavor any = map[string]any{"id": s.FlavorID, "links": n.link("flavors", s.FlavorID)}
	if microversion(r) >= 47 {
		f, _ := n.world.Flavor(s.FlavorID)
		flavor = map[string]any{"original_name": f.Name, "vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk,
			"ephemeral": 0, "swap": 0, "extra_specs": specs(f)}
	}
	image := any("")
	if s.ImageID != "" {
		image = map[string]any{"id": s.ImageID, "links": n.link("images", s.ImageID)}
	}
	for k, val := range map[string]any{
		"status": s.Status, "tenant_id": s.ProjectID, "user_id": s.UserID, "metadata": s.Metadata, "hostId": s.HostID,
		"image": image, "flavor": flavor, "created": api.OpenStackTime(s.CreatedAt), "updated": api.OpenStackTime(s.UpdatedAt),
		"addresses": addresses, "accessIPv4": "", "accessIPv6": "", "key_name": nullable(s.KeyName),
		"OS-DCF:diskConfig": "MANUAL", "OS-EXT-AZ:availability_zone": s.AvailabilityZone, "config_drive": configDrive(s),
		"OS-EXT-STS:power_state": powerState(s), "OS-EXT-STS:task_state": taskState(s), "OS-EXT-STS:vm_state": vmState(s),
		"OS-SRV-USG:launched_at": s.CreatedAt.Format("2006-01-02T15:04:05.000000"), "OS-SRV-USG:terminated_at": nil,
		"os-extended-volumes:volumes_attached": volumes, "progress": 0, "security_groups": []any{map[string]any{"name": "default"}},
		"locked": false, "tags": append([]string{}, s.Tags...), "description": nil,
		"OS-EXT-SRV-ATTR:user_data": nullable(s.UserData),
	} {
		v[k] = val
	}
	if s.Status == "ERROR" && s.Fault != "" {
		v["fault"] = map[string]any{"code": 500, "message": s.Fault, "created": api.OpenStackTime(s.UpdatedAt)}
	}
	return v
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (n *nova) listServers(detail bool) func(r *http.Request) (any, error) {
	return func(r *http.Request) (any, error) {
		q := r.URL.Query()
		var nameRE *regexp.Regexp
		if name := q.Get("name"); name != "" {
			re, err := regexp.Compile(name)
			if err != nil {
				return nil, badRequest("Invalid filter field: name. %v", err)
			}
			nameRE = re
		}
		status := strings.ToUpper(q.Get("status"))
		project := api.TokenOf(r.Context()).ProjectID
		allTenants := q.Get("all_tenants") != ""
		servers := n.world.Servers(func(s *model.Server) bool {
			return (allTenants || s.ProjectID == project) && (nameRE == nil || nameRE.MatchString(s.Name)) && (status == "" || s.Status == status)
		})
		limit, err := api.Limit(r)
		if err != nil {
			return nil, err
		}
		page, more, err := api.Page(servers, func(s model.Server) string { return s.ID }, q.Get("marker"), limit)
		if err != nil {
			return nil, err
		}
		out := make([]any, 0, len(page))
		for _, s := range page {
			out = append(out, n.serverView(r, s, detail))
		}
		body := map[string]any{"servers": out}
		if more {
			body["servers_links"] = []any{map[string]any{"rel": "next", "href": api.NextLink(r, page[len(page)-1].ID)}}
		}
		return body, nil
	}
}

// server finds the server of the path in the token's project.
func (n *nova) server(r *http.Request) (model.Server, error) {
	s, err := n.world.Server(r.PathValue("id"))
	if err != nil || s.ProjectID != api.TokenOf(r.Context()).ProjectID {
		return model.Server{}, api.Errorf(http.StatusNotFound, "Instance %s could not be found.", r.PathValue("id"))
	}
	return s, nil
}

func (n *nova) getServer(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"server": n.serverView(r, s, true)}, nil
}

func (n *nova) createServer() http.HandlerFunc {
	type req struct {
		Server struct {
			Name             string            `json:"name"`
			FlavorRef        string            `json:"flavorRef"`
			ImageRef         string            `json:"imageRef"`
			KeyName          string            `json:"key_name"`
			AvailabilityZone string            `json:"availability_zone"`
			Metadata         map[string]string `json:"metadata"`
			Networks         json.RawMessage   `json:"networks"`
			ConfigDrive      any               `json:"config_drive"`
			UserData         *string           `json:"user_data"`
			Tags             []string          `json:"tags"`
		} `json:"server"`
		Hints struct {
			Group string `json:"group"`
		} `json:"os:scheduler_hints"`
	}
	return handle(http.StatusAccepted, func(r *http.Request, q *req) (any, error) {
		if q.Server.Name == "" {
			return nil, badRequest("Invalid input for field/attribute name.")
		}
		tok := api.TokenOf(r.Context())
		spec := model.Server{Name: q.Server.Name, ProjectID: tok.ProjectID, UserID: tok.UserID,
			FlavorID: q.Server.FlavorRef, ImageID: q.Server.ImageRef, KeyName: q.Server.KeyName,
			AvailabilityZone: q.Server.AvailabilityZone, Metadata: q.Server.Metadata, Status: "BUILD",
			Tags: q.Server.Tags, ServerGroupID: q.Hints.Group, Booted: n.booter != nil && n.booter.Boots(q.Server.Name)}
		nics, err := n.checkCreate(r, &spec, q.Server.Networks, q.Server.ConfigDrive, q.Server.UserData)
		if err != nil {
			return nil, err
		}
		s, err := n.world.CreateServer(spec, nics)
		if err != nil {
			return nil, err
		}
		if s.Booted {
			n.booter.Boot(s)
		}
		return map[string]any{"server": map[string]any{
			"id": s.ID, "links": n.link("servers", s.ID), "OS-DCF:diskConfig": "MANUAL",
			"security_groups": []any{map[string]any{"name": "default"}}, "adminPass": "viosim",
		}}, nil
	})
}

func (n *nova) deleteServer() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		if n.booter != nil && s.Booted {
			if err := n.booter.Stop(s.ID); err != nil {
				return nil, err
			}
		}
		return nil, n.world.DeleteServer(s.ID)
	})
}

// action serves the server actions viosim knows: os-getConsoleOutput, the
// serial console of a booted server (empty for a simulated one).
func (n *nova) action() http.HandlerFunc {
	return handle(http.StatusOK, func(r *http.Request, q *map[string]json.RawMessage) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		if len(*q) != 1 {
			return nil, badRequest("Malformed request body")
		}
		var name string
		for name = range *q {
		}
		if name != "os-getConsoleOutput" {
			return nil, badRequest("There is no such action: %s", name)
		}
		raw := (*q)[name]
		var args struct {
			Length any `json:"length"`
		}
		if len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &args); err != nil {
				return nil, badRequest("Invalid input for field/attribute os-getConsoleOutput.")
			}
		}
		lines := -1
		switch v := args.Length.(type) {
		case nil:
		case float64:
			lines = int(v)
		case string:
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, badRequest("Invalid input for field/attribute length. Value: %s.", v)
			}
			lines = n
		default:
			return nil, badRequest("Invalid input for field/attribute length. Value: %v.", v)
		}
		out := ""
		if n.booter != nil && s.Booted {
			if s.Status == "BUILD" {
				return nil, api.Errorf(http.StatusConflict, "Cannot 'get_console_output' instance %s while it is in vm_state building", s.ID)
			}
			if out, err = n.booter.ConsoleOutput(s.ID, lines); err != nil {
				return nil, err
			}
		}
		return map[string]any{"output": out}, nil
	})
}

func (n *nova) serverIPs(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	addresses := map[string][]any{}
	for _, a := range n.world.ServerAddresses(s.ID) {
		addresses[a.Network] = append(addresses[a.Network], map[string]any{"version": a.Version, "addr": a.Addr})
	}
	return map[string]any{"addresses": addresses}, nil
}

func (n *nova) interfaces(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, p := range n.world.PortsOfDevice(s.ID) {
		var ips []any
		for _, f := range p.FixedIPs {
			ips = append(ips, map[string]any{"subnet_id": f.SubnetID, "ip_address": f.IPAddress})
		}
		out = append(out, map[string]any{"port_state": p.Status, "fixed_ips": ips, "port_id": p.ID, "net_id": p.NetworkID, "mac_addr": p.MACAddress})
	}
	if out == nil {
		out = []any{}
	}
	return map[string]any{"interfaceAttachments": out}, nil
}

func attachmentView(a model.VolumeAttachment) map[string]any {
	return map[string]any{"id": a.VolumeID, "volumeId": a.VolumeID, "serverId": a.ServerID, "device": a.Device,
		"tag": nil, "delete_on_termination": false, "attachment_id": a.ID}
}

func (n *nova) listAttachments(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, a := range s.Attachments {
		out = append(out, attachmentView(a))
	}
	return map[string]any{"volumeAttachments": out}, nil
}

func (n *nova) attach() http.HandlerFunc {
	type req struct {
		VolumeAttachment struct {
			VolumeID string `json:"volumeId"`
			Device   string `json:"device"`
		} `json:"volumeAttachment"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		if q.VolumeAttachment.VolumeID == "" {
			return nil, badRequest("Invalid input for field/attribute volumeAttachment.")
		}
		a, err := n.world.AttachVolume(s.ID, q.VolumeAttachment.VolumeID, q.VolumeAttachment.Device)
		if err != nil {
			return nil, err
		}
		return map[string]any{"volumeAttachment": attachmentView(a)}, nil
	})
}

func (n *nova) getAttachment(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	for _, a := range s.Attachments {
		if a.VolumeID == r.PathValue("volume") {
			return map[string]any{"volumeAttachment": attachmentView(a)}, nil
		}
	}
	return nil, api.Errorf(http.StatusNotFound, "volume_id not found: %s", r.PathValue("volume"))
}

func (n *nova) detach() http.HandlerFunc {
	return handle(http.StatusAccepted, func(r *http.Request, _ *struct{}) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		return nil, n.world.DetachVolume(s.ID, r.PathValue("volume"))
	})
}

func (n *nova) flavorView(r *http.Request, f model.Flavor, detail bool) map[string]any {
	v := map[string]any{"id": f.ID, "name": f.Name, "links": n.link("flavors", f.ID)}
	if microversion(r) >= 55 {
		v["description"] = nil
	}
	if detail && microversion(r) >= 61 {
		v["extra_specs"] = specs(f)
	}
	if detail {
		for k, val := range map[string]any{"vcpus": f.VCPUs, "ram": f.RAM, "disk": f.Disk, "OS-FLV-EXT-DATA:ephemeral": 0,
			"swap": "", "rxtx_factor": 1.0, "os-flavor-access:is_public": true, "OS-FLV-DISABLED:disabled": false, "description": nil} {
			v[k] = val
		}
	}
	return v
}

func (n *nova) listFlavors(detail bool) func(r *http.Request) (any, error) {
	return func(r *http.Request) (any, error) {
		out := []any{}
		for _, f := range n.world.Flavors() {
			out = append(out, n.flavorView(r, f, detail))
		}
		return map[string]any{"flavors": out}, nil
	}
}

// flavor finds the flavor of the path.
func (n *nova) flavor(r *http.Request) (model.Flavor, error) {
	f, err := n.world.Flavor(r.PathValue("id"))
	if err != nil {
		return model.Flavor{}, api.Errorf(http.StatusNotFound, "Flavor %s could not be found.", r.PathValue("id"))
	}
	return f, nil
}

func (n *nova) getFlavor(r *http.Request) (any, error) {
	f, err := n.flavor(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"flavor": n.flavorView(r, f, true)}, nil
}

func (n *nova) zones(r *http.Request) (any, error) {
	var out []any
	detail := strings.HasSuffix(r.URL.Path, "/detail")
	for _, z := range n.world.AvailabilityZones() {
		var hosts any
		if detail {
			hosts = map[string]any{"compute-" + z: map[string]any{"nova-compute": map[string]any{
				"available": true, "active": true, "updated_at": api.CinderTime(n.world.Now())}}}
		}
		out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]any{"available": true}, "hosts": hosts})
	}
	if detail {
		out = append(out, map[string]any{"zoneName": "internal", "zoneState": map[string]any{"available": true},
			"hosts": map[string]any{"controller": map[string]any{"nova-scheduler": map[string]any{
				"available": true, "active": true, "updated_at": api.CinderTime(n.world.Now())}}}})
	}
	return map[string]any{"availabilityZoneInfo": out}, nil
}
