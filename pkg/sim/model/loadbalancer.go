package model

import (
	"fmt"
	"time"
)

// LoadBalancer is an Octavia load balancer.
type LoadBalancer struct {
	ID                 string
	Name               string
	Description        string
	ProjectID          string
	VipSubnetID        string
	VipNetworkID       string
	VipAddress         string
	VipPortID          string
	Provider           string
	FlavorID           string
	AvailabilityZone   string
	ProvisioningStatus string
	OperatingStatus    string
	AdminStateUp       bool
	Tags               []string
	CreatedAt          time.Time
	UpdatedAt          time.Time
}

// Listener is an Octavia listener.
type Listener struct {
	ID                 string
	Name               string
	Description        string
	ProjectID          string
	LoadBalancerID     string
	Protocol           string
	ProtocolPort       int
	DefaultPoolID      string
	ConnectionLimit    int
	AllowedCIDRs       []string
	TimeoutClientData  int
	TimeoutMemberData  int
	Tags               []string
	ProvisioningStatus string
	OperatingStatus    string
	AdminStateUp       bool
}

// Pool is an Octavia pool.
type Pool struct {
	ID                 string
	Name               string
	Description        string
	ProjectID          string
	LoadBalancerID     string
	ListenerID         string
	Protocol           string
	LBMethod           string
	SessionPersistence map[string]any
	HealthMonitorID    string
	Tags               []string
	ProvisioningStatus string
	OperatingStatus    string
	AdminStateUp       bool
}

// Member is a member of an Octavia pool.
type Member struct {
	ID                 string
	Name               string
	ProjectID          string
	PoolID             string
	Address            string
	ProtocolPort       int
	SubnetID           string
	Weight             int
	MonitorPort        int
	MonitorAddress     string
	Backup             bool
	Tags               []string
	ProvisioningStatus string
	OperatingStatus    string
	AdminStateUp       bool
}

// HealthMonitor is an Octavia health monitor of a pool.
type HealthMonitor struct {
	ID                 string
	Name               string
	ProjectID          string
	PoolID             string
	Type               string
	Delay              int
	Timeout            int
	MaxRetries         int
	MaxRetriesDown     int
	HTTPMethod         string
	URLPath            string
	ExpectedCodes      string
	Tags               []string
	ProvisioningStatus string
	OperatingStatus    string
	AdminStateUp       bool
}

// Octavia's provisioning statuses.
const (
	StatusActive        = "ACTIVE"
	StatusPendingCreate = "PENDING_CREATE"
	StatusPendingUpdate = "PENDING_UPDATE"
	StatusPendingDelete = "PENDING_DELETE"
)

// CreateLoadBalancer adds a load balancer in PENDING_CREATE with a VIP
// port on its subnet; it becomes ACTIVE and ONLINE after the transition.
func (w *World) CreateLoadBalancer(lb LoadBalancer) (LoadBalancer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if lb.VipSubnetID == "" && lb.VipNetworkID == "" {
		return LoadBalancer{}, &ErrBadRequest{"Validation failure: VIP must contain one of: vip_port_id, vip_network_id, vip_subnet_id."}
	}
	if lb.VipSubnetID == "" {
		n, ok := w.networks.get(lb.VipNetworkID)
		if !ok || len(n.SubnetIDs) == 0 {
			return LoadBalancer{}, &ErrBadRequest{fmt.Sprintf("Validation failure: Network %s not found or without subnet.", lb.VipNetworkID)}
		}
		lb.VipSubnetID = n.SubnetIDs[0]
	}
	subnet, ok := w.subnets.get(lb.VipSubnetID)
	if !ok {
		return LoadBalancer{}, &ErrBadRequest{fmt.Sprintf("Validation failure: Subnet %s not found.", lb.VipSubnetID)}
	}
	if lb.ID == "" {
		lb.ID = NewID()
	}
	vip := Port{Name: "octavia-lb-" + lb.ID, NetworkID: subnet.NetworkID, DeviceID: "lb-" + lb.ID,
		DeviceOwner: "Octavia", ProjectID: lb.ProjectID, FixedIPs: []FixedIP{{SubnetID: subnet.ID, IPAddress: lb.VipAddress}}}
	port, err := w.createPort(vip)
	if err != nil {
		return LoadBalancer{}, err
	}
	lb.VipNetworkID, lb.VipPortID, lb.VipAddress = subnet.NetworkID, port.ID, port.FixedIPs[0].IPAddress
	if lb.Provider == "" {
		lb.Provider = "amphora"
	}
	lb.AdminStateUp = true
	lb.ProvisioningStatus, lb.OperatingStatus = StatusPendingCreate, "OFFLINE"
	lb.CreatedAt, lb.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.loadBalancers.put(lb.ID, w.nextSeq(), &lb)
	w.changed("loadbalancer", lb.ID)
	id := lb.ID
	w.transit(KindLoadBalancer, id, StatusPendingCreate, func() { w.settle(id, StatusPendingCreate) })
	return lb, nil
}

