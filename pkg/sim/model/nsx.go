package model

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// LogicalSwitch is an NSX-T logical switch (Manager API); the Policy API
// shows the same network as a segment whose id is the Neutron network id.
type LogicalSwitch struct {
	ID              string
	DisplayName     string
	NetworkID       string
	TransportZoneID string
	Tags            []Tag
	Revision        int64
}

// Tag is an NSX tag.
type Tag struct {
	Scope string `json:"scope"`
	Tag   string `json:"tag"`
}

// LogicalPort is an NSX port, stored as the JSON object NSX returns so that
// fields the simulator does not model survive every round trip. The same
// type holds Manager API logical ports and Policy API segment ports.
type LogicalPort struct {
	ID           string
	SwitchID     string // logical switch id, or segment id (Policy)
	AttachmentID string // the Neutron port id
	Revision     int64
	// Protected ports were created by OpenStack's principal identity:
	// changing them needs the X-Allow-Overwrite header.
	Protected bool
	Body      map[string]any
}

// NSX system fields that clients cannot change.
var nsxReadOnly = []string{"id", "resource_type", "_create_user", "_create_time", "_system_owned", "_protection", "path", "parent_path", "relative_path", "realization_id", "unique_id", "marked_for_delete", "overridden"}

// NSX creator of the ports VIO's plugin makes.
const openstackUser = "nsx_openstack_pi"

// ErrStaleRevision is returned for a write whose _revision is not current.
type ErrStaleRevision struct {
	ID       string
	Given    string
	Current  int64
	Missing  bool
	Resource string
}

func (e *ErrStaleRevision) Error() string {
	if e.Missing {
		return fmt.Sprintf("Field '_revision' is required for object %s of type %s.", e.ID, e.Resource)
	}
	return fmt.Sprintf("The object %s was modified by somebody else. Its current revision is %d, the request had %s.", e.ID, e.Current, e.Given)
}

// ErrProtected is returned for a write to a protected object without the
// override header.
type ErrProtected struct{ ID string }

func (e *ErrProtected) Error() string {
	return fmt.Sprintf("The object %s is owned by principal identity %s. Set X-Allow-Overwrite to true to modify it.", e.ID, openstackUser)
}

func (w *World) millis() int64 { return w.now().UnixMilli() }

// createLogicalSwitch gives a Neutron network its NSX switch and segment.
// Callers hold the lock.
func (w *World) createLogicalSwitch(n *Network) {
	ls := LogicalSwitch{ID: NewID(), DisplayName: n.Name, NetworkID: n.ID, TransportZoneID: "overlay-tz",
		Tags: []Tag{{Scope: "os-neutron-net-id", Tag: n.ID}, {Scope: "os-project-id", Tag: n.ProjectID}}}
	w.switches.put(ls.ID, w.nextSeq(), &ls)
	w.switchByNetwork[n.ID] = ls.ID
}

// LogicalSwitches lists the switches.
func (w *World) LogicalSwitches() []LogicalSwitch {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.switches.list(nil))
}

// LogicalSwitchOfNetwork returns the switch of a Neutron network.
func (w *World) LogicalSwitchOfNetwork(networkID string) (LogicalSwitch, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	ls, ok := w.switches.get(w.switchByNetwork[networkID])
	if !ok {
		return LogicalSwitch{}, &ErrNotFound{"LogicalSwitch", networkID}
	}
	return *ls, nil
}

// portTags are the tags VIO's NSX plugin puts on the port of a Neutron port.
func (w *World) portTags(p *Port) []any {
	projectName := ""
	if pr, ok := w.projects.get(p.ProjectID); ok {
		projectName = pr.Name
	}
	tags := []Tag{
		{Scope: "os-neutron-port-id", Tag: p.ID},
		{Scope: "os-project-id", Tag: p.ProjectID},
		{Scope: "os-project-name", Tag: projectName},
		{Scope: "os-api-version", Tag: "17.0.0"},
		{Scope: "os-neutron-net-id", Tag: p.NetworkID},
	}
	if p.DeviceID != "" && strings.HasPrefix(p.DeviceOwner, "compute:") {
		tags = append(tags, Tag{Scope: "os-instance-uuid", Tag: p.DeviceID})
	}
	out := make([]any, len(tags))
	for i, t := range tags {
		out[i] = map[string]any{"scope": t.Scope, "tag": t.Tag}
	}
	return out
}

