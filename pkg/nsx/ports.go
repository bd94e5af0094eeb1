package nsx

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Port is an NSX port of a Neutron port: a Manager API logical port or a
// Policy API segment port. Raw is the object exactly as NSX returned it;
// writes send Raw back with only the tags changed.
type Port struct {
	ID           string
	AttachmentID string // the Neutron port id
	Tags         []Tag
	Raw          map[string]any
}

// Ports reads and writes the ports of one network in one NSX API.
type Ports interface {
	// Scope finds the NSX object of a Neutron network that holds its ports:
	// a logical switch id (Manager API) or a segment id (Policy API).
	Scope(ctx context.Context, networkID string) (string, error)
	// List calls fn with every port of scope, a page at a time.
	List(ctx context.Context, scope string, fn func([]Port) error) error
	// ByAttachment finds the port of a Neutron port, or returns nil.
	ByAttachment(ctx context.Context, scope, neutronPortID string) (*Port, error)
	// Get reads a port.
	Get(ctx context.Context, scope, id string) (Port, error)
	// Update writes p.Raw with p.Tags; it fails with a stale revision error
	// when the port changed since it was read.
	Update(ctx context.Context, scope string, p Port) (Port, error)
}

// API modes.
const (
	ManagerMode = "manager"
	PolicyMode  = "policy"
)

// NewPorts returns the Ports of an API mode.
func NewPorts(c *Client, mode string) (Ports, error) {
	switch mode {
	case ManagerMode, "":
		return &managerPorts{c: c}, nil
	case PolicyMode:
		return &policyPorts{c: c}, nil
	}
	return nil, fmt.Errorf("nsx: API mode %q is not %s or %s", mode, ManagerMode, PolicyMode)
}

type listResult struct {
	Results     []map[string]any `json:"results"`
	Cursor      string           `json:"cursor"`
	ResultCount int              `json:"result_count"`
}

func toPort(raw map[string]any) Port {
	p := Port{Raw: raw, Tags: TagsOf(raw)}
	p.ID, _ = raw["id"].(string)
	if att, ok := raw["attachment"].(map[string]any); ok {
		p.AttachmentID, _ = att["id"].(string)
	}
	return p
}

// body is p.Raw with p.Tags.
func (p Port) body() map[string]any {
	out := make(map[string]any, len(p.Raw))
	for k, v := range p.Raw {
		out[k] = v
	}
	out["tags"] = TagsJSON(p.Tags)
	return out
}

// listPages follows cursors from path.
func (c *Client) listPages(ctx context.Context, path string, q url.Values, fn func([]Port) error) error {
	q.Set("page_size", strconv.Itoa(c.cfg.PageSize))
	for {
		var res listResult
		if err := c.Do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &res); err != nil {
			return err
		}
		page := make([]Port, 0, len(res.Results))
		for _, r := range res.Results {
			page = append(page, toPort(r))
		}
		if err := fn(page); err != nil {
			return err
		}
		if res.Cursor == "" {
			return nil
		}
		q.Set("cursor", res.Cursor)
	}
}

type managerPorts struct{ c *Client }

