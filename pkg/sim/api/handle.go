package api

import (
	"net/http"
)

// Handle is the one shape of a write handler: decode the request body into
// a Req (none when Req is struct{}), let fn act on the world, and write its
// answer as JSON with status (or, when fn returns an error, the error in
// the service's dialect with the status the error's kind implies). An
// answer of nil writes no body.
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
		if resp, ok := out.(*Response); ok {
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			out = resp.Body
		}
		if out == nil {
			w.WriteHeader(status)
			return
		}
		WriteJSON(w, status, out)
	}
}

// Response is an answer with headers, for a Handle function to return.
type Response struct {
	Header http.Header
	Body   any
}
