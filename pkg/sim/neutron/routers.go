package neutron

import (
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

func (n *neutron) project(r *http.Request) string { return api.TokenOf(r.Context()).ProjectID }

// show answers the view of one object under key after a write.
func (n *neutron) show(r *http.Request, key, id string, all views) (any, error) {
	list := all(r, id)
	if len(list) == 0 {
		return nil, &model.ErrNotFound{Kind: key, ID: id}
	}
	return map[string]any{key: list[0]}, nil
}

// withTags sets the tags given on create (the tag-creation extension).
func (n *neutron) withTags(kind, id string, tags *[]string) error {
	if tags == nil {
		return nil
	}
	_, err := n.world.SetTags(kind, id, *tags)
	return err
}

type gatewayBody struct {
	NetworkID        *string `json:"network_id"`
	EnableSNAT       *bool   `json:"enable_snat"`
	ExternalFixedIPs []any   `json:"external_fixed_ips"`
}

type routerBody struct {
	Name         *string `json:"name"`
	Description  *string `json:"description"`
	AdminStateUp *bool   `json:"admin_state_up"`
	// Gateway is a pointer to a pointer: absent, null (remove) or set.
	Gateway   **gatewayBody `json:"external_gateway_info"`
	Tags      *[]string     `json:"tags"`
	ProjectID string        `json:"project_id"`
	TenantID  string        `json:"tenant_id"`
}

func (b routerBody) update() model.RouterUpdate {
	u := model.RouterUpdate{Name: b.Name, Description: b.Description, AdminStateUp: b.AdminStateUp}
	if b.Gateway != nil {
		u.Gateway = &model.RouterGateway{}
		if gw := *b.Gateway; gw != nil && gw.NetworkID != nil {
			u.Gateway.NetworkID, u.Gateway.EnableSNAT = *gw.NetworkID, gw.EnableSNAT
		}
	}
	return u
}

func (n *neutron) createRouter() http.HandlerFunc {
	type req struct {
		Router routerBody `json:"router"`
	}
	return handle(http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		project := n.project(r)
		if err := n.world.CheckNetworkQuota(project, "router"); err != nil {
			return nil, err
		}
		rt, err := n.world.CreateRouter(model.Router{Name: deref(q.Router.Name), Description: deref(q.Router.Description), ProjectID: project})
		if err != nil {
			return nil, err
		}
		u := q.Router.update()
		u.Name, u.Description = nil, nil
		if _, err := n.world.UpdateRouter(rt.ID, u); err != nil {
			_ = n.world.DeleteRouter(rt.ID)
			return nil, err
		}
		if err := n.withTags(model.TagRouters, rt.ID, q.Router.Tags); err != nil {
			_ = n.world.DeleteRouter(rt.ID)
			return nil, err
		}
		return n.show(r, "router", rt.ID, n.routerViews)
	})
}

func (n *neutron) updateRouter() http.HandlerFunc {
	type req struct {
		Router routerBody `json:"router"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		id := r.PathValue("id")
		if len(n.routerViews(r, id)) == 0 {
			return nil, &model.ErrNotFound{Kind: "router", ID: id}
		}
		if _, err := n.world.UpdateRouter(id, q.Router.update()); err != nil {
			return nil, err
		}
		return n.show(r, "router", id, n.routerViews)
	})
}

func (n *neutron) routerInterface(fn func(router, subnet, port string) (model.RouterInterface, error)) http.HandlerFunc {
	type req struct {
		SubnetID string `json:"subnet_id"`
		PortID   string `json:"port_id"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		id := r.PathValue("id")
		if len(n.routerViews(r, id)) == 0 {
			return nil, &model.ErrNotFound{Kind: "router", ID: id}
		}
		ri, err := fn(id, q.SubnetID, q.PortID)
		if err != nil {
			return nil, err
		}
		return map[string]any{"id": ri.RouterID, "subnet_id": ri.SubnetID, "subnet_ids": []string{ri.SubnetID}, "port_id": ri.PortID,
			"network_id": ri.NetworkID, "tenant_id": ri.ProjectID, "project_id": ri.ProjectID, "tags": []string{}}, nil
	})
}