func (m *managerPorts) Scope(ctx context.Context, networkID string) (string, error) {
	// VIO's plugin tags the switch of a network with the network id.
	var res listResult
	q := url.Values{"query": {fmt.Sprintf("resource_type:LogicalSwitch AND tags.scope:os-neutron-net-id AND tags.tag:%s", networkID)}}
	if err := m.c.Do(ctx, http.MethodGet, "/api/v1/search/query?"+q.Encode(), nil, &res); err == nil && len(res.Results) == 1 {
		if id, ok := res.Results[0]["id"].(string); ok {
			return id, nil
		}
	}
	// Older Managers answer search slowly or not at all for switches:
	// look through the switches.
	var found string
	err := m.c.listPagesRaw(ctx, "/api/v1/logical-switches", url.Values{}, func(objs []map[string]any) error {
		for _, o := range objs {
			for _, t := range TagsOf(o) {
				if t.Scope == "os-neutron-net-id" && t.Tag == networkID {
					found, _ = o["id"].(string)
				}
			}
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if found == "" {
		return "", fmt.Errorf("no NSX logical switch is tagged os-neutron-net-id=%s", networkID)
	}
	return found, nil
}

func (m *managerPorts) List(ctx context.Context, scope string, fn func([]Port) error) error {
	return m.c.listPages(ctx, "/api/v1/logical-ports", url.Values{"logical_switch_id": {scope}}, fn)
}

func (m *managerPorts) ByAttachment(ctx context.Context, scope, neutronPortID string) (*Port, error) {
	var res listResult
	q := url.Values{"attachment_id": {neutronPortID}, "logical_switch_id": {scope}}
	if err := m.c.Do(ctx, http.MethodGet, "/api/v1/logical-ports?"+q.Encode(), nil, &res); err != nil {
		return nil, err
	}
	if len(res.Results) == 0 {
		return nil, nil
	}
	p := toPort(res.Results[0])
	return &p, nil
}

func (m *managerPorts) Get(ctx context.Context, _, id string) (Port, error) {
	var raw map[string]any
	if err := m.c.Do(ctx, http.MethodGet, "/api/v1/logical-ports/"+url.PathEscape(id), nil, &raw); err != nil {
		return Port{}, err
	}
	return toPort(raw), nil
}

func (m *managerPorts) Update(ctx context.Context, _ string, p Port) (Port, error) {
	var raw map[string]any
	if err := m.c.Do(ctx, http.MethodPut, "/api/v1/logical-ports/"+url.PathEscape(p.ID), p.body(), &raw); err != nil {
		return Port{}, err
	}
	return toPort(raw), nil
}

type policyPorts struct{ c *Client }

func segmentPath(segment string) string {
	return "/policy/api/v1/infra/segments/" + url.PathEscape(segment) + "/ports"
}

// Scope is the network id: VIO's Policy plugin names segments after networks.
func (p *policyPorts) Scope(_ context.Context, networkID string) (string, error) {
	return networkID, nil
}

func (p *policyPorts) List(ctx context.Context, scope string, fn func([]Port) error) error {
	return p.c.listPages(ctx, segmentPath(scope), url.Values{}, fn)
}

// ByAttachment reads the segment port named after the Neutron port.
func (p *policyPorts) ByAttachment(ctx context.Context, scope, neutronPortID string) (*Port, error) {
	port, err := p.Get(ctx, scope, neutronPortID)
	if IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &port, nil
}

func (p *policyPorts) Get(ctx context.Context, scope, id string) (Port, error) {
	var raw map[string]any
	if err := p.c.Do(ctx, http.MethodGet, segmentPath(scope)+"/"+url.PathEscape(id), nil, &raw); err != nil {
		return Port{}, err
	}
	return toPort(raw), nil
}

func (p *policyPorts) Update(ctx context.Context, scope string, port Port) (Port, error) {
	var raw map[string]any
	if err := p.c.Do(ctx, http.MethodPut, segmentPath(scope)+"/"+url.PathEscape(port.ID), port.body(), &raw); err != nil {
		return Port{}, err
	}
	return toPort(raw), nil
}

// listPagesRaw follows cursors of any list.
func (c *Client) listPagesRaw(ctx context.Context, path string, q url.Values, fn func([]map[string]any) error) error {
	q.Set("page_size", strconv.Itoa(c.cfg.PageSize))
	for {
		var res listResult
		if err := c.Do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &res); err != nil {
			return err
		}
		if err := fn(res.Results); err != nil {
			return err
		}
		if res.Cursor == "" {
			return nil
		}
		q.Set("cursor", res.Cursor)
	}
}

// Revision is the _revision of a raw object.
func Revision(raw map[string]any) int64 {
	switch v := raw["_revision"].(type) {
	case json.Number:
		n, _ := v.Int64()
		return n
	case float64:
		return int64(v)
	case int64:
		return v
	}
	return -1
}