// settle makes a load balancer in status from and its pending children
// ACTIVE and ONLINE, or removes it from PENDING_DELETE.
func (w *World) settle(lbID, from string) {
	lb, ok := w.loadBalancers.get(lbID)
	if !ok || lb.ProvisioningStatus != from {
		return
	}
	if lb.ProvisioningStatus == StatusPendingDelete {
		w.removeLoadBalancer(lb)
		return
	}
	lb.ProvisioningStatus, lb.OperatingStatus, lb.UpdatedAt = StatusActive, "ONLINE", w.now().UTC()
	w.eachChild(lbID, func(prov, op *string) { *prov, *op = StatusActive, "ONLINE" })
	w.changed("loadbalancer", lbID)
}

// eachChild calls fn with the provisioning and operating status of each
// listener, pool, member and monitor of a load balancer. Callers hold the
// lock.
func (w *World) eachChild(lbID string, fn func(provisioning, operating *string)) {
	for _, l := range w.listeners.list(func(l *Listener) bool { return l.LoadBalancerID == lbID }) {
		fn(&l.ProvisioningStatus, &l.OperatingStatus)
	}
	for _, p := range w.pools.list(func(p *Pool) bool { return p.LoadBalancerID == lbID }) {
		fn(&p.ProvisioningStatus, &p.OperatingStatus)
		for _, m := range w.members.list(func(m *Member) bool { return m.PoolID == p.ID }) {
			fn(&m.ProvisioningStatus, &m.OperatingStatus)
		}
	}
	for _, hm := range w.monitors.list(nil) {
		if p, ok := w.pools.get(hm.PoolID); ok && p.LoadBalancerID == lbID {
			fn(&hm.ProvisioningStatus, &hm.OperatingStatus)
		}
	}
}

// mutate runs fn on an ACTIVE load balancer's tree and puts the load
// balancer in PENDING_UPDATE until the transition ends, as Octavia makes a
// load balancer immutable while it changes.
func (w *World) mutate(lbID string, fn func(lb *LoadBalancer) error) error {
	lb, ok := w.loadBalancers.get(lbID)
	if !ok {
		return &ErrNotFound{"LoadBalancer", lbID}
	}
	if lb.ProvisioningStatus != StatusActive {
		return &ErrConflict{fmt.Sprintf("Load Balancer %s is immutable and cannot be updated.", lbID)}
	}
	if err := fn(lb); err != nil {
		return err
	}
	lb.ProvisioningStatus, lb.UpdatedAt = StatusPendingUpdate, w.now().UTC()
	w.changed("loadbalancer", lbID)
	w.transit(KindLoadBalancer, lbID, StatusPendingUpdate, func() { w.settle(lbID, StatusPendingUpdate) })
	return nil
}

// LoadBalancer returns a load balancer by id.
func (w *World) LoadBalancer(id string) (LoadBalancer, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	lb, ok := w.loadBalancers.get(id)
	if !ok {
		return LoadBalancer{}, &ErrNotFound{"LoadBalancer", id}
	}
	return *lb, nil
}

