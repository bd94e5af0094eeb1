package nsx

import (
	"encoding/json"
	"reflect"
	"strings"
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
	raw := []byte(`{"id":"x","_revision":7,"attachment":{"id":"a"},"future":{"a":1,"big":12345678901234567890},"tags":[{"scope":"s","tag":"t"}]}`)
	p, err := ParsePort(raw)
	if err != nil || p.ID != "x" || p.AttachmentID != "a" || p.Revision != 7 || len(p.Tags) != 1 {
		t.Fatalf("ParsePort = %+v, %v", p, err)
	}
	p.Tags, _ = SetScopes(p.Tags, map[string]string{"ncp/cluster": "c"})
	b, err := p.body()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(b)
	if !strings.Contains(string(out), `"big":12345678901234567890`) || !strings.Contains(string(out), `"_revision":7`) {
		t.Errorf("numbers changed on the round trip: %s", out)
	}
	if len(b["tags"].([]any)) != 2 {
		t.Errorf("tags %v", b["tags"])
	}
}