// createLogicalPort gives a Neutron port its NSX Manager logical port and
// Policy segment port. Callers hold the lock.
func (w *World) createLogicalPort(p *Port, n *Network) {
	lsID := w.switchByNetwork[n.ID]
	now := w.millis()
	var bindings []any
	for _, ip := range p.FixedIPs {
		bindings = append(bindings, map[string]any{"ip_address": ip.IPAddress, "mac_address": p.MACAddress})
	}
	name := p.Name
	if name == "" {
		name = p.ID
	}
	manager := map[string]any{
		"resource_type":     "LogicalPort",
		"id":                NewID(),
		"display_name":      name,
		"description":       "",
		"logical_switch_id": lsID,
		"admin_state":       "UP",
		"attachment": map[string]any{
			"attachment_type": "VIF",
			"id":              p.ID,
			"context":         map[string]any{"resource_type": "VifAttachmentContext", "vif_type": "PARENT"},
		},
		"address_bindings": bindings,
		"switching_profile_ids": []any{
			map[string]any{"key": "SwitchSecuritySwitchingProfile", "value": "fbc4fb17-83d9-4b53-a286-ccdf04301888"},
			map[string]any{"key": "SpoofGuardSwitchingProfile", "value": "fad98876-d7ff-11e4-b9d6-1681e6b88ec1"},
		},
		"tags":                w.portTags(p),
		"_create_user":        openstackUser,
		"_create_time":        now,
		"_last_modified_user": openstackUser,
		"_last_modified_time": now,
		"_system_owned":       false,
		"_protection":         "REQUIRE_OVERRIDE",
		"_revision":           int64(0),
	}
	mp := LogicalPort{ID: manager["id"].(string), SwitchID: lsID, AttachmentID: p.ID, Protected: true, Body: manager}
	w.nsxPorts.put(mp.ID, w.nextSeq(), &mp)
	w.nsxPortByAttach[p.ID] = mp.ID

	policy := map[string]any{
		"resource_type": "SegmentPort",
		"id":            p.ID,
		"display_name":  name,
		"path":          "/infra/segments/" + n.ID + "/ports/" + p.ID,
		"parent_path":   "/infra/segments/" + n.ID,
		"relative_path": p.ID,
		"unique_id":     mp.ID,
		"admin_state":   "UP",
		"attachment": map[string]any{
			"id":   p.ID,
			"type": "PARENT",
		},
		"address_bindings":    bindings,
		"tags":                w.portTags(p),
		"marked_for_delete":   false,
		"overridden":          false,
		"_create_user":        openstackUser,
		"_create_time":        now,
		"_last_modified_user": openstackUser,
		"_last_modified_time": now,
		"_system_owned":       false,
		"_protection":         "REQUIRE_OVERRIDE",
		"_revision":           int64(0),
	}
	sp := LogicalPort{ID: p.ID, SwitchID: n.ID, AttachmentID: p.ID, Protected: true, Body: policy}
	w.segmentPorts.put(sp.ID, w.nextSeq(), &sp)
}