// LoadBalancers lists the load balancers keep selects.
func (w *World) LoadBalancers(keep func(*LoadBalancer) bool) []LoadBalancer {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.loadBalancers.list(keep))
}

// UpdateLoadBalancer changes name, description or tags.
func (w *World) UpdateLoadBalancer(id string, fn func(lb *LoadBalancer)) (LoadBalancer, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.mutate(id, func(lb *LoadBalancer) error { fn(lb); return nil })
	if err != nil {
		return LoadBalancer{}, err
	}
	lb, _ := w.loadBalancers.get(id)
	return *lb, nil
}

// DeleteLoadBalancer deletes a load balancer; with cascade its listeners,
// pools, members and monitors go too, without it they must be gone.
func (w *World) DeleteLoadBalancer(id string, cascade bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	lb, ok := w.loadBalancers.get(id)
	if !ok {
		return &ErrNotFound{"LoadBalancer", id}
	}
	if lb.ProvisioningStatus != StatusActive && lb.ProvisioningStatus != "ERROR" {
		return &ErrConflict{fmt.Sprintf("Load Balancer %s is immutable and cannot be updated.", id)}
	}
	if !cascade && (len(w.listeners.list(func(l *Listener) bool { return l.LoadBalancerID == id })) > 0 ||
		len(w.pools.list(func(p *Pool) bool { return p.LoadBalancerID == id })) > 0) {
		return &ErrBadRequest{fmt.Sprintf("Cannot delete Load Balancer %s - it has children", id)}
	}
	lb.ProvisioningStatus = StatusPendingDelete
	w.changed("loadbalancer", id)
	w.transit(KindLoadBalancer, id, StatusPendingDelete, func() { w.settle(id, StatusPendingDelete) })
	return nil
}

func (w *World) removeLoadBalancer(lb *LoadBalancer) {
	for _, p := range w.pools.list(func(p *Pool) bool { return p.LoadBalancerID == lb.ID }) {
		for _, m := range w.members.list(func(m *Member) bool { return m.PoolID == p.ID }) {
			w.members.del(m.ID)
		}
		if p.HealthMonitorID != "" {
			w.monitors.del(p.HealthMonitorID)
		}
		w.pools.del(p.ID)
	}
	for _, l := range w.listeners.list(func(l *Listener) bool { return l.LoadBalancerID == lb.ID }) {
		w.listeners.del(l.ID)
	}
	_ = w.deletePort(lb.VipPortID)
	w.loadBalancers.del(lb.ID)
	w.changed("loadbalancer", lb.ID)
}

// CreateListener adds a listener to an ACTIVE load balancer.
func (w *World) CreateListener(l Listener) (Listener, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.mutate(l.LoadBalancerID, func(lb *LoadBalancer) error {
		for _, other := range w.listeners.list(func(o *Listener) bool { return o.LoadBalancerID == lb.ID }) {
			if other.ProtocolPort == l.ProtocolPort && other.Protocol == l.Protocol {
				return &ErrConflict{fmt.Sprintf("Another Listener on this Load Balancer is already using protocol_port %d", l.ProtocolPort)}
			}
		}
		if l.ID == "" {
			l.ID = NewID()
		}
		l.ProjectID, l.AdminStateUp = lb.ProjectID, true
		l.ProvisioningStatus, l.OperatingStatus = StatusPendingCreate, "OFFLINE"
		if l.ConnectionLimit == 0 {
			l.ConnectionLimit = -1
		}
		w.listeners.put(l.ID, w.nextSeq(), &l)
		return nil
	})
	return l, err
}

// Listener returns a listener by id.
func (w *World) Listener(id string) (Listener, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	l, ok := w.listeners.get(id)
	if !ok {
		return Listener{}, &ErrNotFound{"Listener", id}
	}
	return *l, nil
}

// Listeners lists the listeners keep selects.
func (w *World) Listeners(keep func(*Listener) bool) []Listener {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.listeners.list(keep))
}

