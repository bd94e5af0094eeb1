package nsx

import (
	"reflect"
	"testing"
)

func TestSetScopes(t *testing.T) {
	want := map[string]string{"ncp/node_name": "n1", "ncp/cluster": "c1"}
	order := []string{"ncp/node_name", "ncp/cluster"}
	os := Tag{Scope: "os-neutron-port-id", Tag: "p"}
	tests := []struct {
		name    string
		in      []Tag
		out     []Tag
		changed bool
	}{
		{"untagged", []Tag{os}, []Tag{os, {"ncp/node_name", "n1"}, {"ncp/cluster", "c1"}}, true},
		{"already tagged", []Tag{os, {"ncp/node_name", "n1"}, {"ncp/cluster", "c1"}}, []Tag{os, {"ncp/node_name", "n1"}, {"ncp/cluster", "c1"}}, false},
		{"order kept", []Tag{{"ncp/cluster", "c1"}, os, {"ncp/node_name", "n1"}}, []Tag{{"ncp/cluster", "c1"}, os, {"ncp/node_name", "n1"}}, false},
		{"node renamed", []Tag{{"ncp/node_name", "old"}, os, {"ncp/cluster", "c1"}}, []Tag{{"ncp/node_name", "n1"}, os, {"ncp/cluster", "c1"}}, true},
		{"cluster renamed", []Tag{{"ncp/cluster", "c0"}, {"ncp/node_name", "n1"}}, []Tag{{"ncp/cluster", "c1"}, {"ncp/node_name", "n1"}}, true},
		{"duplicate scope", []Tag{{"ncp/node_name", "n1"}, {"ncp/node_name", "n2"}, {"ncp/cluster", "c1"}}, []Tag{{"ncp/node_name", "n1"}, {"ncp/cluster", "c1"}}, true},
		{"nil", nil, []Tag{{"ncp/node_name", "n1"}, {"ncp/cluster", "c1"}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed := SetScopes(tt.in, want, order...)
			if !reflect.DeepEqual(out, tt.out) || changed != tt.changed {
				t.Errorf("SetScopes = %v, %v; want %v, %v", out, changed, tt.out, tt.changed)
			}
		})
	}
}

func TestRemoveScopes(t *testing.T) {
	in := []Tag{{"a", "1"}, {"ncp/cluster", "c"}, {"b", "2"}, {"ncp/node_name", "n"}}
	out, changed := RemoveScopes(in, "ncp/cluster", "ncp/node_name")
	if !changed || !reflect.DeepEqual(out, []Tag{{"a", "1"}, {"b", "2"}}) {
		t.Errorf("RemoveScopes = %v, %v", out, changed)
	}
	if _, changed := RemoveScopes(out, "ncp/cluster"); changed {
		t.Error("nothing to remove reported a change")
	}
	if v, ok := Value(in, "b"); !ok || v != "2" {
		t.Errorf("Value = %q %v", v, ok)
	}
}

func TestRoundTripKeepsRaw(t *testing.T) {
	raw := map[string]any{"id": "x", "future": map[string]any{"a": 1.0}, "tags": []any{map[string]any{"scope": "s", "tag": "t"}}}
	p := toPort(raw)
	p.Tags, _ = SetScopes(p.Tags, map[string]string{"ncp/cluster": "c"})
	b := p.body()
	if !reflect.DeepEqual(b["future"], raw["future"]) || len(b["tags"].([]any)) != 2 {
		t.Errorf("body %v", b)
	}
	if len(raw["tags"].([]any)) != 1 {
		t.Error("body changed the raw object it came from")
	}
}