// updateLogicalPortTags puts a Neutron port's VIO tags (os-*) on its NSX
// ports again after the port was bound to a server or unbound from one, as
// VIO's NSX plugin updates the backend port (os-instance-uuid comes and
// goes), keeping every other tag; the revision moves on. Callers hold the
// lock.
func (w *World) updateLogicalPortTags(p *Port) {
	var targets []*LogicalPort
	if mp, ok := w.nsxPorts.get(w.nsxPortByAttach[p.ID]); ok {
		targets = append(targets, mp)
	}
	if sp, ok := w.segmentPorts.get(p.ID); ok {
		targets = append(targets, sp)
	}
	for _, lp := range targets {
		tags := w.portTags(p)
		old, _ := lp.Body["tags"].([]any)
		for _, t := range old {
			if m, ok := t.(map[string]any); ok && !strings.HasPrefix(fmt.Sprint(m["scope"]), "os-") {
				tags = append(tags, t)
			}
		}
		lp.Body["tags"] = tags
		lp.Revision++
		lp.Body["_revision"] = lp.Revision
		lp.Body["_last_modified_time"] = w.millis()
		w.changed("logical-port", lp.ID)
	}
}

func (w *World) deleteLogicalPort(neutronPortID string) {
	if id, ok := w.nsxPortByAttach[neutronPortID]; ok {
		w.nsxPorts.del(id)
		delete(w.nsxPortByAttach, neutronPortID)
		w.changed("logical-port", id)
	}
	w.segmentPorts.del(neutronPortID)
}

// PortAPI says which NSX API a port belongs to.
type PortAPI int

// The two NSX APIs.
const (
	ManagerAPI PortAPI = iota
	PolicyAPI
)

func (w *World) portStore(api PortAPI) *store[LogicalPort] {
	if api == PolicyAPI {
		return &w.segmentPorts
	}
	return &w.nsxPorts
}

// PortFilter selects NSX ports, as the list parameters of NSX's
// /api/v1/logical-ports do (the Policy API's segment ports by SwitchID).
type PortFilter struct {
	SwitchID       string // logical_switch_id, or the segment id
	AttachmentID   string
	AttachmentType string // VIF, LOGICALROUTER, BRIDGEENDPOINT, DHCP_SERVICE, METADATA_PROXY, L2VPN_SESSION, NONE
	ParentVIFID    string // ports with a CHILD VIF attachment of this parent VIF
	ContainerOnly  bool   // only CHILD VIF ports
	// TransportZoneID selects ports of switches in the zone.
	TransportZoneID    string
	SwitchingProfileID string
	// TransportNodeID selects VIFs bound to a transport node
	// (attachment context transport_node_uuid, INDEPENDENT VIFs).
	TransportNodeID string
	// BridgeClusterID selects ports of bridge endpoints of the cluster.
	BridgeClusterID string
}

// attachmentTypes are the values NSX takes for attachment_type.
var attachmentTypes = map[string]bool{"VIF": true, "LOGICALROUTER": true, "BRIDGEENDPOINT": true, "DHCP_SERVICE": true,
	"METADATA_PROXY": true, "L2VPN_SESSION": true, "NONE": true}

// ValidAttachmentType reports whether NSX takes t as attachment_type.
func ValidAttachmentType(t string) bool { return attachmentTypes[t] }

