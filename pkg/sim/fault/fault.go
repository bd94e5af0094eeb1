// Package fault injects failures into viosim's APIs. Faults are data: rules
// matched by service, method and path, firing with a probability, a number
// of times, adding latency, answering an error status in the service's own
// format, or dropping the connection, as govmomi's simulator injects faults.
package fault

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/epks/epks/pkg/sim/api"
)

// Duration is a time.Duration that reads and writes as "250ms" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// Rule is one fault.
type Rule struct {
	// ID names the rule; Add sets one when empty.
	ID string `json:"id,omitempty"`
	// Service is keystone, nova, neutron, cinder, octavia or nsx; empty
	// matches every service.
	Service string `json:"service,omitempty"`
	// Method is an HTTP method; empty matches every method.
	Method string `json:"method,omitempty"`
	// Path is a regular expression searched in the request path; empty
	// matches every path.
	Path string `json:"path,omitempty"`
	// Probability that a matching request is hit [1].
	Probability float64 `json:"probability,omitempty"`
	// Count is how many requests the rule hits before it retires; 0 hits
	// forever. A 429 burst is Status 429 with a Count.
	Count int `json:"count,omitempty"`
	// Latency is added before the request is answered (or failed).
	Latency Duration `json:"latency,omitempty"`
	// Status answers the request with this error status instead.
	Status int `json:"status,omitempty"`
	// Drop closes the connection without an answer.
	Drop bool `json:"drop,omitempty"`
	// Hits counts the requests the rule hit.
	Hits int `json:"hits"`

	re *regexp.Regexp
}

// Injector holds the rules.
type Injector struct {
	mu    sync.Mutex
	rules []*Rule
	seq   int
}

// New returns an injector without rules.
func New() *Injector { return &Injector{} }

// Add adds a rule and returns it with its id.
func (in *Injector) Add(r Rule) (Rule, error) {
	if r.Path != "" {
		re, err := regexp.Compile(r.Path)
		if err != nil {
			return Rule{}, fmt.Errorf("fault path %q: %w", r.Path, err)
		}
		r.re = re
	}
	if r.Probability == 0 {
		r.Probability = 1
	}
	if r.Probability < 0 || r.Probability > 1 {
		return Rule{}, fmt.Errorf("fault probability %v is not between 0 and 1", r.Probability)
	}
	if r.Status != 0 && (r.Status < 400 || r.Status > 599) {
		return Rule{}, fmt.Errorf("fault status %d is not an error status", r.Status)
	}
	if r.Status == 0 && !r.Drop && r.Latency == 0 {
		return Rule{}, fmt.Errorf("fault does nothing: give a status, drop or a latency")
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	in.seq++
	if r.ID == "" {
		r.ID = fmt.Sprintf("fault-%d", in.seq)
	}
	in.rules = append(in.rules, &r)
	return r, nil
}

// Remove deletes a rule by id; it reports whether it existed.
func (in *Injector) Remove(id string) bool {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, r := range in.rules {
		if r.ID == id {
			in.rules = append(in.rules[:i], in.rules[i+1:]...)
			return true
		}
	}
	return false
}

// Clear deletes every rule.
func (in *Injector) Clear() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.rules = nil
}

// Rules returns the rules with their hit counts.
func (in *Injector) Rules() []Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]Rule, len(in.rules))
	for i, r := range in.rules {
		out[i] = *r
		out[i].re = nil
	}
	return out
}

// match returns the action for a request, and retires exhausted rules.
func (in *Injector) match(service string, r *http.Request) *Rule {
	in.mu.Lock()
	defer in.mu.Unlock()
	for i, rule := range in.rules {
		if (rule.Service != "" && rule.Service != service) || (rule.Method != "" && rule.Method != r.Method) ||
			(rule.re != nil && !rule.re.MatchString(r.URL.Path)) {
			continue
		}
		if rule.Probability < 1 && rand.Float64() >= rule.Probability {
			continue
		}
		rule.Hits++
		hit := *rule
		if rule.Count > 0 && rule.Hits >= rule.Count {
			in.rules = append(in.rules[:i], in.rules[i+1:]...)
		}
		return &hit
	}
	return nil
}

// Wrap applies the rules to a service's requests; errors are written in the
// service's dialect.
func (in *Injector) Wrap(service string, d api.Dialect, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rule := in.match(service, r)
		if rule == nil {
			next.ServeHTTP(w, r)
			return
		}
		if rule.Latency > 0 {
			select {
			case <-time.After(time.Duration(rule.Latency)):
			case <-r.Context().Done():
				return
			}
		}
		switch {
		case rule.Drop:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			panic(http.ErrAbortHandler) // aborts the response where hijacking is not possible
		case rule.Status != 0:
			msg := fmt.Sprintf("viosim fault %s: %s", rule.ID, http.StatusText(rule.Status))
			if rule.Status == http.StatusTooManyRequests && d == api.NSX {
				msg = "Client 'viosim' exceeded request rate of 100 per second."
			}
			api.ErrorStatus(w, d, rule.Status, msg)
		default:
			next.ServeHTTP(w, r)
		}
	})
}
