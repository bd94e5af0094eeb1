package nsx

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// Port is an NSX port of a Neutron port: a Manager API logical port or a
// Policy API segment port. Raw is the object exactly as NSX returned it,
// kept as bytes (a fraction of the memory of a decoded map, for thousands of
// ports); writes send Raw back with only the tags changed.
type Port struct {
	ID           string
	AttachmentID string // the Neutron port id
	Revision     int64
	Tags         []Tag
	Raw          json.RawMessage
}

// portFields are the fields of a port the tagger reads.
type portFields struct {
	ID         string      `json:"id"`
	Revision   json.Number `json:"_revision"`
	Tags       []Tag       `json:"tags"`
	Attachment *struct {
		ID string `json:"id"`
	} `json:"attachment"`
}

// ParsePort reads a port from NSX's JSON.
func ParsePort(raw json.RawMessage) (Port, error) {
	var f portFields
	if err := json.Unmarshal(raw, &f); err != nil {
		return Port{}, fmt.Errorf("decoding NSX port: %w", err)
	}
	p := Port{ID: f.ID, Tags: f.Tags, Raw: raw, Revision: -1}
	if p.Tags == nil {
		p.Tags = []Tag{}
	}
	if f.Attachment != nil {
		p.AttachmentID = f.Attachment.ID
	}
	if f.Revision != "" {
		if n, err := f.Revision.Int64(); err == nil {
			p.Revision = n
		}
	}
	return p, nil
}

// Object decodes the port's JSON.
func (p Port) Object() (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(p.Raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding NSX port %s: %w", p.ID, err)
	}
	return m, nil
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
	Results     []json.RawMessage `json:"results"`
	Cursor      string            `json:"cursor"`
	ResultCount int               `json:"result_count"`
}

// body is p.Raw with p.Tags: every other field exactly as NSX sent it.
func (p Port) body() (map[string]any, error) {
	m, err := p.Object()
	if err != nil {
		return nil, err
	}
	m["tags"] = TagsJSON(p.Tags)
	return m, nil
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
			p, err := ParsePort(r)
			if err != nil {
				return err
			}
			page = append(page, p)
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
		var obj struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(res.Results[0], &obj) == nil && obj.ID != "" {
			return obj.ID, nil
		}
	}
	// Older Managers answer search slowly or not at all for switches:
	// look through the switches.
	var found string
	err := m.c.listPagesRaw(ctx, "/api/v1/logical-switches", url.Values{}, func(objs []json.RawMessage) error {
		for _, o := range objs {
			var sw struct {
				ID   string `json:"id"`
				Tags []Tag  `json:"tags"`
			}
			if json.Unmarshal(o, &sw) != nil {
				continue
			}
			for _, t := range sw.Tags {
				if t.Scope == "os-neutron-net-id" && t.Tag == networkID {
					found = sw.ID
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
	p, err := ParsePort(res.Results[0])
	if err != nil {
		return nil, err
	}
	return &p, nil
}

func (m *managerPorts) Get(ctx context.Context, _, id string) (Port, error) {
	return m.c.port(ctx, http.MethodGet, "/api/v1/logical-ports/"+url.PathEscape(id), nil)
}

func (m *managerPorts) Update(ctx context.Context, _ string, p Port) (Port, error) {
	body, err := p.body()
	if err != nil {
		return Port{}, err
	}
	return m.c.port(ctx, http.MethodPut, "/api/v1/logical-ports/"+url.PathEscape(p.ID), body)
}

// port sends a request whose answer is a port.
func (c *Client) port(ctx context.Context, method, path string, body any) (Port, error) {
	var raw json.RawMessage
	if err := c.Do(ctx, method, path, body, &raw); err != nil {
		return Port{}, err
	}
	return ParsePort(raw)
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
	return p.c.port(ctx, http.MethodGet, segmentPath(scope)+"/"+url.PathEscape(id), nil)
}

func (p *policyPorts) Update(ctx context.Context, scope string, port Port) (Port, error) {
	body, err := port.body()
	if err != nil {
		return Port{}, err
	}
	return p.c.port(ctx, http.MethodPut, segmentPath(scope)+"/"+url.PathEscape(port.ID), body)
}

// listPagesRaw follows cursors of any list.
func (c *Client) listPagesRaw(ctx context.Context, path string, q url.Values, fn func([]json.RawMessage) error) error {
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