// matches reports whether a port passes the filter. Callers hold the lock.
func (w *World) matches(p *LogicalPort, f PortFilter) bool {
	if (f.SwitchID != "" && p.SwitchID != f.SwitchID) || (f.AttachmentID != "" && p.AttachmentID != f.AttachmentID) {
		return false
	}
	att, _ := p.Body["attachment"].(map[string]any)
	ctx, _ := att["context"].(map[string]any)
	str := func(m map[string]any, k string) string { v, _ := m[k].(string); return v }
	if f.AttachmentType != "" {
		typ := str(att, "attachment_type")
		if att == nil {
			typ = "NONE"
		}
		if typ != f.AttachmentType {
			return false
		}
	}
	if f.ContainerOnly && str(ctx, "vif_type") != "CHILD" {
		return false
	}
	if f.ParentVIFID != "" && (str(ctx, "vif_type") != "CHILD" || str(ctx, "parent_vif_id") != f.ParentVIFID) {
		return false
	}
	if f.TransportNodeID != "" && str(ctx, "transport_node_uuid") != f.TransportNodeID {
		return false
	}
	if f.BridgeClusterID != "" && (str(att, "attachment_type") != "BRIDGEENDPOINT" || str(ctx, "bridge_cluster_id") != f.BridgeClusterID) {
		return false
	}
	if f.TransportZoneID != "" {
		ls, ok := w.switches.get(p.SwitchID)
		if !ok || ls.TransportZoneID != f.TransportZoneID {
			return false
		}
	}
	if f.SwitchingProfileID != "" {
		found := false
		profiles, _ := p.Body["switching_profile_ids"].([]any)
		for _, pr := range profiles {
			if m, ok := pr.(map[string]any); ok && m["value"] == f.SwitchingProfileID {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// ListPorts returns a page of NSX ports: up to pageSize after cursor (an
// opaque position returned by the previous page), the next cursor ("" at
// the end) and the total count of matching ports.
func (w *World) ListPorts(api PortAPI, f PortFilter, cursor string, pageSize int) ([]map[string]any, string, int, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	st := w.portStore(api)
	var matching []*LogicalPort
	if f.AttachmentID != "" && api == ManagerAPI {
		if p, ok := st.get(w.nsxPortByAttach[f.AttachmentID]); ok && w.matches(p, f) {
			matching = []*LogicalPort{p}
		}
		for _, p := range st.list(func(p *LogicalPort) bool { return p.AttachmentID == f.AttachmentID && !p.Protected }) {
			if w.matches(p, f) {
				matching = append(matching, p) // ports clients created with that attachment
			}
		}
	} else {
		matching = st.list(func(p *LogicalPort) bool { return w.matches(p, f) })
	}
	page, next, err := cut(matching, cursor, pageSize, func(p *LogicalPort) map[string]any { return deepCopy(p.Body) })
	return page, next, len(matching), err
}

// cut pages a list at an opaque cursor (a position).
func cut[T any](list []T, cursor string, pageSize int, view func(T) map[string]any) ([]map[string]any, string, error) {
	start := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, "", &ErrBadRequest{fmt.Sprintf("Invalid cursor %q", cursor)}
		}
		start = n
	}
	start = min(start, len(list))
	end := min(start+pageSize, len(list))
	page := make([]map[string]any, 0, end-start)
	for _, v := range list[start:end] {
		page = append(page, view(v))
	}
	next := ""
	if end < len(list) {
		next = strconv.Itoa(end)
	}
	return page, next, nil
}

// CreateNSXPort creates a Manager API logical port from its JSON, as a
// client (NCP, for a pod's CHILD VIF) does: it needs logical_switch_id of
// a switch and admin_state; it is the client's, not protected.
func (w *World) CreateNSXPort(body map[string]any, user string) (map[string]any, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	lsID, _ := body["logical_switch_id"].(string)
	if _, ok := w.switches.get(lsID); !ok {
		return nil, &ErrBadRequest{fmt.Sprintf("Logical switch %q could not be found: give logical_switch_id of a switch.", lsID)}
	}
	if st, _ := body["admin_state"].(string); st != "UP" && st != "DOWN" {
		return nil, &ErrBadRequest{"Field level validation errors: {admin_state: required field must be UP or DOWN}"}
	}
	p := LogicalPort{ID: NewID(), SwitchID: lsID}
	next := deepCopy(body)
	if att, ok := next["attachment"].(map[string]any); ok {
		p.AttachmentID, _ = att["id"].(string)
		if _, ok := att["attachment_type"]; !ok {
			att["attachment_type"] = "VIF"
		}
	}
	now := w.millis()
	for k, v := range map[string]any{"id": p.ID, "resource_type": "LogicalPort", "_create_user": user, "_create_time": now,
		"_last_modified_user": user, "_last_modified_time": now, "_system_owned": false, "_protection": "NOT_PROTECTED", "_revision": int64(0)} {
		next[k] = v
	}
	if _, ok := next["display_name"]; !ok {
		next["display_name"] = p.ID
	}
	p.Body = next
	w.nsxPorts.put(p.ID, w.nextSeq(), &p)
	w.changed("logical-port", p.ID)
	return deepCopy(next), nil
}

// GetPort returns an NSX port's JSON.
func (w *World) GetPort(api PortAPI, id string) (map[string]any, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	p, ok := w.portStore(api).get(id)
	if !ok {
		return nil, &ErrNotFound{"LogicalPort", id}
	}
	return deepCopy(p.Body), nil
}

// UpdatePort replaces an NSX port with body, as NSX's PUT does: body must
// carry the current _revision; system fields keep their values; every other
// field, known or not, is stored as sent. allowOverwrite is the
// X-Allow-Overwrite header.
func (w *World) UpdateNSXPort(api PortAPI, id string, body map[string]any, user string, allowOverwrite bool) (map[string]any, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.portStore(api).get(id)
	if !ok {
		return nil, &ErrNotFound{"LogicalPort", id}
	}
	rev, present := body["_revision"]
	if !present {
		return nil, &ErrStaleRevision{ID: id, Missing: true, Resource: p.Body["resource_type"].(string)}
	}
	given, ok := toInt64(rev)
	if !ok || given != p.Revision {
		return nil, &ErrStaleRevision{ID: id, Given: fmt.Sprint(rev), Current: p.Revision}
	}
	if p.Protected && !allowOverwrite {
		return nil, &ErrProtected{ID: id}
	}
	next := deepCopy(body)
	for _, k := range nsxReadOnly {
		if v, ok := p.Body[k]; ok {
			next[k] = v
		} else {
			delete(next, k)
		}
	}
	p.Revision++
	next["_revision"] = p.Revision
	next["_last_modified_time"] = w.millis()
	next["_last_modified_user"] = user
	p.Body = next
	w.changed("logical-port", id)
	return deepCopy(next), nil
}

// BumpRevision changes an NSX port as another writer would (it touches its
// description), raising its revision. The fault injector uses it to
// provoke stale-revision races.
func (w *World) BumpRevision(api PortAPI, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.portStore(api).get(id)
	if !ok {
		return &ErrNotFound{"LogicalPort", id}
	}
	p.Revision++
	p.Body["_revision"] = p.Revision
	p.Body["_last_modified_time"] = w.millis()
	p.Body["_last_modified_user"] = "concurrent-writer"
	return nil
}

// SetPortTags replaces a port's tags directly (as a person in the NSX UI
// would), raising its revision.
func (w *World) SetPortTags(api PortAPI, id string, tags []Tag) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.portStore(api).get(id)
	if !ok {
		return &ErrNotFound{"LogicalPort", id}
	}
	list := make([]any, len(tags))
	for i, t := range tags {
		list[i] = map[string]any{"scope": t.Scope, "tag": t.Tag}
	}
	p.Body["tags"] = list
	p.Revision++
	p.Body["_revision"] = p.Revision
	p.Body["_last_modified_user"] = "admin"
	w.changed("logical-port", id)
	return nil
}

// NSXPortIDs returns the ids of every NSX port of an API, in creation order.
func (w *World) NSXPortIDs(api PortAPI) []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []string
	for _, p := range w.portStore(api).list(nil) {
		out = append(out, p.ID)
	}
	return out
}

