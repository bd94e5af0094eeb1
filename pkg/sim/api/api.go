// Package api holds what viosim's simulated services share: JSON bodies,
// each service's own error format, token checks and paging.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/epks/epks/pkg/sim/model"
)

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// ReadJSON decodes a request body into v; numbers stay json.Number when v
// is a map, so that large integers survive.
func ReadJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("malformed request body: %w", err)
	}
	return nil
}

// Dialect is how a service shapes its errors.
type Dialect int

// The services' error dialects.
const (
	// Nova and Cinder: {"itemNotFound": {"code": 404, "message": "..."}}.
	NovaCinder Dialect = iota
	// Neutron: {"NeutronError": {"type": "...", "message": "...", "detail": ""}}.
	Neutron
	// Octavia: {"faultcode": "Client", "faultstring": "...", "debuginfo": null}.
	Octavia
	// Keystone: {"error": {"code": 401, "message": "...", "title": "Unauthorized"}}.
	Keystone
	// NSX: {"httpStatus": "NOT_FOUND", "error_code": 600, "module_name": ..., "error_message": ...}.
	NSX
	// Control is viosim's own control API: {"error": "..."}.
	Control
	// Glance answers errors as webob's plain text: "404 Not Found\n\n<message>\n\n   ".
	Glance
)

// StatusError is an error with the HTTP status the service answers it
// with, for errors that are the API's rather than the world's.
type StatusError struct {
	Status  int
	Message string
}

func (e *StatusError) Error() string { return e.Message }

// HTTPStatus is the status StatusOf gives the error.
func (e *StatusError) HTTPStatus() int { return e.Status }

// Errorf returns a StatusError.
func Errorf(status int, format string, a ...any) error {
	return &StatusError{Status: status, Message: fmt.Sprintf(format, a...)}
}

