package model

import "testing"

// TestSearchQuery runs NSX search queries over a port and a switch.
func TestSearchQuery(t *testing.T) {
	port := map[string]any{"resource_type": "LogicalPort", "id": "p1", "display_name": "Web-VM-1",
		"tags":       []any{map[string]any{"scope": "ncp/cluster", "tag": "k8scluster"}, map[string]any{"scope": "ncp/node_name", "tag": "node-1"}},
		"attachment": map[string]any{"attachment_type": "VIF", "id": "a*b"}}
	sw := map[string]any{"resource_type": "LogicalSwitch", "id": "s1", "display_name": "pod net",
		"tags": []any{map[string]any{"scope": "os-neutron-net-id", "tag": "net-1"}}}
	for _, tc := range []struct {
		query      string
		port, sw   bool
		wantsError bool
	}{
		{query: `resource_type:LogicalPort AND tags.scope:ncp\/cluster AND tags.tag:k8scluster`, port: true},
		{query: `resource_type:logicalport`, port: true},                        // values are case insensitive
		{query: `tags.tag:K8SCLUSTER && resource_type:LogicalPort`, port: true}, // && is AND
		{query: `resource_type:LogicalPort OR resource_type:LogicalSwitch`, port: true, sw: true},
		{query: `resource_type:LogicalPort || resource_type:LogicalSwitch`, port: true, sw: true},
		{query: `resource_type:LogicalPort resource_type:LogicalSwitch`, port: true, sw: true}, // Lucene's default OR
		{query: `NOT resource_type:LogicalPort`, sw: true},
		{query: `!resource_type:LogicalPort`, sw: true},
		{query: `resource_type:(LogicalPort OR LogicalSwitch) AND NOT tags.tag:net-1`, port: true},
		{query: `(display_name:web* OR display_name:pod*) AND tags.scope:os-neutron-net-id`, sw: true},
		{query: `display_name:Web-VM-?`, port: true},
		{query: `display_name:"pod net"`, sw: true},
		{query: `display_name:"POD NET"`, sw: true},
		{query: `display_name:pod`},                                                                                  // a whole value, not a word of it
		{query: `attachment.id:a\*b`, port: true},                                                                    // an escaped wildcard is a character
		{query: `attachment.id:axb`},                                                                                 // ... that matches only itself
		{query: `tags.tag:k8scluster AND tags.tag:net-1`},                                                            // a term per object
		{query: `k8scluster`, port: true},                                                                            // a bare value searches every field
		{query: `resource_type:LogicalPort OR resource_type:LogicalSwitch AND tags.tag:net-1`, port: true, sw: true}, // AND binds tighter
		{query: `(resource_type:LogicalPort OR resource_type:LogicalSwitch) AND tags.tag:net-1`, sw: true},
		{query: `NOT NOT resource_type:LogicalSwitch`, sw: true},
		{query: ``, wantsError: true},
		{query: `(resource_type:LogicalPort`, wantsError: true},
		{query: `resource_type:LogicalPort)`, wantsError: true},
		{query: `display_name:"open`, wantsError: true},
		{query: `display_name:`, wantsError: true},
		{query: `resource_type:LogicalPort AND`, wantsError: true},
		{query: `display_name:web~2`, wantsError: true},
		{query: `_revision:[0 TO 5]`, wantsError: true},
	} {
		q, err := ParseQuery(tc.query)
		if tc.wantsError {
			if err == nil {
				t.Errorf("%q parsed", tc.query)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.query, err)
			continue
		}
		if got := q.Matches(port); got != tc.port {
			t.Errorf("%q matches the port: %v, want %v", tc.query, got, tc.port)
		}
		if got := q.Matches(sw); got != tc.sw {
			t.Errorf("%q matches the switch: %v, want %v", tc.query, got, tc.sw)
		}
	}
}
