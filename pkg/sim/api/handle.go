package api

import (
	"net/http"
)

// Handle is the one shape of a handler: decode the request body into a Req
// (none when Req is struct{}; fn may then read the body itself, as an
// upload does), let fn act on the world, and write its answer as JSON with
// status (or, when fn returns an error, the error in the service's dialect
// with the status the error's kind implies). An answer of nil writes no
// body; a *Response sets headers and may change the status.
func Handle[Req any](d Dialect, status int, fn func(r *http.Request, req *Req) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req Req
		if _, none := any(req).(struct{}); !none {
			if err := ReadJSON(r, &req); err != nil {
				ErrorStatus(w, d, http.StatusBadRequest, err.Error())
				return
			}
		}
		out, err := fn(r, &req)
		if err != nil {
			Error(w, d, err)
			return
		}
		code := status
		if resp, ok := out.(*Response); ok {
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			if resp.Status != 0 {
				code = resp.Status
			}
			out = resp.Body
		}
		if out == nil {
			w.WriteHeader(code)
			return
		}
		WriteJSON(w, code, out)
	}
}

// Get is Handle for a request without a body answered 200: a read.
func Get(d Dialect, fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return Handle(d, http.StatusOK, func(r *http.Request, _ *struct{}) (any, error) { return fn(r) })
}

// Response is an answer with headers, or with another status than the
// handler's (Status 0 keeps it), for a Handle function to return.
type Response struct {
	Status int
	Header http.Header
	Body   any
}
