package tagger

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// Metrics of the port tagger, served on the manager's metrics endpoint next
// to controller-runtime's own (reconcile counts and latency, work queue).
type Metrics struct {
	PortsTagged   prometheus.Counter
	PortsUntagged prometheus.Counter
	APIRequests   *prometheus.CounterVec
	APILatency    *prometheus.HistogramVec
	Errors        *prometheus.CounterVec
	CachedPorts   prometheus.Gauge
}

// NewMetrics creates the collectors and registers them with reg (nil: the
// controller-runtime registry).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		PortsTagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "epks_port_tagger_ports_tagged_total", Help: "NSX ports whose ncp/node_name and ncp/cluster tags were written."}),
		PortsUntagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "epks_port_tagger_ports_untagged_total", Help: "NSX ports whose tags were removed because their node is gone."}),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epks_port_tagger_api_requests_total", Help: "Requests to NSX and OpenStack by API, verb and status (0: no answer)."},
			[]string{"api", "verb", "status"}),
		APILatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "epks_port_tagger_api_request_duration_seconds", Help: "Latency of requests to NSX and OpenStack.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"api", "verb"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "epks_port_tagger_errors_total", Help: "Failures by reason."}, []string{"reason"}),
		CachedPorts: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "epks_port_tagger_cached_nsx_ports", Help: "NSX ports of the pod network in the cache."}),
	}
	if reg == nil {
		reg = metrics.Registry
	}
	for _, c := range []prometheus.Collector{m.PortsTagged, m.PortsUntagged, m.APIRequests, m.APILatency, m.Errors, m.CachedPorts} {
		_ = reg.Register(c)
	}
	return m
}

// observer returns the hook the API clients call after each request.
func (m *Metrics) observer(api string) func(method string, status int, d time.Duration) {
	return func(method string, status int, d time.Duration) {
		m.APIRequests.WithLabelValues(api, method, strconv.Itoa(status)).Inc()
		m.APILatency.WithLabelValues(api, method).Observe(d.Seconds())
	}
}
