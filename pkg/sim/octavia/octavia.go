// Package octavia simulates the Load Balancer v2 API: load balancers
// (including fully populated creates), listeners, pools, members (with
// batch updates) and health monitors, each going through PENDING_* to
// ACTIVE, and load balancers immutable while they change.
package octavia

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// MaxVersion is the newest API minor version served.
const MaxVersion = "v2.27"

// Handler returns the Load Balancer API, under both /v2 and /v2.0, with
// version discovery at "/".
func Handler(world *model.World, base func() string) http.Handler {
	o := &octavia{world: world, base: base}
	mux := api.NewMux(api.Octavia)
	for _, v := range []string{"/v2", "/v2.0"} {
		p := v + "/lbaas"
		mux.HandleFunc("GET "+p+"/loadbalancers", o.listLoadBalancers())
		mux.HandleFunc("POST "+p+"/loadbalancers", o.createLoadBalancer())
		mux.HandleFunc("GET "+p+"/loadbalancers/{id}", o.getLoadBalancer())
		mux.HandleFunc("PUT "+p+"/loadbalancers/{id}", o.updateLoadBalancer())
		mux.HandleFunc("DELETE "+p+"/loadbalancers/{id}", o.deleteLoadBalancer())
		mux.HandleFunc("GET "+p+"/loadbalancers/{id}/stats", o.stats())
		mux.HandleFunc("GET "+p+"/listeners", o.listListeners())
		mux.HandleFunc("POST "+p+"/listeners", o.createListener())
		mux.HandleFunc("GET "+p+"/listeners/{id}", o.getListener())
		mux.HandleFunc("PUT "+p+"/listeners/{id}", o.updateListener())
		mux.HandleFunc("DELETE "+p+"/listeners/{id}", o.deleteListener())
		mux.HandleFunc("GET "+p+"/pools", o.listPools())
		mux.HandleFunc("POST "+p+"/pools", o.createPool())
		mux.HandleFunc("GET "+p+"/pools/{id}", o.getPool())
		mux.HandleFunc("PUT "+p+"/pools/{id}", o.updatePool())
		mux.HandleFunc("DELETE "+p+"/pools/{id}", o.deletePool())
		mux.HandleFunc("GET "+p+"/pools/{id}/members", o.listMembers())
		mux.HandleFunc("POST "+p+"/pools/{id}/members", o.createMember())
		mux.HandleFunc("PUT "+p+"/pools/{id}/members", o.batchMembers())
		mux.HandleFunc("GET "+p+"/pools/{id}/members/{member}", o.getMember())
		mux.HandleFunc("DELETE "+p+"/pools/{id}/members/{member}", o.deleteMember())
		mux.HandleFunc("GET "+p+"/healthmonitors", o.listMonitors())
		mux.HandleFunc("POST "+p+"/healthmonitors", o.createMonitor())
		mux.HandleFunc("GET "+p+"/healthmonitors/{id}", o.getMonitor())
		mux.HandleFunc("DELETE "+p+"/healthmonitors/{id}", o.deleteMonitor())
		mux.HandleFunc("GET "+p+"/providers", o.providers())
		mux.HandleFunc("GET "+p+"/flavors", o.empty("flavors"))
		mux.HandleFunc("GET "+p+"/availabilityzones", o.empty("availability_zones"))
	}
	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", o.versions)
	outer.Handle("/", api.TokenAuth(world, api.Octavia, mux))
	return outer
}

type octavia struct {
	world *model.World
	base  func() string
}

func (o *octavia) versions(w http.ResponseWriter, _ *http.Request) {
	link := []any{map[string]any{"rel": "self", "href": o.base() + "/v2"}}
	api.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{
		map[string]any{"id": "v2.0", "status": "SUPPORTED", "updated": "2016-12-11T00:00:00Z", "links": link},
		map[string]any{"id": MaxVersion, "status": "CURRENT", "updated": "2023-03-16T00:00:00Z", "links": link},
	}})
}

func (o *octavia) providers() http.HandlerFunc {
	return get(func(*http.Request) (any, error) {
		return map[string]any{"providers": []any{
			map[string]any{"name": "amphora", "description": "The Octavia Amphora driver (simulated)."},
			map[string]any{"name": "ovn", "description": "The OVN driver (simulated)."},
		}}, nil
	})
}