func (n *neutron) updateNetwork() http.HandlerFunc {
	type req struct {
		Network struct {
			Name         *string `json:"name"`
			Description  *string `json:"description"`
			AdminStateUp *bool   `json:"admin_state_up"`
			Shared       *bool   `json:"shared"`
			External     *bool   `json:"router:external"`
			MTU          *int    `json:"mtu"`
		} `json:"network"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		id := r.PathValue("id")
		if len(n.networkViews(r, id)) == 0 {
			return nil, &model.ErrNotFound{Kind: "network", ID: id}
		}
		b := q.Network
		if _, err := n.world.UpdateNetwork(id, model.NetworkUpdate{Name: b.Name, Description: b.Description, AdminStateUp: b.AdminStateUp,
			Shared: b.Shared, External: b.External, MTU: b.MTU}); err != nil {
			return nil, err
		}
		return n.show(r, "network", id, n.networkViews)
	})
}

type poolBody struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

func pools(b []poolBody) []model.IPRange {
	out := make([]model.IPRange, len(b))
	for i, p := range b {
		out[i] = model.IPRange{Start: p.Start, End: p.End}
	}
	return out
}

func (n *neutron) updateSubnet() http.HandlerFunc {
	type req struct {
		Subnet struct {
			Name            *string     `json:"name"`
			Description     *string     `json:"description"`
			GatewayIP       **string    `json:"gateway_ip"`
			EnableDHCP      *bool       `json:"enable_dhcp"`
			DNSNameservers  *[]string   `json:"dns_nameservers"`
			AllocationPools *[]poolBody `json:"allocation_pools"`
		} `json:"subnet"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		id := r.PathValue("id")
		if len(n.subnetViews(r, id)) == 0 {
			return nil, &model.ErrNotFound{Kind: "subnet", ID: id}
		}
		b := q.Subnet
		u := model.SubnetUpdate{Name: b.Name, Description: b.Description, EnableDHCP: b.EnableDHCP, DNSNameservers: b.DNSNameservers}
		if b.GatewayIP != nil {
			gw := ""
			if *b.GatewayIP != nil {
				gw = **b.GatewayIP
			}
			u.GatewayIP = &gw
		}
		if b.AllocationPools != nil {
			p := pools(*b.AllocationPools)
			u.AllocationPools = &p
		}
		if _, err := n.world.UpdateSubnet(id, u); err != nil {
			return nil, err
		}
		return n.show(r, "subnet", id, n.subnetViews)
	})
}

func (n *neutron) updateSecurityGroup() http.HandlerFunc {
	type req struct {
		SecurityGroup struct {
			Name        *string `json:"name"`
			Description *string `json:"description"`
		} `json:"security_group"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		id := r.PathValue("id")
		if len(n.securityGroupViews(r, id)) == 0 {
			return nil, &model.ErrNotFound{Kind: "security_group", ID: id}
		}
		if q.SecurityGroup.Name != nil && *q.SecurityGroup.Name != model.DefaultSecurityGroupName && n.world.IsDefaultSecurityGroup(id) {
			return nil, &model.ErrBadRequest{Message: "Updating default security group not allowed."}
		}
		if _, err := n.world.UpdateSecurityGroup(id, q.SecurityGroup.Name, q.SecurityGroup.Description); err != nil {
			return nil, err
		}
		return n.show(r, "security_group", id, n.securityGroupViews)
	})
}

// tagRoutes serves the tag extension of a collection: GET, PUT and
// DELETE of /{kind}/{id}/tags and of /{kind}/{id}/tags/{tag}.
func (n *neutron) tagRoutes(mux *api.Mux, kind string) {
	base := "/v2.0/" + kind + "/{id}/tags"
	visible := func(r *http.Request) error {
		id := r.PathValue("id")
		var all views
		switch kind {
		case model.TagNetworks:
			all = n.networkViews
		case model.TagSubnets:
			all = n.subnetViews
		case model.TagPorts:
			all = n.portViews
		case model.TagRouters:
			all = n.routerViews
		case model.TagSecurityGroups:
			all = n.securityGroupViews
		case model.TagFloatingIPs:
			all = n.floatingIPViews
		}
		if len(all(r, id)) == 0 {
			return &model.ErrNotFound{Kind: strings.TrimSuffix(strings.ReplaceAll(kind, "-", "_"), "s"), ID: id}
		}
		return nil
	}
	mux.HandleFunc("GET "+base, handle(http.StatusOK, func(r *http.Request, _ *struct{}) (any, error) {
		if err := visible(r); err != nil {
			return nil, err
		}
		tags, err := n.world.Tags(kind, r.PathValue("id"))
		return map[string]any{"tags": tags}, err
	}))
	mux.HandleFunc("PUT "+base, handle(http.StatusOK, func(r *http.Request, q *struct {
		Tags *[]string `json:"tags"`
	}) (any, error) {
		if err := visible(r); err != nil {
			return nil, err
		}
		if q.Tags == nil {
			return nil, &model.ErrBadRequest{Message: "Invalid input for tags. Reason: tags is missing."}
		}
		tags, err := n.world.SetTags(kind, r.PathValue("id"), *q.Tags)
		return map[string]any{"tags": tags}, err
	}))
	mux.HandleFunc("DELETE "+base, handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		if err := visible(r); err != nil {
			return nil, err
		}
		_, err := n.world.SetTags(kind, r.PathValue("id"), nil)
		return nil, err
	}))
	mux.HandleFunc("GET "+base+"/{tag}", handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		if err := visible(r); err != nil {
			return nil, err
		}
		tags, err := n.world.Tags(kind, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		for _, t := range tags {
			if t == r.PathValue("tag") {
				return nil, nil
			}
		}
		return nil, &model.ErrNotFound{Kind: "tag", ID: r.PathValue("tag")}
	}))
	mux.HandleFunc("PUT "+base+"/{tag}", handle(http.StatusCreated, func(r *http.Request, _ *struct{}) (any, error) {
		if err := visible(r); err != nil {
			return nil, err
		}
		tags, err := n.world.Tags(kind, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		_, err = n.world.SetTags(kind, r.PathValue("id"), append(tags, r.PathValue("tag")))
		return nil, err
	}))
	mux.HandleFunc("DELETE "+base+"/{tag}", handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		if err := visible(r); err != nil {
			return nil, err
		}
		tags, err := n.world.Tags(kind, r.PathValue("id"))
		if err != nil {
			return nil, err
		}
		keep := tags[:0]
		found := false
		for _, t := range tags {
			if t == r.PathValue("tag") {
				found = true
				continue
			}
			keep = append(keep, t)
		}
		if !found {
			return nil, &model.ErrNotFound{Kind: "tag", ID: r.PathValue("tag")}
		}
		_, err = n.world.SetTags(kind, r.PathValue("id"), keep)
		return nil, err
	}))
}

// quotaProject is the project of a quota URL; clients may append ".json".
func quotaProject(r *http.Request) string { return strings.TrimSuffix(r.PathValue("project"), ".json") }

func (n *neutron) showQuota(r *http.Request) (any, error) {
	project := quotaProject(r)
	switch {
	case strings.HasSuffix(r.URL.Path, "/default"):
		return map[string]any{"quota": model.QuotaDefaults("network")}, nil
	case strings.HasSuffix(r.URL.Path, "/details") || strings.HasSuffix(r.URL.Path, "/details.json"):
		limits, used := n.world.Quotas(project, "network"), n.world.NetworkUsage(project)
		out := map[string]any{}
		for k, v := range limits {
			out[k] = map[string]any{"limit": v, "used": used[k], "reserved": 0}
		}
		return map[string]any{"quota": out}, nil
	}
	return map[string]any{"quota": n.world.Quotas(project, "network")}, nil
}

func (n *neutron) listQuotas(r *http.Request) (any, error) {
	p := n.project(r)
	q := map[string]any{"project_id": p, "tenant_id": p}
	for k, v := range n.world.Quotas(p, "network") {
		q[k] = v
	}
	return map[string]any{"quotas": []any{q}}, nil
}

func (n *neutron) updateQuota() http.HandlerFunc {
	type req struct {
		Quota map[string]any `json:"quota"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		limits := map[string]int{}
		var keys []string
		for k := range q.Quota {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var v int
			if _, err := fmt.Sscan(fmt.Sprint(q.Quota[k]), &v); err != nil {
				return nil, &model.ErrBadRequest{Message: fmt.Sprintf("Invalid input for %s. Reason: '%v' is not an integer.", k, q.Quota[k])}
			}
			limits[k] = v
		}
		out, err := n.world.SetQuotas(quotaProject(r), "network", limits)
		if err != nil {
			return nil, err
		}
		return map[string]any{"quota": out}, nil
	})
}

func (n *neutron) deleteQuota() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		n.world.ResetQuotas(quotaProject(r), "network")
		return nil, nil
	})
}
