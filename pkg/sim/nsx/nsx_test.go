package nsx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	nsxt "github.com/vmware/go-vmware-nsxt"

	"github.com/epks/epks/pkg/sim"
	"github.com/epks/epks/pkg/sim/fault"
	"github.com/epks/epks/pkg/sim/model"
	"github.com/epks/epks/test/simtest"
)

// start runs a simulator for a test (see simtest.Test).
func start(t *testing.T, opts sim.Options) *sim.Server {
	t.Helper()
	var s *sim.Server
	simtest.Test(t, func(_ context.Context, srv *sim.Server, _ *gophercloud.ProviderClient) { s = srv }, opts)
	return s
}

// nsxClient is go-vmware-nsxt against the simulator, with session auth as
// the library does by default.
func nsxClient(t *testing.T, s *sim.Server) (*nsxt.APIClient, *nsxt.Configuration) {
	t.Helper()
	user, password := s.NSXCredentials()
	cfg := &nsxt.Configuration{
		BasePath: s.URL(sim.NSX) + "/api/v1", UserName: user, Password: password,
		CAString: string(s.CACertPEM()), DefaultHeader: map[string]string{},
		RetriesConfiguration: nsxt.ClientRetriesConfiguration{MaxRetries: 0},
	}
	c, err := nsxt.NewAPIClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, cfg
}

// raw sends a request to the NSX Manager with basic auth.
func raw(t *testing.T, s *sim.Server, method, path string, body any, header map[string]string) (*http.Response, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, s.URL(sim.NSX)+path, rd)
	user, password := s.NSXCredentials()
	req.SetBasicAuth(user, password)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp, out
}

func TestNSXLogicalPortsWithGoVmwareNsxt(t *testing.T) {
	s := start(t, sim.Options{})
	ctx := context.Background()
	c, cfg := nsxClient(t, s)

	// Cursor paging, two ports a page.
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		opts := map[string]any{"pageSize": int64(2)}
		if cursor != "" {
			opts["cursor"] = cursor
		}
		res, _, err := c.LogicalSwitchingApi.ListLogicalPorts(c.Context, opts)
		if err != nil {
			t.Fatal(err)
		}
		if res.ResultCount != 6 {
			t.Errorf("result_count %d, want 6", res.ResultCount)
		}
		for _, p := range res.Results {
			ids = append(ids, p.Id)
		}
		if res.Cursor == "" {
			break
		}
		cursor = res.Cursor
	}
	if len(ids) != 6 {
		t.Fatalf("paged %d ports, want 6", len(ids))
	}

	// Filter by attachment: the NSX port of a Neutron port.
	srv := s.Seeded.Servers["k8scluster-minion-0"]
	neutronPort := s.World.PortsOfDevice(srv.ID)[1]
	res, _, err := c.LogicalSwitchingApi.ListLogicalPorts(c.Context, map[string]any{"attachmentId": neutronPort.ID})
	if err != nil || len(res.Results) != 1 || res.Results[0].Attachment.Id != neutronPort.ID {
		t.Fatalf("by attachment: %+v %v", res.Results, err)
	}
	port, _, err := c.LogicalSwitchingApi.GetLogicalPort(c.Context, res.Results[0].Id)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{}
	for _, tg := range port.Tags {
		tags[tg.Scope] = tg.Tag
	}
	if tags["os-instance-uuid"] != srv.ID || tags["os-neutron-port-id"] != neutronPort.ID {
		t.Errorf("VIO's tags missing: %v", tags)
	}

	// The port is OpenStack's: writing it needs X-Allow-Overwrite (403 without).
	_, resp, err := c.LogicalSwitchingApi.UpdateLogicalPort(c.Context, port.Id, port)
	if err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("writing a protected port without the override header: %v %v", resp, err)
	}
	cfg.DefaultHeader["X-Allow-Overwrite"] = "true"
	updated, _, err := c.LogicalSwitchingApi.UpdateLogicalPort(c.Context, port.Id, port)
	if err != nil || updated.Revision != port.Revision+1 {
		t.Fatalf("update: revision %d, %v", updated.Revision, err)
	}
	// The old revision is stale now: 412 with NSX's error body.
	_, resp, err = c.LogicalSwitchingApi.UpdateLogicalPort(c.Context, port.Id, port)
	if err == nil || resp == nil || resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("stale revision: %v %v", resp, err)
	}
	raw412, body := raw(t, s, http.MethodPut, "/api/v1/logical-ports/"+port.Id, map[string]any{"_revision": 0}, map[string]string{"X-Allow-Overwrite": "true"})
	if raw412.StatusCode != 412 || body["httpStatus"] != "PRECONDITION_FAILED" || body["error_code"] != 604.0 {
		t.Errorf("412 body %v", body)
	}
	_ = ctx
}

