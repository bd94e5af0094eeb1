package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/epks/epks/pkg/sim/model"
)

// TestMuxUnserved: a route a service does not serve, and a method a served
// path does not take, are answered in the service's format with the status
// its router gives.
func TestMuxUnserved(t *testing.T) {
	for _, tc := range []struct {
		dialect      Dialect
		method, path string
		status       int
		body         string // a substring of the body
	}{
		{NovaCinder, "GET", "/nope", 404, `"itemNotFound":{"code":404,"message":"The resource could not be found."}`},
		{NovaCinder, "DELETE", "/things", 404, `"itemNotFound"`}, // routes match the method with the path
		{Neutron, "GET", "/nope", 404, `"NeutronError":{"detail":"","message":"The resource could not be found.","type":"HTTPNotFound"}`},
		{Neutron, "DELETE", "/things", 405, `"type":"HTTPMethodNotAllowed"`},
		{Octavia, "GET", "/nope", 404, `"faultcode":"Client","faultstring":"The resource could not be found."`},
		{Octavia, "PATCH", "/things", 405, `"faultcode":"Client"`},
		{Keystone, "GET", "/nope", 404, `"error":{"code":404,"message":"The requested URL was not found on the server.`},
		{Keystone, "PUT", "/things", 405, `"error":{"code":405,"message":"The method is not allowed for the requested URL.","title":"Method Not Allowed"}`},
		{Glance, "GET", "/nope", 404, "404 Not Found\n\nThe resource could not be found."},
		{Glance, "DELETE", "/things", 405, "405 Method Not Allowed\n\nThe method DELETE is not allowed for this resource."},
		{NSX, "GET", "/nope", 404, `"httpStatus":"NOT_FOUND"`},
		{NSX, "DELETE", "/things", 405, `"httpStatus":"METHOD_NOT_ALLOWED"`},
		{Control, "GET", "/nope", 404, `"error":"no control route GET /nope"`},
	} {
		mux := NewMux(tc.dialect)
		mux.HandleFunc("GET /things", func(w http.ResponseWriter, _ *http.Request) { WriteJSON(w, 200, map[string]any{"things": []any{}}) })
		mux.HandleFunc("POST /things", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(201) })
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("dialect %d %s %s: %d %q, want %d with %q", tc.dialect, tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.body)
		}
		if tc.status == 405 && rec.Header().Get("Allow") == "" {
			t.Errorf("dialect %d %s %s: 405 without Allow", tc.dialect, tc.method, tc.path)
		}
		// A served route is served, with its path values.
		rec = httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("GET", "/things", nil))
		if rec.Code != 200 {
			t.Errorf("dialect %d: the served route answered %d", tc.dialect, rec.Code)
		}
	}
}

// TestHandle: the one write shape decodes, acts, and answers the error in
// the dialect with the status of its kind.
func TestHandle(t *testing.T) {
	type req struct {
		Name string `json:"name"`
	}
	h := Handle(Neutron, http.StatusCreated, func(r *http.Request, q *req) (any, error) {
		switch q.Name {
		case "missing":
			return nil, &model.ErrNotFound{Kind: "network", ID: "n1"}
		case "busy":
			return nil, &model.ErrConflict{Message: "in use"}
		case "teapot":
			return nil, Errorf(http.StatusTeapot, "short and stout")
		case "header":
			return &Response{Header: http.Header{"X-Subject-Token": {"t"}}, Body: map[string]any{"ok": true}}, nil
		case "existed":
			return &Response{Status: http.StatusNoContent}, nil
		}
		return map[string]any{"name": q.Name}, nil
	})
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"web"}`, 201, `{"name":"web"}`},
		{`{"name":`, 400, `"type":"BadRequest"`},
		{`{"name":"missing"}`, 404, `"type":"NetworkNotFound"`},
		{`{"name":"busy"}`, 409, `"message":"in use"`},
		{`{"name":"teapot"}`, 418, `short and stout`},
		{`{"name":"header"}`, 201, `{"ok":true}`},
		{`{"name":"existed"}`, 204, ``}, // the answer's own status
	} {
		rec := httptest.NewRecorder()
		h(rec, httptest.NewRequest("POST", "/", strings.NewReader(tc.body)))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.want) {
			t.Errorf("%s: %d %s, want %d with %s", tc.body, rec.Code, rec.Body, tc.status, tc.want)
		}
		if tc.body == `{"name":"header"}` && rec.Header().Get("X-Subject-Token") != "t" {
			t.Error("the Response's header was not written")
		}
		if tc.status == 204 && rec.Body.Len() != 0 {
			t.Errorf("%s: a 204 with a body %q", tc.body, rec.Body)
		}
		if rec.Code >= 400 && tc.status != 418 {
			var v map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil || v["NeutronError"] == nil {
				t.Errorf("%s: not Neutron's error body: %s", tc.body, rec.Body)
			}
		}
	}
}

// TestGet: a read takes no body (a DELETE or GET without one is not a
// malformed request) and answers 200 or the error in the dialect.
func TestGet(t *testing.T) {
	h := Get(Glance, func(r *http.Request) (any, error) {
		if r.URL.Query().Get("id") == "" {
			return nil, Errorf(http.StatusNotFound, "No image found with ID %s", "x")
		}
		return map[string]any{"id": r.URL.Query().Get("id")}, nil
	})
	rec := httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/?id=a", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `{"id":"a"}`) {
		t.Errorf("read: %d %q", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 404 || rec.Body.String() != "404 Not Found\n\nNo image found with ID x\n\n   " {
		t.Errorf("error: %d %q", rec.Code, rec.Body)
	}
}