// PortTags returns the tags of an NSX port.
func (w *World) PortTags(api PortAPI, id string) ([]Tag, error) {
	body, err := w.GetPort(api, id)
	if err != nil {
		return nil, err
	}
	return TagsOf(body), nil
}

// TagsOf reads the tags of an NSX object's JSON.
func TagsOf(body map[string]any) []Tag {
	raw, _ := body["tags"].([]any)
	var out []Tag
	for _, t := range raw {
		m, ok := t.(map[string]any)
		if !ok {
			continue
		}
		scope, _ := m["scope"].(string)
		tag, _ := m["tag"].(string)
		out = append(out, Tag{Scope: scope, Tag: tag})
	}
	return out
}

// NSXPortOfAttachment returns the Manager API port of a Neutron port.
func (w *World) NSXPortOfAttachment(neutronPortID string) (string, bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	id, ok := w.nsxPortByAttach[neutronPortID]
	return id, ok
}

// Search returns the objects of an API matching an NSX search query,
// sorted by id for stable paging: the Manager API's logical ports and
// switches, the Policy API's segments and segment ports. See ParseQuery
// for the syntax.
func (w *World) Search(api PortAPI, q Query) []map[string]any {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []map[string]any
	keep := func(obj map[string]any) {
		if q.Matches(obj) {
			out = append(out, deepCopy(obj))
		}
	}
	for _, p := range w.portStore(api).list(nil) {
		keep(p.Body)
	}
	for _, ls := range w.switches.list(nil) {
		if api == PolicyAPI {
			keep(w.segmentBody(ls))
		} else {
			keep(SwitchBody(*ls))
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return fmt.Sprint(out[i]["id"]) < fmt.Sprint(out[j]["id"]) })
	return out
}