func (o *octavia) empty(key string) http.HandlerFunc {
	return get(func(*http.Request) (any, error) { return map[string]any{key: []any{}}, nil })
}

// get is a read: no body, 200.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return api.Get(api.Octavia, fn)
}

// handle is a write with a body of type Req.
func handle[Req any](status int, fn func(r *http.Request, q *Req) (any, error)) http.HandlerFunc {
	return api.Handle(api.Octavia, status, fn)
}

// none is a write without a body.
func none(status int, fn func(r *http.Request) error) http.HandlerFunc {
	return api.Handle(api.Octavia, status, func(r *http.Request, _ *struct{}) (any, error) { return nil, fn(r) })
}

func notFound(kind, id string) error {
	return api.Errorf(http.StatusNotFound, "%s %s could not be found.", kind, id)
}

func ids(list []string) []any {
	out := []any{}
	for _, id := range list {
		out = append(out, map[string]any{"id": id})
	}
	return out
}

func tags(t []string) []string {
	if t == nil {
		return []string{}
	}
	return t
}

func owned(r *http.Request, projectID string) bool {
	return projectID == api.TokenOf(r.Context()).ProjectID
}

// filtered keeps views whose fields equal every query parameter given.
func filtered(r *http.Request, views []map[string]any) []any {
	out := []any{}
	for _, v := range views {
		keep := true
		for key, wants := range r.URL.Query() {
			if key == "limit" || key == "marker" || key == "fields" || key == "sort" || key == "page_reverse" {
				continue
			}
			got, ok := v[key]
			if !ok || fmt.Sprint(got) != wants[0] {
				keep = false
			}
		}
		if keep {
			out = append(out, v)
		}
	}
	return out
}

// --- load balancers ---

func (o *octavia) lbView(lb model.LoadBalancer) map[string]any {
	var listeners, pools []string
	for _, l := range o.world.Listeners(func(l *model.Listener) bool { return l.LoadBalancerID == lb.ID }) {
		listeners = append(listeners, l.ID)
	}
	for _, p := range o.world.Pools(func(p *model.Pool) bool { return p.LoadBalancerID == lb.ID }) {
		pools = append(pools, p.ID)
	}
	return map[string]any{
		"id": lb.ID, "name": lb.Name, "description": lb.Description, "project_id": lb.ProjectID, "tenant_id": lb.ProjectID,
		"vip_address": lb.VipAddress, "vip_port_id": lb.VipPortID, "vip_subnet_id": lb.VipSubnetID, "vip_network_id": lb.VipNetworkID,
		"vip_qos_policy_id": nil, "provider": lb.Provider, "flavor_id": lb.FlavorID, "availability_zone": lb.AvailabilityZone,
		"provisioning_status": lb.ProvisioningStatus, "operating_status": lb.OperatingStatus, "admin_state_up": lb.AdminStateUp,
		"listeners": ids(listeners), "pools": ids(pools), "tags": tags(lb.Tags), "additional_vips": []any{},
		"created_at": api.OpenStackTime(lb.CreatedAt), "updated_at": api.OpenStackTime(lb.UpdatedAt),
	}
}

// Bodies of the objects, as created alone or nested in a fully populated
// load balancer.
type monitorBody struct {
	Name           string   `json:"name"`
	PoolID         string   `json:"pool_id"`
	Type           string   `json:"type"`
	Delay          int      `json:"delay"`
	Timeout        int      `json:"timeout"`
	MaxRetries     int      `json:"max_retries"`
	MaxRetriesDown int      `json:"max_retries_down"`
	HTTPMethod     string   `json:"http_method"`
	URLPath        string   `json:"url_path"`
	ExpectedCodes  string   `json:"expected_codes"`
	Tags           []string `json:"tags"`
}

type memberBody struct {
	Name           string   `json:"name"`
	Address        string   `json:"address"`
	ProtocolPort   int      `json:"protocol_port"`
	SubnetID       string   `json:"subnet_id"`
	Weight         *int     `json:"weight"`
	MonitorPort    int      `json:"monitor_port"`
	MonitorAddress string   `json:"monitor_address"`
	Backup         bool     `json:"backup"`
	Tags           []string `json:"tags"`
}

type poolBody struct {
	Name               string         `json:"name"`
	Description        string         `json:"description"`
	LoadBalancerID     string         `json:"loadbalancer_id"`
	ListenerID         string         `json:"listener_id"`
	Protocol           string         `json:"protocol"`
	LBMethod           string         `json:"lb_algorithm"`
	SessionPersistence map[string]any `json:"session_persistence"`
	Tags               []string       `json:"tags"`
	Members            []memberBody   `json:"members"`
	Monitor            *monitorBody   `json:"healthmonitor"`
}

type listenerBody struct {
	Name              string    `json:"name"`
	Description       string    `json:"description"`
	LoadBalancerID    string    `json:"loadbalancer_id"`
	Protocol          string    `json:"protocol"`
	ProtocolPort      int       `json:"protocol_port"`
	DefaultPoolID     string    `json:"default_pool_id"`
	ConnectionLimit   *int      `json:"connection_limit"`
	AllowedCIDRs      []string  `json:"allowed_cidrs"`
	TimeoutClientData int       `json:"timeout_client_data"`
	TimeoutMemberData int       `json:"timeout_member_data"`
	Tags              []string  `json:"tags"`
	DefaultPool       *poolBody `json:"default_pool"`
}

func (b memberBody) model(poolID string) model.Member {
	weight := 0
	if b.Weight != nil {
		weight = *b.Weight
	}
	return model.Member{Name: b.Name, PoolID: poolID, Address: b.Address, ProtocolPort: b.ProtocolPort, SubnetID: b.SubnetID,
		Weight: weight, MonitorPort: b.MonitorPort, MonitorAddress: b.MonitorAddress, Backup: b.Backup, Tags: b.Tags}
}

func (b monitorBody) model(poolID string) model.HealthMonitor {
	return model.HealthMonitor{Name: b.Name, PoolID: poolID, Type: b.Type, Delay: b.Delay, Timeout: b.Timeout,
		MaxRetries: b.MaxRetries, MaxRetriesDown: b.MaxRetriesDown, HTTPMethod: b.HTTPMethod, URLPath: b.URLPath,
		ExpectedCodes: b.ExpectedCodes, Tags: b.Tags}
}

func (b poolBody) model() model.Pool {
	return model.Pool{Name: b.Name, Description: b.Description, LoadBalancerID: b.LoadBalancerID, ListenerID: b.ListenerID,
		Protocol: b.Protocol, LBMethod: b.LBMethod, SessionPersistence: b.SessionPersistence, Tags: b.Tags}
}

func (b listenerBody) model() model.Listener {
	limit := -1
	if b.ConnectionLimit != nil {
		limit = *b.ConnectionLimit
	}
	return model.Listener{Name: b.Name, Description: b.Description, LoadBalancerID: b.LoadBalancerID, Protocol: b.Protocol,
		ProtocolPort: b.ProtocolPort, DefaultPoolID: b.DefaultPoolID, ConnectionLimit: limit, AllowedCIDRs: b.AllowedCIDRs,
		TimeoutClientData: b.TimeoutClientData, TimeoutMemberData: b.TimeoutMemberData, Tags: b.Tags}
}

// --- listeners ---

func listenerView(l model.Listener) map[string]any {
	cidrs := l.AllowedCIDRs
	if cidrs == nil {
		cidrs = []string{}
	}
	return map[string]any{
		"id": l.ID, "name": l.Name, "description": l.Description, "project_id": l.ProjectID, "tenant_id": l.ProjectID,
		"protocol": l.Protocol, "protocol_port": l.ProtocolPort, "connection_limit": l.ConnectionLimit,
		"default_pool_id": nullable(l.DefaultPoolID), "loadbalancers": ids([]string{l.LoadBalancerID}),
		"admin_state_up": l.AdminStateUp, "provisioning_status": l.ProvisioningStatus, "operating_status": l.OperatingStatus,
		"allowed_cidrs": cidrs, "timeout_client_data": l.TimeoutClientData, "timeout_member_data": l.TimeoutMemberData,
		"timeout_member_connect": 5000, "timeout_tcp_inspect": 0, "insert_headers": map[string]any{}, "tags": tags(l.Tags),
		"l7policies": []any{}, "default_tls_container_ref": nil, "sni_container_refs": []any{},
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// --- pools ---

func (o *octavia) poolView(p model.Pool) map[string]any {
	var members []string
	for _, m := range o.world.Members(func(m *model.Member) bool { return m.PoolID == p.ID }) {
		members = append(members, m.ID)
	}
	var listeners []string
	if p.ListenerID != "" {
		listeners = []string{p.ListenerID}
	}
	return map[string]any{
		"id": p.ID, "name": p.Name, "description": p.Description, "project_id": p.ProjectID, "tenant_id": p.ProjectID,
		"protocol": p.Protocol, "lb_algorithm": p.LBMethod, "session_persistence": p.SessionPersistence,
		"loadbalancers": ids([]string{p.LoadBalancerID}), "listeners": ids(listeners), "members": ids(members),
		"healthmonitor_id": nullable(p.HealthMonitorID), "admin_state_up": p.AdminStateUp,
		"provisioning_status": p.ProvisioningStatus, "operating_status": p.OperatingStatus, "tags": tags(p.Tags),
		"tls_enabled": false, "ca_tls_container_ref": nil, "crl_container_ref": nil, "tls_container_ref": nil,
	}
}

// --- members ---

func memberView(m model.Member) map[string]any {
	return map[string]any{
		"id": m.ID, "name": m.Name, "project_id": m.ProjectID, "tenant_id": m.ProjectID, "address": m.Address,
		"protocol_port": m.ProtocolPort, "subnet_id": nullable(m.SubnetID), "weight": m.Weight, "backup": m.Backup,
		"monitor_port": nullablePort(m.MonitorPort), "monitor_address": nullable(m.MonitorAddress),
		"admin_state_up": m.AdminStateUp, "provisioning_status": m.ProvisioningStatus, "operating_status": m.OperatingStatus,
		"tags": tags(m.Tags),
	}
}

func nullablePort(p int) any {
	if p == 0 {
		return nil
	}
	return p
}

// --- health monitors ---

func monitorView(hm model.HealthMonitor) map[string]any {
	return map[string]any{
		"id": hm.ID, "name": hm.Name, "project_id": hm.ProjectID, "tenant_id": hm.ProjectID, "type": hm.Type,
		"delay": hm.Delay, "timeout": hm.Timeout, "max_retries": hm.MaxRetries, "max_retries_down": hm.MaxRetriesDown,
		"http_method": nullable(hm.HTTPMethod), "url_path": nullable(hm.URLPath), "expected_codes": nullable(hm.ExpectedCodes),
		"pools": ids([]string{hm.PoolID}), "admin_state_up": hm.AdminStateUp, "provisioning_status": hm.ProvisioningStatus,
		"operating_status": hm.OperatingStatus, "tags": tags(hm.Tags), "http_version": nil, "domain_name": nil,
	}
}

func (o *octavia) listLoadBalancers() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		var views []map[string]any
		for _, lb := range o.world.LoadBalancers(func(lb *model.LoadBalancer) bool { return owned(r, lb.ProjectID) }) {
			views = append(views, o.lbView(lb))
		}
		return map[string]any{"loadbalancers": filtered(r, views), "loadbalancers_links": []any{}}, nil
	})
}

// lb finds the load balancer of the path in the token's project.
func (o *octavia) lb(r *http.Request) (model.LoadBalancer, error) {
	lb, err := o.world.LoadBalancer(r.PathValue("id"))
	if err != nil || !owned(r, lb.ProjectID) {
		return model.LoadBalancer{}, notFound("Load Balancer", r.PathValue("id"))
	}
	return lb, nil
}

func (o *octavia) getLoadBalancer() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		lb, err := o.lb(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"loadbalancer": o.lbView(lb)}, nil
	})
}

