package tagger

import (
	"context"
	"fmt"
	"sync"

	"github.com/epks/epks/pkg/nsx"
	"github.com/epks/epks/pkg/openstack"
)

// portCache holds the pod network's Neutron ports (by server) and their NSX
// ports (by Neutron port id), read in bulk: a few list pages cover
// thousands of nodes, so that tagging N nodes costs about N writes, and a
// resync of a tagged cluster costs only the pages.
type portCache struct {
	mu sync.RWMutex
	// byServer maps a server id to its Neutron ports on the pod network.
	byServer map[string][]string
	// nsxByAttachment maps a Neutron port id to its NSX port.
	nsxByAttachment map[string]nsx.Port
	ready           chan struct{}
	readyOnce       sync.Once
}

func newPortCache() *portCache {
	return &portCache{byServer: map[string][]string{}, nsxByAttachment: map[string]nsx.Port{}, ready: make(chan struct{})}
}

// refresh re-reads both lists and swaps them in.
func (c *portCache) refresh(ctx context.Context, os openstack.API, ports nsx.Ports, networkID, scope string) error {
	byServer := map[string][]string{}
	err := os.NetworkPorts(ctx, networkID, func(page []openstack.PortRef) error {
		for _, p := range page {
			if p.DeviceID != "" {
				byServer[p.DeviceID] = append(byServer[p.DeviceID], p.ID)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the pod network's Neutron ports: %w", err)
	}
	byAttachment := map[string]nsx.Port{}
	err = ports.List(ctx, scope, func(page []nsx.Port) error {
		for _, p := range page {
			if p.AttachmentID != "" {
				byAttachment[p.AttachmentID] = p
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("listing the pod network's NSX ports: %w", err)
	}
	c.mu.Lock()
	keepNewer(byAttachment, c.nsxByAttachment)
	c.byServer, c.nsxByAttachment = byServer, byAttachment
	c.mu.Unlock()
	c.readyOnce.Do(func() { close(c.ready) })
	return nil
}

// keepNewer puts into listed the cached ports with a newer revision. A port
// written while the lists were read may be listed older than the answer to
// the write, which the cache holds; without this the next reconcile would
// write it again. Ports no longer listed are dropped.
func keepNewer(listed, cached map[string]nsx.Port) {
	for id, c := range cached {
		if l, ok := listed[id]; ok && c.Revision > l.Revision {
			listed[id] = c
		}
	}
}

// waitReady blocks until the first refresh.
func (c *portCache) waitReady(ctx context.Context) error {
	select {
	case <-c.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *portCache) serverPorts(serverID string) ([]string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids, ok := c.byServer[serverID]
	return append([]string(nil), ids...), ok
}

func (c *portCache) setServerPorts(serverID string, ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byServer[serverID] = ids
}

func (c *portCache) nsxPort(neutronPortID string) (nsx.Port, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	p, ok := c.nsxByAttachment[neutronPortID]
	return p, ok
}

// put records a port as NSX returned it last.
func (c *portCache) put(p nsx.Port) {
	if p.AttachmentID == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.nsxByAttachment[p.AttachmentID] = p
}

// tagged returns the NSX ports whose tag of scope has value, with the
// other tag's value too: the ports of a node by name, or of the cluster.
func (c *portCache) tagged(scope, value string) []nsx.Port {
	c.mu.RLock()
	defer c.mu.RUnlock()
	var out []nsx.Port
	for _, p := range c.nsxByAttachment {
		if v, ok := nsx.Value(p.Tags, scope); ok && v == value {
			out = append(out, p)
		}
	}
	return out
}

// size returns how many NSX ports are cached.
func (c *portCache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.nsxByAttachment)
}
