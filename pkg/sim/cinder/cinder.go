// Package cinder simulates the Block Storage v3 API: volumes (with status
// transitions, extension and metadata filters), snapshots, volume types and
// availability zones, with microversions and Cinder's timestamps.
package cinder

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// MaxMicroversion is the newest microversion served.
const MaxMicroversion = "3.70"

// Handler returns the Block Storage API; it expects paths such as
// "/v3/{project_id}/volumes" and serves version discovery at "/" and "/v3/".
func Handler(world *model.World, base func() string) http.Handler {
	c := &cinder{world: world, base: base}
	mux := api.NewMux(api.NovaCinder)
	p := "/v3/{project}"
	mux.HandleFunc("GET "+p+"/volumes", c.listVolumes(false))
	mux.HandleFunc("GET "+p+"/volumes/detail", c.listVolumes(true))
	mux.HandleFunc("POST "+p+"/volumes", c.createVolume())
	mux.HandleFunc("GET "+p+"/volumes/{id}", c.getVolume())
	mux.HandleFunc("PUT "+p+"/volumes/{id}", c.updateVolume())
	mux.HandleFunc("DELETE "+p+"/volumes/{id}", c.deleteVolume())
	mux.HandleFunc("POST "+p+"/volumes/{id}/action", c.action())
	mux.HandleFunc("GET "+p+"/volumes/{id}/metadata", c.getMetadata())
	mux.HandleFunc("POST "+p+"/volumes/{id}/metadata", c.setMetadata(false))
	mux.HandleFunc("PUT "+p+"/volumes/{id}/metadata", c.setMetadata(true))
	mux.HandleFunc("GET "+p+"/volumes/{id}/metadata/{key}", c.getMetadataItem())
	mux.HandleFunc("PUT "+p+"/volumes/{id}/metadata/{key}", c.setMetadataItem())
	mux.HandleFunc("DELETE "+p+"/volumes/{id}/metadata/{key}", c.deleteMetadataItem())
	mux.HandleFunc("GET "+p+"/attachments", c.listAttachments(false))
	mux.HandleFunc("GET "+p+"/attachments/detail", c.listAttachments(true))
	mux.HandleFunc("GET "+p+"/attachments/{id}", c.getAttachment())
	mux.HandleFunc("POST "+p+"/attachments", c.createAttachment())
	mux.HandleFunc("PUT "+p+"/attachments/{id}", c.updateAttachment())
	mux.HandleFunc("POST "+p+"/attachments/{id}/action", c.attachmentAction())
	mux.HandleFunc("DELETE "+p+"/attachments/{id}", c.deleteAttachment())
	mux.HandleFunc("GET "+p+"/snapshots", c.listSnapshots())
	mux.HandleFunc("GET "+p+"/snapshots/detail", c.listSnapshots())
	mux.HandleFunc("POST "+p+"/snapshots", c.createSnapshot())
	mux.HandleFunc("GET "+p+"/snapshots/{id}", c.getSnapshot())
	mux.HandleFunc("DELETE "+p+"/snapshots/{id}", c.deleteSnapshot())
	mux.HandleFunc("GET "+p+"/types", get(c.types))
	mux.HandleFunc("GET "+p+"/os-availability-zone", get(c.zones))
	mux.HandleFunc("GET "+p+"/os-quota-sets/{target}", get(c.quotaSet))
	mux.HandleFunc("GET "+p+"/os-quota-sets/{target}/defaults", get(c.quotaSet))
	// The world holds no backups; the cinder CSI plugin asks whether a
	// restore's source is one before it looks for a snapshot.
	mux.HandleFunc("GET "+p+"/backups", get(listBackups))
	mux.HandleFunc("GET "+p+"/backups/detail", get(listBackups))
	mux.HandleFunc("GET "+p+"/backups/{id}", get(func(r *http.Request) (any, error) {
		return nil, api.Errorf(http.StatusNotFound, "Backup %s could not be found.", r.PathValue("id"))
	}))

	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", c.versions)
	outer.HandleFunc("GET /v3/{$}", c.versions)
	outer.Handle("/", api.TokenAuth(world, api.NovaCinder, c.projectScoped(mux)))
	return withMicroversion(outer)
}

type cinder struct {
	world *model.World
	base  func() string
}