func (o *octavia) createLoadBalancer() http.HandlerFunc {
	type req struct {
		LoadBalancer struct {
			Name             string         `json:"name"`
			Description      string         `json:"description"`
			VipSubnetID      string         `json:"vip_subnet_id"`
			VipNetworkID     string         `json:"vip_network_id"`
			VipAddress       string         `json:"vip_address"`
			Provider         string         `json:"provider"`
			FlavorID         string         `json:"flavor_id"`
			AvailabilityZone string         `json:"availability_zone"`
			Tags             []string       `json:"tags"`
			Listeners        []listenerBody `json:"listeners"`
			Pools            []poolBody     `json:"pools"`
		} `json:"loadbalancer"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		x := q.LoadBalancer
		lb, err := o.world.CreateLoadBalancer(model.LoadBalancer{Name: x.Name, Description: x.Description, VipSubnetID: x.VipSubnetID,
			VipNetworkID: x.VipNetworkID, VipAddress: x.VipAddress, Provider: x.Provider, FlavorID: x.FlavorID,
			AvailabilityZone: x.AvailabilityZone, Tags: x.Tags, ProjectID: api.TokenOf(r.Context()).ProjectID})
		if err != nil {
			return nil, err
		}
		if len(x.Listeners) > 0 || len(x.Pools) > 0 {
			err := o.world.PopulateLoadBalancer(lb.ID, func(tx *model.LBTx) error {
				addPool := func(pb poolBody, listenerID string) {
					p := tx.AddPool(pb.model(), listenerID)
					for _, m := range pb.Members {
						tx.AddMember(m.model(p.ID))
					}
					if pb.Monitor != nil {
						tx.AddHealthMonitor(pb.Monitor.model(p.ID))
					}
				}
				for _, lb := range x.Listeners {
					l := tx.AddListener(lb.model())
					if lb.DefaultPool != nil {
						addPool(*lb.DefaultPool, l.ID)
					}
				}
				for _, pb := range x.Pools {
					addPool(pb, "")
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		}
		lb, _ = o.world.LoadBalancer(lb.ID)
		return map[string]any{"loadbalancer": o.lbView(lb)}, nil
	})
}

func (o *octavia) updateLoadBalancer() http.HandlerFunc {
	type req struct {
		LoadBalancer struct {
			Name        *string   `json:"name"`
			Description *string   `json:"description"`
			Tags        *[]string `json:"tags"`
		} `json:"loadbalancer"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		lb, err := o.lb(r)
		if err != nil {
			return nil, err
		}
		x := q.LoadBalancer
		lb, err = o.world.UpdateLoadBalancer(lb.ID, func(lb *model.LoadBalancer) {
			if x.Name != nil {
				lb.Name = *x.Name
			}
			if x.Description != nil {
				lb.Description = *x.Description
			}
			if x.Tags != nil {
				lb.Tags = *x.Tags
			}
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"loadbalancer": o.lbView(lb)}, nil
	})
}

func (o *octavia) deleteLoadBalancer() http.HandlerFunc {
	return none(http.StatusNoContent, func(r *http.Request) error {
		lb, err := o.lb(r)
		if err != nil {
			return err
		}
		return o.world.DeleteLoadBalancer(lb.ID, strings.EqualFold(r.URL.Query().Get("cascade"), "true"))
	})
}

func (o *octavia) stats() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		if _, err := o.lb(r); err != nil {
			return nil, err
		}
		return map[string]any{"stats": map[string]any{
			"active_connections": 0, "bytes_in": 0, "bytes_out": 0, "request_errors": 0, "total_connections": 0}}, nil
	})
}

func (o *octavia) listListeners() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		var views []map[string]any
		for _, l := range o.world.Listeners(func(l *model.Listener) bool { return owned(r, l.ProjectID) }) {
			v := listenerView(l)
			v["loadbalancer_id"] = l.LoadBalancerID // filterable
			views = append(views, v)
		}
		out := filtered(r, views)
		for _, v := range out {
			delete(v.(map[string]any), "loadbalancer_id")
		}
		return map[string]any{"listeners": out, "listeners_links": []any{}}, nil
	})
}