// UpdateListener changes a listener through fn.
func (w *World) UpdateListener(id string, fn func(l *Listener)) (Listener, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.listeners.get(id)
	if !ok {
		return Listener{}, &ErrNotFound{"Listener", id}
	}
	err := w.mutate(l.LoadBalancerID, func(*LoadBalancer) error { fn(l); l.ProvisioningStatus = StatusPendingUpdate; return nil })
	return *l, err
}

// DeleteListener removes a listener.
func (w *World) DeleteListener(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	l, ok := w.listeners.get(id)
	if !ok {
		return &ErrNotFound{"Listener", id}
	}
	return w.mutate(l.LoadBalancerID, func(*LoadBalancer) error {
		for _, p := range w.pools.list(func(p *Pool) bool { return p.ListenerID == id }) {
			p.ListenerID = ""
		}
		w.listeners.del(id)
		return nil
	})
}

// CreatePool adds a pool to a load balancer, or to a listener (whose
// default pool it becomes).
func (w *World) CreatePool(p Pool) (Pool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if p.ListenerID != "" {
		l, ok := w.listeners.get(p.ListenerID)
		if !ok {
			return Pool{}, &ErrNotFound{"Listener", p.ListenerID}
		}
		p.LoadBalancerID = l.LoadBalancerID
	}
	err := w.mutate(p.LoadBalancerID, func(lb *LoadBalancer) error {
		if p.ID == "" {
			p.ID = NewID()
		}
		p.ProjectID, p.AdminStateUp = lb.ProjectID, true
		p.ProvisioningStatus, p.OperatingStatus = StatusPendingCreate, "OFFLINE"
		w.pools.put(p.ID, w.nextSeq(), &p)
		if l, ok := w.listeners.get(p.ListenerID); ok && l.DefaultPoolID == "" {
			l.DefaultPoolID = p.ID
		}
		return nil
	})
	return p, err
}

// Pool returns a pool by id.
func (w *World) Pool(id string) (Pool, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	p, ok := w.pools.get(id)
	if !ok {
		return Pool{}, &ErrNotFound{"Pool", id}
	}
	return *p, nil
}

// Pools lists the pools keep selects.
func (w *World) Pools(keep func(*Pool) bool) []Pool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.pools.list(keep))
}

// UpdatePool changes a pool through fn.
func (w *World) UpdatePool(id string, fn func(p *Pool)) (Pool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pools.get(id)
	if !ok {
		return Pool{}, &ErrNotFound{"Pool", id}
	}
	err := w.mutate(p.LoadBalancerID, func(*LoadBalancer) error { fn(p); p.ProvisioningStatus = StatusPendingUpdate; return nil })
	return *p, err
}

// DeletePool removes a pool with its members and monitor.
func (w *World) DeletePool(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pools.get(id)
	if !ok {
		return &ErrNotFound{"Pool", id}
	}
	return w.mutate(p.LoadBalancerID, func(*LoadBalancer) error {
		for _, m := range w.members.list(func(m *Member) bool { return m.PoolID == id }) {
			w.members.del(m.ID)
		}
		if p.HealthMonitorID != "" {
			w.monitors.del(p.HealthMonitorID)
		}
		for _, l := range w.listeners.list(func(l *Listener) bool { return l.DefaultPoolID == id }) {
			l.DefaultPoolID = ""
		}
		w.pools.del(id)
		return nil
	})
}

// CreateMember adds a member to a pool.
func (w *World) CreateMember(m Member) (Member, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pools.get(m.PoolID)
	if !ok {
		return Member{}, &ErrNotFound{"Pool", m.PoolID}
	}
	err := w.mutate(p.LoadBalancerID, func(lb *LoadBalancer) error {
		for _, other := range w.members.list(func(o *Member) bool { return o.PoolID == p.ID }) {
			if other.Address == m.Address && other.ProtocolPort == m.ProtocolPort {
				return &ErrConflict{fmt.Sprintf("Duplicate member for pool %s: address %s and port %d", p.ID, m.Address, m.ProtocolPort)}
			}
		}
		if m.ID == "" {
			m.ID = NewID()
		}
		if m.Weight == 0 {
			m.Weight = 1
		}
		m.ProjectID, m.AdminStateUp = lb.ProjectID, true
		m.ProvisioningStatus, m.OperatingStatus = StatusPendingCreate, "NO_MONITOR"
		w.members.put(m.ID, w.nextSeq(), &m)
		return nil
	})
	return m, err
}