// TestNSXUnknownFieldsRoundTrip shows why a client must write NSX objects
// back as raw JSON: the simulator keeps fields it does not model, and
// go-vmware-nsxt's typed models drop them.
func TestNSXUnknownFieldsRoundTrip(t *testing.T) {
	s := start(t, sim.Options{})
	id := s.World.NSXPortIDs(model.ManagerAPI)[0]
	_, port := raw(t, s, http.MethodGet, "/api/v1/logical-ports/"+id, nil, nil)
	port["extra_config"] = []any{map[string]any{"config_pair": map[string]any{"key": "vendor", "value": "x"}}}
	port["future_field"] = map[string]any{"nested": []any{1.0, "two"}}
	resp, _ := raw(t, s, http.MethodPut, "/api/v1/logical-ports/"+id, port, map[string]string{"X-Allow-Overwrite": "true"})
	if resp.StatusCode != 200 {
		t.Fatalf("raw PUT: %d", resp.StatusCode)
	}
	_, back := raw(t, s, http.MethodGet, "/api/v1/logical-ports/"+id, nil, nil)
	if back["future_field"] == nil || back["extra_config"] == nil || back["_revision"] != 1.0 {
		t.Fatalf("unknown fields lost on a raw round trip: %v", back)
	}

	// The typed client loses future_field on its round trip.
	c, cfg := nsxClient(t, s)
	cfg.DefaultHeader["X-Allow-Overwrite"] = "true"
	typed, _, err := c.LogicalSwitchingApi.GetLogicalPort(c.Context, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.LogicalSwitchingApi.UpdateLogicalPort(c.Context, id, typed); err != nil {
		t.Fatal(err)
	}
	_, after := raw(t, s, http.MethodGet, "/api/v1/logical-ports/"+id, nil, nil)
	if after["future_field"] != nil {
		t.Fatal("expected go-vmware-nsxt's typed model to drop the unknown field (the simulator must store what it is sent)")
	}
}

func TestNSXSearchAndPolicy(t *testing.T) {
	s := start(t, sim.Options{})
	id := s.World.NSXPortIDs(model.ManagerAPI)[2]
	if err := s.World.SetPortTags(model.ManagerAPI, id, []model.Tag{{Scope: "ncp/cluster", Tag: "k8scluster"}, {Scope: "ncp/node_name", Tag: "n1"}}); err != nil {
		t.Fatal(err)
	}
	q := url.QueryEscape(`resource_type:LogicalPort AND tags.scope:ncp\/cluster AND tags.tag:k8scluster`)
	resp, body := raw(t, s, http.MethodGet, "/api/v1/search/query?query="+q, nil, nil)
	if resp.StatusCode != 200 || body["result_count"] != 1.0 {
		t.Fatalf("search: %d %v", resp.StatusCode, body)
	}

	// Policy API: segment ports of the pod network, tagged with PATCH.
	pod := s.Seeded.Networks["k8scluster-pod"]
	_, list := raw(t, s, http.MethodGet, "/policy/api/v1/infra/segments/"+pod.ID+"/ports", nil, nil)
	if list["result_count"] != 3.0 {
		t.Fatalf("segment ports of the pod network: %v", list["result_count"])
	}
	first := list["results"].([]any)[0].(map[string]any)
	patch := map[string]any{"tags": []any{map[string]any{"scope": "ncp/cluster", "tag": "k8scluster"}}}
	resp, _ = raw(t, s, http.MethodPatch, "/policy/api/v1/infra/segments/"+pod.ID+"/ports/"+first["id"].(string), patch, map[string]string{"X-Allow-Overwrite": "true"})
	if resp.StatusCode != 200 {
		t.Fatalf("PATCH segment port: %d", resp.StatusCode)
	}
	tags, _ := s.World.PortTags(model.PolicyAPI, first["id"].(string))
	if len(tags) != 1 || tags[0].Scope != "ncp/cluster" {
		t.Errorf("segment port tags %v", tags)
	}
	resp, _ = raw(t, s, http.MethodGet, "/policy/api/v1/infra/segments/other/ports/"+first["id"].(string), nil, nil)
	if resp.StatusCode != 404 {
		t.Errorf("a port under another segment: %d", resp.StatusCode)
	}
}

func TestNSXSessionAuth(t *testing.T) {
	s := start(t, sim.Options{})
	user, password := s.NSXCredentials()
	client := s.HTTPClient()
	resp, err := client.PostForm(s.URL(sim.NSX)+"/api/session/create", url.Values{"j_username": {user}, "j_password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	xsrf := resp.Header.Get("X-XSRF-TOKEN")
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "JSESSIONID" {
			session = c
		}
	}
	if resp.StatusCode != 200 || xsrf == "" || session == nil || !session.HttpOnly {
		t.Fatalf("session create: %d xsrf %q cookie %v", resp.StatusCode, xsrf, session)
	}
	get := func(withXSRF bool) int {
		req, _ := http.NewRequest(http.MethodGet, s.URL(sim.NSX)+"/api/v1/logical-ports", nil)
		req.AddCookie(session)
		if withXSRF {
			req.Header.Set("X-XSRF-TOKEN", xsrf)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(true); code != 200 {
		t.Errorf("with the session: %d", code)
	}
	if code := get(false); code != 403 {
		t.Errorf("a session without its XSRF token: %d", code)
	}
	resp, _ = raw(t, s, http.MethodGet, "/api/v1/logical-ports", nil, map[string]string{"Authorization": "Basic bm9ib2R5Om5vcGU="})
	if resp.StatusCode != 403 {
		t.Errorf("bad basic credentials: %d", resp.StatusCode)
	}
	bad, err := client.PostForm(s.URL(sim.NSX)+"/api/session/create", url.Values{"j_username": {user}, "j_password": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	bad.Body.Close()
	if bad.StatusCode != 403 {
		t.Errorf("session with a wrong password: %d", bad.StatusCode)
	}
}

// TestNSXRateLimit sends more requests than the per-client rate allows and
// expects NSX's 429s, then more than the concurrency allows.
func TestNSXRateLimit(t *testing.T) {
	s := start(t, sim.Options{NSXRateLimit: 5, NSXConcurrency: 40})
	limited := 0
	for i := 0; i < 40; i++ {
		resp, body := raw(t, s, http.MethodGet, "/api/v1/node/version", nil, nil)
		if resp.StatusCode == http.StatusTooManyRequests {
			limited++
			if body["error_code"] != 102.0 || !strings.Contains(body["error_message"].(string), "exceeded request rate of 5") {
				t.Errorf("429 body %v", body)
			}
		}
	}
	if limited < 20 {
		t.Errorf("%d of 40 quick requests limited, want most past the first 5", limited)
	}

	// Concurrency: slow requests down and send more at once than allowed.
	s2 := start(t, sim.Options{NSXRateLimit: -1, NSXConcurrency: 3})
	if _, err := s2.Faults.Add(fault.Rule{Service: sim.NSX, Latency: fault.Duration(300 * time.Millisecond)}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := raw(t, s2, http.MethodGet, "/api/v1/node/version", nil, nil)
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if codes[429] == 0 || codes[200] == 0 {
		t.Errorf("concurrency limit: %v", codes)
	}
}

// TestNSXRevisionRace makes a concurrent writer change every port a client
// reads, so that the client's write meets a stale revision.
func TestNSXRevisionRace(t *testing.T) {
	s := start(t, sim.Options{})
	s.NSXManager.SetRevisionRace(1)
	id := s.World.NSXPortIDs(model.ManagerAPI)[0]
	_, port := raw(t, s, http.MethodGet, "/api/v1/logical-ports/"+id, nil, nil)
	resp, _ := raw(t, s, http.MethodPut, "/api/v1/logical-ports/"+id, port, map[string]string{"X-Allow-Overwrite": "true"})
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("write after a raced read: %d", resp.StatusCode)
	}
	s.NSXManager.SetRevisionRace(0)
	_, port = raw(t, s, http.MethodGet, "/api/v1/logical-ports/"+id, nil, nil)
	resp, _ = raw(t, s, http.MethodPut, "/api/v1/logical-ports/"+id, port, map[string]string{"X-Allow-Overwrite": "true"})
	if resp.StatusCode != 200 {
		t.Fatalf("write without the race: %d", resp.StatusCode)
	}
}

// TestNSXRacedWrites refuses exactly the next n writes as a concurrent
// writer would make them stale, then lets writes through.
func TestNSXRacedWrites(t *testing.T) {
	s := start(t, sim.Options{})
	id := s.World.NSXPortIDs(model.ManagerAPI)[0]
	s.NSXManager.RaceWrites(2)
	overwrite := map[string]string{"X-Allow-Overwrite": "true"}
	for i, want := range []int{http.StatusPreconditionFailed, http.StatusPreconditionFailed, http.StatusOK, http.StatusOK} {
		_, port := raw(t, s, http.MethodGet, "/api/v1/logical-ports/"+id, nil, nil)
		resp, _ := raw(t, s, http.MethodPut, "/api/v1/logical-ports/"+id, port, overwrite)
		if resp.StatusCode != want {
			t.Errorf("write %d after a fresh read: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

// TestNSXPortListFilters lists logical ports with each filter NSX takes,
// through go-vmware-nsxt: pods' CHILD VIF ports (created as NCP does)
// under the nodes' PARENT VIFs; unknown parameters and bad values are
// refused with 400, never ignored.
func TestNSXPortListFilters(t *testing.T) {
	s := start(t, sim.Options{})
	c, _ := nsxClient(t, s)
	node := s.Seeded.Servers["k8scluster-minion-0"]
	pod := s.Seeded.Networks["k8scluster-pod"]
	var parent model.Port
	for _, p := range s.World.PortsOfDevice(node.ID) {
		if p.NetworkID == pod.ID {
			parent = p
		}
	}
	ls, err := s.World.LogicalSwitchOfNetwork(pod.ID)
	if err != nil {
		t.Fatal(err)
	}
	var children []string
	for i := 0; i < 2; i++ {
		resp, body := raw(t, s, http.MethodPost, "/api/v1/logical-ports", map[string]any{
			"logical_switch_id": ls.ID, "admin_state": "UP", "display_name": fmt.Sprintf("pod-%d", i),
			"attachment": map[string]any{"attachment_type": "VIF", "id": model.NewID(), "context": map[string]any{
				"resource_type": "VifAttachmentContext", "vif_type": "CHILD", "parent_vif_id": parent.ID, "traffic_tag": 100 + i}},
		}, nil)
		if resp.StatusCode != http.StatusCreated || body["_protection"] != "NOT_PROTECTED" {
			t.Fatalf("creating a CHILD port: %d %v", resp.StatusCode, body)
		}
		children = append(children, body["id"].(string))
	}
	ids := func(opts map[string]any) []string {
		t.Helper()
		res, _, err := c.LogicalSwitchingApi.ListLogicalPorts(c.Context, opts)
		if err != nil {
			t.Fatalf("list %v: %v", opts, err)
		}
		var out []string
		for _, p := range res.Results {
			out = append(out, p.Id)
		}
		return out
	}
	all := len(s.World.NSXPortIDs(model.ManagerAPI))
	for _, tc := range []struct {
		opts map[string]any
		want int
		only []string
	}{
		{opts: map[string]any{}, want: all},
		{opts: map[string]any{"parentVifId": parent.ID}, want: 2, only: children},
		{opts: map[string]any{"parentVifId": model.NewID()}, want: 0},
		{opts: map[string]any{"attachmentType": "VIF"}, want: all},
		{opts: map[string]any{"attachmentType": "LOGICALROUTER"}, want: 0},
		{opts: map[string]any{"logicalSwitchId": ls.ID}, want: 5}, // 3 nodes' pod ports and 2 pods
		{opts: map[string]any{"transportZoneId": ls.TransportZoneID}, want: all},
		{opts: map[string]any{"transportZoneId": "another-tz"}, want: 0},
		{opts: map[string]any{"switchingProfileId": "fbc4fb17-83d9-4b53-a286-ccdf04301888"}, want: all - 2},
		{opts: map[string]any{"transportNodeId": model.NewID()}, want: 0},
		{opts: map[string]any{"bridgeClusterId": model.NewID()}, want: 0},
		{opts: map[string]any{"logicalSwitchId": ls.ID, "parentVifId": parent.ID, "diagnostic": true}, want: 2, only: children},
	} {
		got := ids(tc.opts)
		if len(got) != tc.want {
			t.Errorf("%v: %d ports, want %d", tc.opts, len(got), tc.want)
		}
		for _, id := range got {
			if tc.only != nil && id != tc.only[0] && id != tc.only[1] {
				t.Errorf("%v: port %s is not a CHILD port", tc.opts, id)
			}
		}
	}
	// go-vmware-nsxt has no container_ports_only: sent raw.
	_, body := raw(t, s, http.MethodGet, "/api/v1/logical-ports?container_ports_only=true&logical_switch_id="+ls.ID, nil, nil)
	if body["result_count"] != 2.0 {
		t.Errorf("container_ports_only: %v", body["result_count"])
	}
	for _, path := range []string{
		"/api/v1/logical-ports?parent_vif=" + parent.ID, // misspelt: refused, not ignored
		"/api/v1/logical-ports?attachment_type=vif",
		"/api/v1/logical-ports?container_ports_only=yes",
		"/api/v1/logical-ports?page_size=-1",
		"/policy/api/v1/infra/segments/" + pod.ID + "/ports?logical_switch_id=" + ls.ID,
		"/api/v1/search/query?query=resource_type:LogicalPort&filter=x",
	} {
		resp, body := raw(t, s, http.MethodGet, path, nil, nil)
		if resp.StatusCode != http.StatusBadRequest || body["httpStatus"] != "BAD_REQUEST" {
			t.Errorf("%s: %d %v", path, resp.StatusCode, body["error_message"])
		}
	}
	// sort_by and sort_ascending order the page.
	_, body = raw(t, s, http.MethodGet, "/api/v1/logical-ports?container_ports_only=true&sort_by=display_name&sort_ascending=false", nil, nil)
	if res := body["results"].([]any); len(res) != 2 || res[0].(map[string]any)["display_name"] != "pod-1" {
		t.Errorf("sorted descending: %v", res)
	}
}

// TestNSXSegmentsAndSearch lists and reads Policy segments, and finds
// objects with the search syntax: OR, NOT, parentheses, case-insensitive
// values, escapes, per API.
func TestNSXSegmentsAndSearch(t *testing.T) {
	s := start(t, sim.Options{})
	pod := s.Seeded.Networks["k8scluster-pod"]
	_, list := raw(t, s, http.MethodGet, "/policy/api/v1/infra/segments?page_size=2", nil, nil)
	if list["result_count"] != 3.0 || len(list["results"].([]any)) != 2 || list["cursor"] == nil {
		t.Fatalf("segments: %v", list)
	}
	resp, seg := raw(t, s, http.MethodGet, "/policy/api/v1/infra/segments/"+pod.ID, nil, nil)
	if resp.StatusCode != 200 || seg["resource_type"] != "Segment" || seg["path"] != "/infra/segments/"+pod.ID || seg["display_name"] != "k8scluster-pod" {
		t.Fatalf("segment: %d %v", resp.StatusCode, seg)
	}
	if resp, _ := raw(t, s, http.MethodGet, "/policy/api/v1/infra/segments/nope", nil, nil); resp.StatusCode != 404 {
		t.Errorf("a missing segment: %d", resp.StatusCode)
	}
	if resp, _ := raw(t, s, http.MethodGet, "/policy/api/v1/infra/segments/nope/ports", nil, nil); resp.StatusCode != 404 {
		t.Errorf("the ports of a missing segment: %d", resp.StatusCode)
	}
	id := s.World.NSXPortIDs(model.ManagerAPI)[2]
	if err := s.World.SetPortTags(model.ManagerAPI, id, []model.Tag{{Scope: "ncp/cluster", Tag: "k8scluster"}}); err != nil {
		t.Fatal(err)
	}
	count := func(prefix, query string) float64 {
		t.Helper()
		resp, body := raw(t, s, http.MethodGet, prefix+"/search/query?query="+url.QueryEscape(query), nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", query, resp.StatusCode, body)
		}
		return body["result_count"].(float64)
	}
	ports := float64(len(s.World.NSXPortIDs(model.ManagerAPI)))
	for _, tc := range []struct {
		prefix, query string
		want          float64
	}{
		{"/api/v1", `resource_type:LogicalPort AND tags.scope:ncp\/cluster AND tags.tag:k8scluster`, 1},
		{"/api/v1", `resource_type:logicalport AND tags.tag:K8SCLUSTER`, 1},
		{"/api/v1", `resource_type:LogicalPort AND NOT tags.scope:ncp\/cluster`, ports - 1},
		{"/api/v1", `resource_type:(LogicalPort OR LogicalSwitch)`, ports + 3},
		{"/api/v1", `resource_type:LogicalSwitch AND tags.scope:os-neutron-net-id AND tags.tag:` + pod.ID, 1},
		{"/api/v1", `resource_type:LogicalSwitch AND display_name:k8scluster-*`, 2},
		{"/api/v1", `resource_type:Segment`, 0},
		{"/policy/api/v1", `resource_type:Segment AND display_name:"k8scluster-pod"`, 1},
		{"/policy/api/v1", `resource_type:SegmentPort AND parent_path:\/infra\/segments\/` + pod.ID, 3},
		{"/policy/api/v1", `(resource_type:Segment OR resource_type:SegmentPort) AND NOT display_name:k8scluster*`, ports + 1},
	} {
		if got := count(tc.prefix, tc.query); got != tc.want {
			t.Errorf("%s %s: %v results, want %v", tc.prefix, tc.query, got, tc.want)
		}
	}
	resp, body := raw(t, s, http.MethodGet, "/api/v1/search/query?query="+url.QueryEscape("(resource_type:LogicalPort"), nil, nil)
	if resp.StatusCode != 400 || !strings.Contains(body["error_message"].(string), "parenthesis") {
		t.Errorf("an unclosed parenthesis: %d %v", resp.StatusCode, body)
	}
}

// TestNSXUnservedRoutes: a path NSX does not serve is 404 and a method a
// path does not take 405, both in NSX's error body.
func TestNSXUnservedRoutes(t *testing.T) {
	s := start(t, sim.Options{})
	for _, tc := range []struct {
		method, path string
		status       int
		httpStatus   string
	}{
		{http.MethodGet, "/api/v1/no-such-thing", 404, "NOT_FOUND"},
		{http.MethodDelete, "/api/v1/logical-switches", 405, "METHOD_NOT_ALLOWED"},
		{http.MethodPost, "/policy/api/v1/infra/segments/x/ports/y", 405, "METHOD_NOT_ALLOWED"},
	} {
		resp, body := raw(t, s, tc.method, tc.path, nil, nil)
		if resp.StatusCode != tc.status || body["httpStatus"] != tc.httpStatus || body["error_message"] == nil {
			t.Errorf("%s %s: %d %v", tc.method, tc.path, resp.StatusCode, body)
		}
		if tc.status == 405 && resp.Header.Get("Allow") == "" {
			t.Errorf("%s %s: no Allow header", tc.method, tc.path)
		}
	}
}