func (o *octavia) listener(r *http.Request) (model.Listener, error) {
	l, err := o.world.Listener(r.PathValue("id"))
	if err != nil || !owned(r, l.ProjectID) {
		return model.Listener{}, notFound("Listener", r.PathValue("id"))
	}
	return l, nil
}

func (o *octavia) getListener() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		l, err := o.listener(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"listener": listenerView(l)}, nil
	})
}

func (o *octavia) createListener() http.HandlerFunc {
	type req struct {
		Listener listenerBody `json:"listener"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		if lb, err := o.world.LoadBalancer(q.Listener.LoadBalancerID); err != nil || !owned(r, lb.ProjectID) {
			return nil, notFound("Load Balancer", q.Listener.LoadBalancerID)
		}
		l, err := o.world.CreateListener(q.Listener.model())
		if err != nil {
			return nil, err
		}
		return map[string]any{"listener": listenerView(l)}, nil
	})
}

func (o *octavia) updateListener() http.HandlerFunc {
	type req struct {
		Listener struct {
			Name            *string   `json:"name"`
			DefaultPoolID   *string   `json:"default_pool_id"`
			ConnectionLimit *int      `json:"connection_limit"`
			AllowedCIDRs    *[]string `json:"allowed_cidrs"`
			Tags            *[]string `json:"tags"`
		} `json:"listener"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		l, err := o.listener(r)
		if err != nil {
			return nil, err
		}
		x := q.Listener
		l, err = o.world.UpdateListener(l.ID, func(l *model.Listener) {
			if x.Name != nil {
				l.Name = *x.Name
			}
			if x.DefaultPoolID != nil {
				l.DefaultPoolID = *x.DefaultPoolID
			}
			if x.ConnectionLimit != nil {
				l.ConnectionLimit = *x.ConnectionLimit
			}
			if x.AllowedCIDRs != nil {
				l.AllowedCIDRs = *x.AllowedCIDRs
			}
			if x.Tags != nil {
				l.Tags = *x.Tags
			}
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"listener": listenerView(l)}, nil
	})
}

func (o *octavia) deleteListener() http.HandlerFunc {
	return none(http.StatusNoContent, func(r *http.Request) error {
		l, err := o.listener(r)
		if err != nil {
			return err
		}
		return o.world.DeleteListener(l.ID)
	})
}

func (o *octavia) listPools() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		var views []map[string]any
		for _, p := range o.world.Pools(func(p *model.Pool) bool { return owned(r, p.ProjectID) }) {
			v := o.poolView(p)
			v["loadbalancer_id"], v["listener_id"] = p.LoadBalancerID, p.ListenerID
			views = append(views, v)
		}
		out := filtered(r, views)
		for _, v := range out {
			delete(v.(map[string]any), "loadbalancer_id")
			delete(v.(map[string]any), "listener_id")
		}
		return map[string]any{"pools": out, "pools_links": []any{}}, nil
	})
}

func (o *octavia) pool(r *http.Request) (model.Pool, error) {
	p, err := o.world.Pool(r.PathValue("id"))
	if err != nil || !owned(r, p.ProjectID) {
		return model.Pool{}, notFound("Pool", r.PathValue("id"))
	}
	return p, nil
}

func (o *octavia) getPool() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		p, err := o.pool(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"pool": o.poolView(p)}, nil
	})
}

func (o *octavia) createPool() http.HandlerFunc {
	type req struct {
		Pool poolBody `json:"pool"`
	}
	return handle(http.StatusCreated, func(_ *http.Request, q *req) (any, error) {
		p, err := o.world.CreatePool(q.Pool.model())
		if err != nil {
			return nil, err
		}
		return map[string]any{"pool": o.poolView(p)}, nil
	})
}

