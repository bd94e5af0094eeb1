package nodename

import (
	"reflect"
	"testing"
)

func TestAll(t *testing.T) {
	got := All("k8scluster", 1, 2)
	want := []string{"k8scluster-master-0", "k8scluster-minion-0", "k8scluster-minion-1"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("All = %v, want %v", got, want)
	}
	if len(All("c", 0, 0)) != 0 {
		t.Fatal("no nodes expected")
	}
}