// Members lists the members of a pool keep selects.
func (w *World) Members(keep func(*Member) bool) []Member {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.members.list(keep))
}

// Member returns a member by id.
func (w *World) Member(id string) (Member, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	m, ok := w.members.get(id)
	if !ok {
		return Member{}, &ErrNotFound{"Member", id}
	}
	return *m, nil
}

// DeleteMember removes a member.
func (w *World) DeleteMember(poolID, id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	m, ok := w.members.get(id)
	if !ok || m.PoolID != poolID {
		return &ErrNotFound{"Member", id}
	}
	p, _ := w.pools.get(poolID)
	return w.mutate(p.LoadBalancerID, func(*LoadBalancer) error { w.members.del(id); return nil })
}

// CreateHealthMonitor adds a monitor to a pool without one.
func (w *World) CreateHealthMonitor(hm HealthMonitor) (HealthMonitor, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pools.get(hm.PoolID)
	if !ok {
		return HealthMonitor{}, &ErrNotFound{"Pool", hm.PoolID}
	}
	if p.HealthMonitorID != "" {
		return HealthMonitor{}, &ErrConflict{fmt.Sprintf("Pool %s is already using Health Monitor %s", p.ID, p.HealthMonitorID)}
	}
	err := w.mutate(p.LoadBalancerID, func(lb *LoadBalancer) error {
		if hm.ID == "" {
			hm.ID = NewID()
		}
		hm.ProjectID, hm.AdminStateUp = lb.ProjectID, true
		hm.ProvisioningStatus, hm.OperatingStatus = StatusPendingCreate, "OFFLINE"
		w.monitors.put(hm.ID, w.nextSeq(), &hm)
		p.HealthMonitorID = hm.ID
		return nil
	})
	return hm, err
}

// HealthMonitor returns a monitor by id.
func (w *World) HealthMonitor(id string) (HealthMonitor, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	hm, ok := w.monitors.get(id)
	if !ok {
		return HealthMonitor{}, &ErrNotFound{"HealthMonitor", id}
	}
	return *hm, nil
}

// HealthMonitors lists the monitors keep selects.
func (w *World) HealthMonitors(keep func(*HealthMonitor) bool) []HealthMonitor {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.monitors.list(keep))
}

// DeleteHealthMonitor removes a monitor.
func (w *World) DeleteHealthMonitor(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	hm, ok := w.monitors.get(id)
	if !ok {
		return &ErrNotFound{"HealthMonitor", id}
	}
	p, ok := w.pools.get(hm.PoolID)
	if !ok {
		w.monitors.del(id)
		return nil
	}
	return w.mutate(p.LoadBalancerID, func(*LoadBalancer) error {
		p.HealthMonitorID = ""
		w.monitors.del(id)
		return nil
	})
}

// LBTx adds children to a load balancer that is being created, in the same
// request, as Octavia's fully populated create does.
type LBTx struct {
	w  *World
	lb *LoadBalancer
}

// AddListener adds a listener to the load balancer being created.
func (tx *LBTx) AddListener(l Listener) Listener {
	if l.ID == "" {
		l.ID = NewID()
	}
	if l.ConnectionLimit == 0 {
		l.ConnectionLimit = -1
	}
	l.LoadBalancerID, l.ProjectID, l.AdminStateUp = tx.lb.ID, tx.lb.ProjectID, true
	l.ProvisioningStatus, l.OperatingStatus = StatusPendingCreate, "OFFLINE"
	tx.w.listeners.put(l.ID, tx.w.nextSeq(), &l)
	return l
}