func (o *octavia) updatePool() http.HandlerFunc {
	type req struct {
		Pool struct {
			Name     *string   `json:"name"`
			LBMethod *string   `json:"lb_algorithm"`
			Tags     *[]string `json:"tags"`
		} `json:"pool"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		p, err := o.pool(r)
		if err != nil {
			return nil, err
		}
		x := q.Pool
		p, err = o.world.UpdatePool(p.ID, func(p *model.Pool) {
			if x.Name != nil {
				p.Name = *x.Name
			}
			if x.LBMethod != nil {
				p.LBMethod = *x.LBMethod
			}
			if x.Tags != nil {
				p.Tags = *x.Tags
			}
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"pool": o.poolView(p)}, nil
	})
}

func (o *octavia) deletePool() http.HandlerFunc {
	return none(http.StatusNoContent, func(r *http.Request) error {
		p, err := o.pool(r)
		if err != nil {
			return err
		}
		return o.world.DeletePool(p.ID)
	})
}

func (o *octavia) listMembers() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		p, err := o.pool(r)
		if err != nil {
			return nil, err
		}
		var views []map[string]any
		for _, m := range o.world.Members(func(m *model.Member) bool { return m.PoolID == p.ID }) {
			views = append(views, memberView(m))
		}
		return map[string]any{"members": filtered(r, views), "members_links": []any{}}, nil
	})
}

func (o *octavia) createMember() http.HandlerFunc {
	type req struct {
		Member memberBody `json:"member"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		p, err := o.pool(r)
		if err != nil {
			return nil, err
		}
		m, err := o.world.CreateMember(q.Member.model(p.ID))
		if err != nil {
			return nil, err
		}
		return map[string]any{"member": memberView(m)}, nil
	})
}

func (o *octavia) batchMembers() http.HandlerFunc {
	type req struct {
		Members []memberBody `json:"members"`
	}
	return handle(http.StatusAccepted, func(r *http.Request, q *req) (any, error) {
		p, err := o.pool(r)
		if err != nil {
			return nil, err
		}
		var want []model.Member
		for _, m := range q.Members {
			want = append(want, m.model(p.ID))
		}
		return nil, o.world.BatchUpdateMembers(p.ID, want)
	})
}

func (o *octavia) getMember() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		p, err := o.pool(r)
		if err != nil {
			return nil, err
		}
		m, err := o.world.Member(r.PathValue("member"))
		if err != nil || m.PoolID != p.ID {
			return nil, notFound("Member", r.PathValue("member"))
		}
		return map[string]any{"member": memberView(m)}, nil
	})
}

func (o *octavia) deleteMember() http.HandlerFunc {
	return none(http.StatusNoContent, func(r *http.Request) error {
		p, err := o.pool(r)
		if err != nil {
			return err
		}
		return o.world.DeleteMember(p.ID, r.PathValue("member"))
	})
}

func (o *octavia) listMonitors() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		var views []map[string]any
		for _, hm := range o.world.HealthMonitors(func(hm *model.HealthMonitor) bool { return owned(r, hm.ProjectID) }) {
			v := monitorView(hm)
			v["pool_id"] = hm.PoolID
			views = append(views, v)
		}
		out := filtered(r, views)
		for _, v := range out {
			delete(v.(map[string]any), "pool_id")
		}
		return map[string]any{"healthmonitors": out, "healthmonitors_links": []any{}}, nil
	})
}

func (o *octavia) monitor(r *http.Request) (model.HealthMonitor, error) {
	hm, err := o.world.HealthMonitor(r.PathValue("id"))
	if err != nil || !owned(r, hm.ProjectID) {
		return model.HealthMonitor{}, notFound("Health Monitor", r.PathValue("id"))
	}
	return hm, nil
}

func (o *octavia) getMonitor() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		hm, err := o.monitor(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"healthmonitor": monitorView(hm)}, nil
	})
}

func (o *octavia) createMonitor() http.HandlerFunc {
	type req struct {
		Monitor monitorBody `json:"healthmonitor"`
	}
	return handle(http.StatusCreated, func(_ *http.Request, q *req) (any, error) {
		hm, err := o.world.CreateHealthMonitor(q.Monitor.model(q.Monitor.PoolID))
		if err != nil {
			return nil, err
		}
		return map[string]any{"healthmonitor": monitorView(hm)}, nil
	})
}

func (o *octavia) deleteMonitor() http.HandlerFunc {
	return none(http.StatusNoContent, func(r *http.Request) error {
		hm, err := o.monitor(r)
		if err != nil {
			return err
		}
		return o.world.DeleteHealthMonitor(hm.ID)
	})
}
