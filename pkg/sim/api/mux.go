package api

import (
	"fmt"
	"net/http"
)

// Mux is an http.ServeMux whose own answers, to routes the service does not
// serve and to methods a served path does not take, are the service's:
// in its error format, and 404 or 405 as the service's router answers.
type Mux struct {
	*http.ServeMux
	dialect Dialect
}

// NewMux returns a Mux for a service of the dialect.
func NewMux(d Dialect) *Mux { return &Mux{ServeMux: http.NewServeMux(), dialect: d} }

// ServeHTTP serves the routes registered, and answers the rest as the
// service does.
func (m *Mux) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h, pattern := m.Handler(r)
	if pattern != "" {
		m.ServeMux.ServeHTTP(w, r) // sets the path values
		return
	}
	// ServeMux's own answer: 404, 405 with Allow, or a redirect (a path
	// to clean, a subtree without its slash).
	rec := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch rec.status {
	case http.StatusNotFound:
		Unserved(w, r, m.dialect, http.StatusNotFound, "")
	case http.StatusMethodNotAllowed:
		Unserved(w, r, m.dialect, http.StatusMethodNotAllowed, rec.header.Get("Allow"))
	default:
		h.ServeHTTP(w, r)
	}
}

// Unserved answers a request the service has no route for (404), or whose
// path it serves with other methods (405, allow being the Allow header),
// as each service does: Nova's and Cinder's routers match the method with
// the path, so a wrong method finds no route (404); Neutron and Octavia
// (pecan), Keystone (Flask), Glance and the NSX Manager answer 405.
func Unserved(w http.ResponseWriter, r *http.Request, d Dialect, status int, allow string) {
	if status == http.StatusMethodNotAllowed && d == NovaCinder {
		status = http.StatusNotFound
	}
	var msg string
	switch status {
	case http.StatusNotFound:
		msg = "The resource could not be found."
		switch d {
		case Keystone:
			msg = "The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."
		case NSX:
			msg = fmt.Sprintf("The requested URI: %s could not be found.", r.URL.Path)
		case Control:
			msg = fmt.Sprintf("no control route %s %s", r.Method, r.URL.Path)
		}
	default:
		if allow != "" {
			w.Header().Set("Allow", allow)
		}
		// webob's HTTPMethodNotAllowed, as Neutron and Octavia render it.
		msg = "The server could not comply with the request since it is either malformed or otherwise incorrect."
		switch d {
		case Keystone:
			msg = "The method is not allowed for the requested URL."
		case Glance:
			msg = fmt.Sprintf("The method %s is not allowed for this resource.", r.Method)
		case NSX:
			msg = fmt.Sprintf("The provided REST method %s is not allowed for %s.", r.Method, r.URL.Path)
		case Control:
			msg = fmt.Sprintf("%s is not allowed on %s (allowed: %s)", r.Method, r.URL.Path, allow)
		}
	}
	if d == Neutron {
		typ := "HTTPNotFound"
		if status == http.StatusMethodNotAllowed {
			typ = "HTTPMethodNotAllowed"
		}
		WriteJSON(w, status, map[string]any{"NeutronError": map[string]any{"type": typ, "message": msg, "detail": ""}})
		return
	}
	ErrorStatus(w, d, status, msg)
}

// headerRecorder keeps the status and headers ServeMux's own handlers
// write, and drops their plain-text bodies.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }

func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

func (h *headerRecorder) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}
