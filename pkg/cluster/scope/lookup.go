package scope

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/gophercloud/gophercloud/v2"
)

// One returns the only element of list, nil when there is none, and an
// error naming the kind when several share the name: the cluster cannot
// tell which is its own.
func One[T any](list []T, kind, name string) (*T, error) {
	switch len(list) {
	case 0:
		return nil, nil
	case 1:
		return &list[0], nil
	}
	return nil, fmt.Errorf("%d %ss are named %q: delete the extra ones so that the cluster knows its own", len(list), kind, name)
}

// NotFound reports whether err is OpenStack's 404.
func NotFound(err error) bool {
	return gophercloud.ResponseCodeIs(err, http.StatusNotFound)
}

// WithTags adds Neutron tags to a create request body (the tag-creation
// extension), so that a resource is tagged with its cluster by the request
// that makes it: no second write per resource.
func WithTags(body map[string]any, key string, tags []string) map[string]any {
	if inner, ok := body[key].(map[string]any); ok {
		inner["tags"] = tags
	}
	return body
}

// Problems gathers errors, such as every resource a delete could not
// remove.
type Problems struct{ errs []error }

// Add adds err unless it is nil.
func (p *Problems) Add(err error) {
	if err != nil {
		p.errs = append(p.errs, err)
	}
}

// Err is every problem joined, or nil.
func (p *Problems) Err() error { return errors.Join(p.errs...) }