// SwitchBody is a logical switch as the Manager API shows it.
func SwitchBody(ls LogicalSwitch) map[string]any {
	tags := []any{}
	for _, t := range ls.Tags {
		tags = append(tags, map[string]any{"scope": t.Scope, "tag": t.Tag})
	}
	return map[string]any{"resource_type": "LogicalSwitch", "id": ls.ID, "display_name": ls.DisplayName,
		"transport_zone_id": ls.TransportZoneID, "admin_state": "UP", "replication_mode": "MTEP", "tags": tags,
		"_revision": ls.Revision, "_create_user": openstackUser, "_protection": "REQUIRE_OVERRIDE"}
}

// segmentBody is a network's switch as the Policy API shows it, a segment
// whose id is the Neutron network id. Callers hold the lock.
func (w *World) segmentBody(ls *LogicalSwitch) map[string]any {
	tags := []any{}
	for _, t := range ls.Tags {
		tags = append(tags, map[string]any{"scope": t.Scope, "tag": t.Tag})
	}
	var subnets []any
	if n, ok := w.networks.get(ls.NetworkID); ok {
		for _, id := range n.SubnetIDs {
			if sn, ok := w.subnets.get(id); ok {
				subnets = append(subnets, map[string]any{"gateway_address": sn.GatewayIP, "network": sn.CIDR})
			}
		}
	}
	return map[string]any{"resource_type": "Segment", "id": ls.NetworkID, "display_name": ls.DisplayName,
		"path": "/infra/segments/" + ls.NetworkID, "parent_path": "/infra", "relative_path": ls.NetworkID,
		"unique_id": ls.ID, "transport_zone_path": "/infra/sites/default/enforcement-points/default/transport-zones/" + ls.TransportZoneID,
		"admin_state": "UP", "replication_mode": "MTEP", "type": "DISCONNECTED", "subnets": subnets, "tags": tags,
		"marked_for_delete": false, "overridden": false, "_revision": ls.Revision, "_create_user": openstackUser,
		"_protection": "REQUIRE_OVERRIDE", "_system_owned": false}
}

// Segments returns a page of the Policy API's segments (see ListPorts for
// the cursor), and the total.
func (w *World) Segments(cursor string, pageSize int) ([]map[string]any, string, int, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.switches.list(nil)
	page, next, err := cut(list, cursor, pageSize, w.segmentBody)
	return page, next, len(list), err
}

// Segment returns a segment by id (the Neutron network id).
func (w *World) Segment(id string) (map[string]any, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	ls, ok := w.switches.get(w.switchByNetwork[id])
	if !ok {
		return nil, &ErrNotFound{"Segment", id}
	}
	return w.segmentBody(ls), nil
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case int:
		return int64(n), true
	case float64:
		if n == float64(int64(n)) {
			return int64(n), true
		}
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}

// deepCopy copies a JSON object.
func deepCopy(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopyValue(v)
	}
	return out
}

func deepCopyValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopy(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopyValue(e)
		}
		return out
	}
	return v
}