// AddPool adds a pool (the default pool of listenerID when set).
func (tx *LBTx) AddPool(p Pool, listenerID string) Pool {
	if p.ID == "" {
		p.ID = NewID()
	}
	p.LoadBalancerID, p.ListenerID, p.ProjectID, p.AdminStateUp = tx.lb.ID, listenerID, tx.lb.ProjectID, true
	p.ProvisioningStatus, p.OperatingStatus = StatusPendingCreate, "OFFLINE"
	tx.w.pools.put(p.ID, tx.w.nextSeq(), &p)
	if l, ok := tx.w.listeners.get(listenerID); ok {
		l.DefaultPoolID = p.ID
	}
	return p
}

// AddMember adds a member to a pool of the load balancer being created.
func (tx *LBTx) AddMember(m Member) Member {
	if m.ID == "" {
		m.ID = NewID()
	}
	if m.Weight == 0 {
		m.Weight = 1
	}
	m.ProjectID, m.AdminStateUp = tx.lb.ProjectID, true
	m.ProvisioningStatus, m.OperatingStatus = StatusPendingCreate, "NO_MONITOR"
	tx.w.members.put(m.ID, tx.w.nextSeq(), &m)
	return m
}

// AddHealthMonitor adds a monitor to a pool of the load balancer being created.
func (tx *LBTx) AddHealthMonitor(hm HealthMonitor) HealthMonitor {
	if hm.ID == "" {
		hm.ID = NewID()
	}
	hm.ProjectID, hm.AdminStateUp = tx.lb.ProjectID, true
	hm.ProvisioningStatus, hm.OperatingStatus = StatusPendingCreate, "OFFLINE"
	tx.w.monitors.put(hm.ID, tx.w.nextSeq(), &hm)
	if p, ok := tx.w.pools.get(hm.PoolID); ok {
		p.HealthMonitorID = hm.ID
	}
	return hm
}

// PopulateLoadBalancer runs build on a load balancer still in
// PENDING_CREATE, to add the children of a fully populated create.
func (w *World) PopulateLoadBalancer(id string, build func(tx *LBTx) error) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	lb, ok := w.loadBalancers.get(id)
	if !ok {
		return &ErrNotFound{"LoadBalancer", id}
	}
	if lb.ProvisioningStatus != StatusPendingCreate {
		return &ErrConflict{fmt.Sprintf("Load Balancer %s is not being created.", id)}
	}
	return build(&LBTx{w: w, lb: lb})
}

// BatchUpdateMembers makes a pool's members exactly want (matched by
// address and port): missing ones are created, present ones updated, the
// rest deleted, in one change, as Octavia's PUT of a pool's members does.
func (w *World) BatchUpdateMembers(poolID string, want []Member) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.pools.get(poolID)
	if !ok {
		return &ErrNotFound{"Pool", poolID}
	}
	return w.mutate(p.LoadBalancerID, func(lb *LoadBalancer) error {
		current := w.members.list(func(m *Member) bool { return m.PoolID == poolID })
		key := func(address string, port int) string { return fmt.Sprintf("%s:%d", address, port) }
		have := map[string]*Member{}
		for _, m := range current {
			have[key(m.Address, m.ProtocolPort)] = m
		}
		keep := map[string]bool{}
		for _, m := range want {
			k := key(m.Address, m.ProtocolPort)
			keep[k] = true
			if old, ok := have[k]; ok {
				if m.Weight != 0 {
					old.Weight = m.Weight
				}
				old.Name, old.Tags, old.MonitorPort, old.MonitorAddress, old.Backup = m.Name, m.Tags, m.MonitorPort, m.MonitorAddress, m.Backup
				old.ProvisioningStatus = StatusPendingUpdate
				continue
			}
			m.ID, m.PoolID, m.ProjectID, m.AdminStateUp = NewID(), poolID, lb.ProjectID, true
			if m.Weight == 0 {
				m.Weight = 1
			}
			m.ProvisioningStatus, m.OperatingStatus = StatusPendingCreate, "NO_MONITOR"
			w.members.put(m.ID, w.nextSeq(), &m)
		}
		for k, m := range have {
			if !keep[k] {
				w.members.del(m.ID)
			}
		}
		return nil
	})
}
