// Package loadbalancer finds and deletes the Octavia load balancers the
// OpenStack cloud controller manager created for the cluster's Services
// (named kube_service_<cluster>_<namespace>_<service>), with the floating
// IPs it put on their VIPs.
package loadbalancer

import (
	"context"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/loadbalancer/v2/loadbalancers"

	"github.com/epks/epks/pkg/cluster/scope"
	"github.com/epks/epks/pkg/cluster/services/floatingip"
)

// Prefix is the name prefix of the cluster's Service load balancers, as
// the OCCM names them with --cluster-name.
func Prefix(cluster string) string { return "kube_service_" + cluster + "_" }

// List returns the cluster's Service load balancers.
func List(ctx context.Context, s *scope.Scope) ([]loadbalancers.LoadBalancer, error) {
	if s.LoadBalancer == nil {
		return nil, nil
	}
	pages, err := loadbalancers.List(s.LoadBalancer, loadbalancers.ListOpts{ProjectID: s.ProjectID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing load balancers: %w", err)
	}
	all, err := loadbalancers.ExtractLoadBalancers(pages)
	if err != nil {
		return nil, err
	}
	var out []loadbalancers.LoadBalancer
	for _, lb := range all {
		if strings.HasPrefix(lb.Name, Prefix(s.Cluster)) {
			out = append(out, lb)
		}
	}
	return out, nil
}

// DeleteAll deletes the cluster's Service load balancers (cascading to
// their listeners, pools and members) and their VIPs' floating IPs, and
// waits until they are gone.
func DeleteAll(ctx context.Context, s *scope.Scope) error {
	lbs, err := List(ctx, s)
	if err != nil {
		return err
	}
	var problems scope.Problems
	pending := map[string]string{}
	for _, lb := range lbs {
		fips, err := floatingip.OfPort(ctx, s, lb.VipPortID)
		if err != nil {
			problems.Add(err)
			continue
		}
		for _, f := range fips {
			problems.Add(floatingip.Delete(ctx, s, lb.Name, f))
		}
		if !s.DryRun {
			err := loadbalancers.Delete(ctx, s.LoadBalancer, lb.ID, loadbalancers.DeleteOpts{Cascade: true}).ExtractErr()
			if err != nil && !scope.NotFound(err) {
				problems.Add(fmt.Errorf("deleting load balancer %s: %w", lb.Name, err))
				continue
			}
		}
		pending[lb.ID] = lb.Name
	}
	if !s.DryRun {
		w := s.Waiter()
		for len(pending) > 0 {
			left, err := List(ctx, s)
			if err != nil {
				problems.Add(err)
				break
			}
			still := map[string]string{}
			for _, lb := range left {
				if name, ok := pending[lb.ID]; ok {
					still[lb.ID] = name
				}
			}
			for id, name := range pending {
				if _, ok := still[id]; !ok {
					s.Record(scope.Action{Kind: "load-balancer", Name: name, Verb: scope.Delete, ID: id})
				}
			}
			pending = still
			if len(pending) == 0 {
				break
			}
			if err := w.Sleep(ctx); err != nil {
				problems.Add(fmt.Errorf("waiting for %d load balancers to be deleted: %w", len(pending), err))
				break
			}
		}
	} else {
		for id, name := range pending {
			s.Record(scope.Action{Kind: "load-balancer", Name: name, Verb: scope.Delete, ID: id})
		}
	}
	return problems.Err()
}