// get is a read: no body, an answer of 200.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc {
	return api.Get(api.NovaCinder, fn)
}

// projectScoped refuses paths of another project than the token's.
func (c *cinder) projectScoped(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/v3/"), "/", 2)
		if len(parts) == 0 || parts[0] != api.TokenOf(r.Context()).ProjectID {
			api.ErrorStatus(w, api.NovaCinder, http.StatusForbidden, "Policy doesn't allow this operation to be performed on another project.")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// needs refuses a request below a microversion as Cinder does: the method
// is not found for that version.
func needs(r *http.Request, minor int) error {
	if microversion(r) < minor {
		return api.Errorf(http.StatusNotFound, "The resource could not be found.")
	}
	return nil
}

// maxMinor is the minor number of MaxMicroversion.
func maxMinor() int {
	_, minor, _ := strings.Cut(MaxMicroversion, ".")
	n, _ := strconv.Atoi(minor)
	return n
}

// microversion returns the minor number of the requested microversion (0
// without one).
func microversion(r *http.Request) int {
	v := ""
	if s := r.Header.Get("OpenStack-API-Version"); strings.HasPrefix(s, "volume ") {
		v = strings.TrimPrefix(s, "volume ")
	} else if s := r.Header.Get("X-OpenStack-Volume-API-Version"); s != "" {
		v = s
	}
	if v == "latest" {
		v = MaxMicroversion
	}
	if _, minor, ok := strings.Cut(v, "."); ok {
		if n, err := strconv.Atoi(minor); err == nil {
			return n
		}
	}
	return 0
}

func withMicroversion(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n := microversion(r); n > maxMinor() {
			api.ErrorStatus(w, api.NovaCinder, http.StatusNotAcceptable,
				fmt.Sprintf("Version 3.%d is not supported by the API. Minimum is 3.0 and maximum is %s.", n, MaxMicroversion))
			return
		}
		v := fmt.Sprintf("3.%d", microversion(r))
		w.Header().Set("OpenStack-API-Version", "volume "+v)
		w.Header().Set("Vary", "OpenStack-API-Version")
		next.ServeHTTP(w, r)
	})
}

func (c *cinder) versions(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"versions": []any{map[string]any{
		"id": "v3.0", "status": "CURRENT", "version": MaxMicroversion, "min_version": "3.0", "updated": "2023-08-31T00:00:00Z",
		"links": []any{map[string]any{"rel": "self", "href": c.base() + "/v3/"}},
	}}})
}

func (c *cinder) types(*http.Request) (any, error) {
	return map[string]any{"volume_types": []any{map[string]any{
		"id": "00000000-0000-0000-0000-000000000001", "name": "__DEFAULT__", "description": "Default Volume Type",
		"is_public": true, "extra_specs": map[string]any{}, "os-volume-type-access:is_public": true,
	}}}, nil
}

func (c *cinder) zones(*http.Request) (any, error) {
	var out []any
	for _, z := range c.world.AvailabilityZones() {
		out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]any{"available": true}})
	}
	return map[string]any{"availabilityZoneInfo": out}, nil
}

func listBackups(*http.Request) (any, error) { return map[string]any{"backups": []any{}}, nil }

// quotaSet answers a project's Cinder quotas (with their usage when
// usage=True), Cinder's defaults where none was set.
func (c *cinder) quotaSet(r *http.Request) (any, error) {
	target := r.PathValue("target")
	limits := c.world.Quotas(target, "volume")
	if strings.HasSuffix(r.URL.Path, "/defaults") {
		limits = model.QuotaDefaults("volume")
	}
	used := map[string]int{}
	for _, v := range c.world.Volumes(func(v *model.Volume) bool { return v.ProjectID == target }) {
		used["volumes"]++
		used["gigabytes"] += v.Size
	}
	used["snapshots"] = len(c.world.Snapshots(func(s *model.Snapshot) bool { return s.ProjectID == target }))
	set := map[string]any{"id": target}
	usage := strings.EqualFold(r.URL.Query().Get("usage"), "true")
	for k, v := range limits {
		if usage {
			set[k] = map[string]any{"limit": v, "in_use": used[k], "reserved": 0, "allocated": 0}
		} else {
			set[k] = v
		}
	}
	return map[string]any{"quota_set": set}, nil
}
