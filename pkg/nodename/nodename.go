// Package nodename derives the names of a cluster's nodes from its name, as
// the seed's HEAT stack did, so that the local control plane's fake nodes,
// viosim's servers and node preparation agree: the cloud controller manager
// finds each node's server by this name.
package nodename

import "fmt"

// ControlPlane is the name of the i-th control-plane node, from 0.
func ControlPlane(cluster string, i int) string { return fmt.Sprintf("%s-master-%d", cluster, i) }

// Worker is the name of the i-th worker ("minion" in the runbook), from 0.
func Worker(cluster string, i int) string { return fmt.Sprintf("%s-minion-%d", cluster, i) }

// All returns the names of controlPlanes control-plane and workers worker
// nodes, control plane first.
func All(cluster string, controlPlanes, workers int) []string {
	var out []string
	for i := 0; i < controlPlanes; i++ {
		out = append(out, ControlPlane(cluster, i))
	}
	for i := 0; i < workers; i++ {
		out = append(out, Worker(cluster, i))
	}
	return out
}