// StatusOf maps a model error to an HTTP status.
func StatusOf(err error) int {
	var nf *model.ErrNotFound
	var conflict *model.ErrConflict
	var bad *model.ErrBadRequest
	var stale *model.ErrStaleRevision
	var protected *model.ErrProtected
	var gw *model.ErrExternalGatewayNotFound
	var exists *model.ErrRuleExists
	var quota *model.ErrOverQuota
	var status interface{ HTTPStatus() int }
	switch {
	case errors.As(err, &status):
		return status.HTTPStatus()
	case errors.As(err, &gw):
		return http.StatusNotFound
	case errors.As(err, &exists), errors.As(err, &quota):
		return http.StatusConflict
	case errors.As(err, &nf):
		return http.StatusNotFound
	case errors.As(err, &conflict):
		return http.StatusConflict
	case errors.As(err, &bad):
		return http.StatusBadRequest
	case errors.As(err, &stale):
		return http.StatusPreconditionFailed
	case errors.As(err, &protected):
		return http.StatusForbidden
	case errors.Is(err, model.ErrUnauthorized):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

// Error writes err in the service's dialect, with the status its kind
// implies.
func Error(w http.ResponseWriter, d Dialect, err error) {
	if d == Neutron {
		status := StatusOf(err)
		WriteJSON(w, status, map[string]any{"NeutronError": map[string]any{"type": neutronTypeOf(err, status), "message": err.Error(), "detail": ""}})
		return
	}
	ErrorStatus(w, d, StatusOf(err), err.Error())
}

// neutronTypeOf is the exception class Neutron names in its errors.
func neutronTypeOf(err error, status int) string {
	var gw *model.ErrExternalGatewayNotFound
	var exists *model.ErrRuleExists
	var quota *model.ErrOverQuota
	var nf *model.ErrNotFound
	switch {
	case errors.As(err, &gw):
		return "ExternalGatewayForFloatingIPNotFound"
	case errors.As(err, &exists):
		return "SecurityGroupRuleExists"
	case errors.As(err, &quota):
		return "OverQuota"
	case errors.As(err, &nf):
		t := strings.ReplaceAll(title(nf.Kind), " ", "")
		return t + "NotFound"
	}
	return neutronType(status)
}

func title(key string) string {
	parts := strings.FieldsFunc(key, func(r rune) bool { return r == '_' || r == ' ' || r == '-' })
	for i, p := range parts {
		parts[i] = strings.ToUpper(p[:1]) + p[1:]
	}
	return strings.Join(parts, " ")
}

// ErrorStatus writes an error message with a status in a dialect.
func ErrorStatus(w http.ResponseWriter, d Dialect, status int, msg string) {
	switch d {
	case Neutron:
		WriteJSON(w, status, map[string]any{"NeutronError": map[string]any{"type": neutronType(status), "message": msg, "detail": ""}})
	case Octavia:
		code := "Client"
		if status >= 500 {
			code = "Server"
		}
		WriteJSON(w, status, map[string]any{"faultcode": code, "faultstring": msg, "debuginfo": nil})
	case Keystone:
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Keystone uri="/v3"`)
		}
		WriteJSON(w, status, map[string]any{"error": map[string]any{"code": status, "message": msg, "title": http.StatusText(status)}})
	case NSX:
		WriteJSON(w, status, NSXError(status, msg))
	case Control:
		WriteJSON(w, status, map[string]any{"error": msg})
	case Glance:
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		w.WriteHeader(status)
		fmt.Fprintf(w, "%d %s\n\n%s\n\n   ", status, http.StatusText(status), msg)
	default:
		WriteJSON(w, status, map[string]any{novaKey(status): map[string]any{"code": status, "message": msg}})
	}
}

// NSXError is the body of an NSX Manager error.
func NSXError(status int, msg string) map[string]any {
	code := map[int]int{400: 250, 401: 403, 403: 500, 404: 600, 409: 500, 412: 604, 429: 102, 503: 101}[status]
	if code == 0 {
		code = 99
	}
	return map[string]any{
		"httpStatus":    strings.ReplaceAll(strings.ToUpper(http.StatusText(status)), " ", "_"),
		"error_code":    code,
		"module_name":   "common-services",
		"error_message": msg,
	}
}

func novaKey(status int) string {
	switch status {
	case 400:
		return "badRequest"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "itemNotFound"
	case 409:
		return "conflictingRequest"
	case 413, 429:
		return "overLimit"
	}
	return "computeFault"
}

func neutronType(status int) string {
	switch status {
	case 400:
		return "BadRequest"
	case 404:
		return "NotFound"
	case 409:
		return "Conflict"
	}
	return "NeutronError"
}

// TokenAuth wraps a service so that every request must carry a valid
// X-Auth-Token; the token is put in the request's context.
func TokenAuth(world *model.World, d Dialect, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, err := world.ValidateToken(r.Header.Get("X-Auth-Token"))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Keystone uri="/v3"`)
			ErrorStatus(w, d, http.StatusUnauthorized, "The request you have made requires authentication.")
			return
		}
		next.ServeHTTP(w, r.WithContext(withToken(r.Context(), tok)))
	})
}

// Page cuts a list at marker (the id after which to start) and limit, as
// the OpenStack APIs page, and says whether there is more.
func Page[T any](items []T, id func(T) string, marker string, limit int) ([]T, bool, error) {
	start := 0
	if marker != "" {
		start = -1
		for i, it := range items {
			if id(it) == marker {
				start = i + 1
				break
			}
		}
		if start < 0 {
			return nil, false, &model.ErrBadRequest{Message: fmt.Sprintf("marker [%s] not found", marker)}
		}
	}
	items = items[start:]
	if limit > 0 && len(items) > limit {
		return items[:limit], true, nil
	}
	return items, false, nil
}

// Limit reads the limit query parameter (0 when absent).
func Limit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &model.ErrBadRequest{Message: fmt.Sprintf("limit %q is not a non-negative integer", s)}
	}
	return n, nil
}

// NextLink builds the "next" link of a page: the request URL with marker
// set to the last id.
func NextLink(r *http.Request, lastID string) string {
	q := r.URL.Query()
	q.Set("marker", lastID)
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	// The original path: services are mounted below a prefix they do not see.
	path := r.URL.Path
	if u, err := url.ParseRequestURI(r.RequestURI); err == nil {
		path = u.Path
	}
	return fmt.Sprintf("%s://%s%s?%s", scheme, r.Host, path, q.Encode())
}

// OpenStackTime formats a time as Nova and Neutron do (seconds, Z).
func OpenStackTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// CinderTime formats a time as Cinder does (microseconds, no zone).
func CinderTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }
