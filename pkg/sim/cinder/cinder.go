// Package cinder simulates the Block Storage v3 API: volumes (with status
// transitions, extension and metadata filters), snapshots, volume types and
// availability zones, with microversions and Cinder's timestamps.
package cinder

import (
	"encoding/json"
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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v3/{project}/volumes", c.listVolumes)
	mux.HandleFunc("GET /v3/{project}/volumes/detail", c.listVolumes)
	mux.HandleFunc("POST /v3/{project}/volumes", c.createVolume)
	mux.HandleFunc("GET /v3/{project}/volumes/{id}", c.getVolume)
	mux.HandleFunc("PUT /v3/{project}/volumes/{id}", c.updateVolume)
	mux.HandleFunc("DELETE /v3/{project}/volumes/{id}", c.deleteVolume)
	mux.HandleFunc("POST /v3/{project}/volumes/{id}/action", c.action)
	mux.HandleFunc("GET /v3/{project}/snapshots", c.listSnapshots)
	mux.HandleFunc("GET /v3/{project}/snapshots/detail", c.listSnapshots)
	mux.HandleFunc("POST /v3/{project}/snapshots", c.createSnapshot)
	mux.HandleFunc("GET /v3/{project}/snapshots/{id}", c.getSnapshot)
	mux.HandleFunc("DELETE /v3/{project}/snapshots/{id}", c.deleteSnapshot)
	mux.HandleFunc("GET /v3/{project}/types", c.types)
	mux.HandleFunc("GET /v3/{project}/os-availability-zone", c.zones)
	mux.HandleFunc("GET /v3/{project}/os-quota-sets/{target}", c.quotaSet)
	mux.HandleFunc("GET /v3/{project}/os-quota-sets/{target}/defaults", c.quotaSet)
	// The world holds no backups; the cinder CSI plugin asks whether a
	// restore's source is one before it looks for a snapshot.
	mux.HandleFunc("GET /v3/{project}/backups", c.listBackups)
	mux.HandleFunc("GET /v3/{project}/backups/detail", c.listBackups)
	mux.HandleFunc("GET /v3/{project}/backups/{id}", c.getBackup)

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

func (c *cinder) link(r *http.Request, kind, id string) []any {
	return []any{map[string]any{"rel": "self", "href": c.base() + "/v3/" + r.PathValue("project") + "/" + kind + "/" + id}}
}

func (c *cinder) volumeView(r *http.Request, v model.Volume) map[string]any {
	attachments := []any{}
	for _, a := range v.Attachments {
		attachments = append(attachments, map[string]any{"id": a.VolumeID, "attachment_id": a.ID, "volume_id": a.VolumeID,
			"server_id": a.ServerID, "host_name": nil, "device": a.Device, "attached_at": api.CinderTime(v.UpdatedAt)})
	}
	return map[string]any{
		"id": v.ID, "name": v.Name, "description": v.Description, "status": v.Status, "size": v.Size,
		"availability_zone": v.AvailabilityZone, "created_at": api.CinderTime(v.CreatedAt), "updated_at": api.CinderTime(v.UpdatedAt),
		"volume_type": v.VolumeType, "snapshot_id": nullable(v.SnapshotID), "source_volid": nullable(v.SourceVolID),
		"bootable": "false", "encrypted": false, "multiattach": v.Multiattach, "metadata": v.Metadata, "attachments": attachments,
		"os-vol-tenant-attr:tenant_id": v.ProjectID, "user_id": v.UserID, "links": c.link(r, "volumes", v.ID),
		"consistencygroup_id": nil, "replication_status": nil, "group_id": nil, "provider_id": nil, "shared_targets": true,
		"service_uuid": nil, "cluster_name": nil, "volume_type_id": "00000000-0000-0000-0000-000000000001",
	}
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// metadataFilter reads the metadata filter, a JSON object in the query.
func metadataFilter(r *http.Request) (map[string]string, error) {
	raw := r.URL.Query().Get("metadata")
	if raw == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(strings.ReplaceAll(raw, "'", `"`)), &m); err != nil {
		return nil, &model.ErrBadRequest{Message: fmt.Sprintf("Invalid filter metadata: %v", err)}
	}
	return m, nil
}

func (c *cinder) listVolumes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	meta, err := metadataFilter(r)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	project := api.TokenOf(r.Context()).ProjectID
	vols := c.world.Volumes(func(v *model.Volume) bool {
		return v.ProjectID == project && (q.Get("name") == "" || v.Name == q.Get("name")) &&
			(q.Get("status") == "" || v.Status == q.Get("status")) && model.VolumeMetadataMatches(v, meta)
	})
	limit, err := api.Limit(r)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	page, more, err := api.Page(vols, func(v model.Volume) string { return v.ID }, q.Get("marker"), limit)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	out := make([]any, 0, len(page))
	for _, v := range page {
		out = append(out, c.volumeView(r, v))
	}
	body := map[string]any{"volumes": out}
	if more {
		body["volumes_links"] = []any{map[string]any{"rel": "next", "href": api.NextLink(r, page[len(page)-1].ID)}}
	}
	api.WriteJSON(w, http.StatusOK, body)
}

func (c *cinder) volume(w http.ResponseWriter, r *http.Request) (model.Volume, bool) {
	v, err := c.world.Volume(r.PathValue("id"))
	if err != nil || v.ProjectID != api.TokenOf(r.Context()).ProjectID {
		api.ErrorStatus(w, api.NovaCinder, http.StatusNotFound, fmt.Sprintf("Volume %s could not be found.", r.PathValue("id")))
		return model.Volume{}, false
	}
	return v, true
}

func (c *cinder) getVolume(w http.ResponseWriter, r *http.Request) {
	if v, ok := c.volume(w, r); ok {
		api.WriteJSON(w, http.StatusOK, map[string]any{"volume": c.volumeView(r, v)})
	}
}

func (c *cinder) createVolume(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Volume struct {
			Size             int               `json:"size"`
			Name             string            `json:"name"`
			Description      string            `json:"description"`
			VolumeType       string            `json:"volume_type"`
			AvailabilityZone string            `json:"availability_zone"`
			SnapshotID       string            `json:"snapshot_id"`
			SourceVolID      string            `json:"source_volid"`
			Metadata         map[string]string `json:"metadata"`
			Multiattach      bool              `json:"multiattach"`
		} `json:"volume"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		api.ErrorStatus(w, api.NovaCinder, http.StatusBadRequest, err.Error())
		return
	}
	x := req.Volume
	tok := api.TokenOf(r.Context())
	if x.SnapshotID != "" {
		if s, err := c.world.Snapshot(x.SnapshotID); err != nil || s.ProjectID != tok.ProjectID {
			api.ErrorStatus(w, api.NovaCinder, http.StatusNotFound, fmt.Sprintf("Snapshot %s could not be found.", x.SnapshotID))
			return
		}
	}
	v, err := c.world.CreateVolume(model.Volume{Size: x.Size, Name: x.Name, Description: x.Description, VolumeType: x.VolumeType,
		AvailabilityZone: x.AvailabilityZone, SnapshotID: x.SnapshotID, SourceVolID: x.SourceVolID, Metadata: x.Metadata,
		Multiattach: x.Multiattach, ProjectID: tok.ProjectID, UserID: tok.UserID})
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	api.WriteJSON(w, http.StatusAccepted, map[string]any{"volume": c.volumeView(r, v)})
}

func (c *cinder) updateVolume(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volume(w, r)
	if !ok {
		return
	}
	// Names and metadata are not modelled as changeable; answer with the volume.
	api.WriteJSON(w, http.StatusOK, map[string]any{"volume": c.volumeView(r, v)})
}

func (c *cinder) deleteVolume(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volume(w, r)
	if !ok {
		return
	}
	if err := c.world.DeleteVolume(v.ID); err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (c *cinder) action(w http.ResponseWriter, r *http.Request) {
	v, ok := c.volume(w, r)
	if !ok {
		return
	}
	var req map[string]json.RawMessage
	if err := api.ReadJSON(r, &req); err != nil {
		api.ErrorStatus(w, api.NovaCinder, http.StatusBadRequest, err.Error())
		return
	}
	raw, ok := req["os-extend"]
	if !ok {
		api.ErrorStatus(w, api.NovaCinder, http.StatusBadRequest, "There is no such action: the simulator serves os-extend")
		return
	}
	var extend struct {
		NewSize int `json:"new_size"`
	}
	if err := json.Unmarshal(raw, &extend); err != nil {
		api.ErrorStatus(w, api.NovaCinder, http.StatusBadRequest, "Invalid input for os-extend: "+err.Error())
		return
	}
	// Growing an attached volume needs microversion 3.42.
	if err := c.world.ExtendVolume(v.ID, extend.NewSize, microversion(r) >= 42); err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func snapshotView(s model.Snapshot) map[string]any {
	return map[string]any{
		"id": s.ID, "name": s.Name, "description": s.Description, "volume_id": s.VolumeID, "status": s.Status, "size": s.Size,
		"created_at": api.CinderTime(s.CreatedAt), "updated_at": api.CinderTime(s.UpdatedAt), "metadata": s.Metadata,
		"progress": "100%", "os-extended-snapshot-attributes:project_id": s.ProjectID,
		"os-extended-snapshot-attributes:progress": "100%", "group_snapshot_id": nil,
	}
}

func (c *cinder) listSnapshots(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	meta, err := metadataFilter(r)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	project := api.TokenOf(r.Context()).ProjectID
	snaps := c.world.Snapshots(func(s *model.Snapshot) bool {
		if s.ProjectID != project || (q.Get("volume_id") != "" && s.VolumeID != q.Get("volume_id")) ||
			(q.Get("name") != "" && s.Name != q.Get("name")) || (q.Get("status") != "" && s.Status != q.Get("status")) {
			return false
		}
		for k, v := range meta {
			if s.Metadata[k] != v {
				return false
			}
		}
		return true
	})
	limit, err := api.Limit(r)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	page, more, err := api.Page(snaps, func(s model.Snapshot) string { return s.ID }, q.Get("marker"), limit)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	out := make([]any, 0, len(page))
	for _, s := range page {
		out = append(out, snapshotView(s))
	}
	body := map[string]any{"snapshots": out}
	if more {
		body["snapshots_links"] = []any{map[string]any{"rel": "next", "href": api.NextLink(r, page[len(page)-1].ID)}}
	}
	api.WriteJSON(w, http.StatusOK, body)
}

func (c *cinder) createSnapshot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Snapshot struct {
			VolumeID    string            `json:"volume_id"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Force       bool              `json:"force"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"snapshot"`
	}
	if err := api.ReadJSON(r, &req); err != nil {
		api.ErrorStatus(w, api.NovaCinder, http.StatusBadRequest, err.Error())
		return
	}
	x := req.Snapshot
	if v, err := c.world.Volume(x.VolumeID); err != nil || v.ProjectID != api.TokenOf(r.Context()).ProjectID {
		api.ErrorStatus(w, api.NovaCinder, http.StatusNotFound, fmt.Sprintf("Volume %s could not be found.", x.VolumeID))
		return
	}
	s, err := c.world.CreateSnapshot(model.Snapshot{VolumeID: x.VolumeID, Name: x.Name, Description: x.Description, Metadata: x.Metadata}, x.Force)
	if err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	api.WriteJSON(w, http.StatusAccepted, map[string]any{"snapshot": snapshotView(s)})
}

func (c *cinder) snapshot(w http.ResponseWriter, r *http.Request) (model.Snapshot, bool) {
	s, err := c.world.Snapshot(r.PathValue("id"))
	if err != nil || s.ProjectID != api.TokenOf(r.Context()).ProjectID {
		api.ErrorStatus(w, api.NovaCinder, http.StatusNotFound, fmt.Sprintf("Snapshot %s could not be found.", r.PathValue("id")))
		return model.Snapshot{}, false
	}
	return s, true
}

func (c *cinder) getSnapshot(w http.ResponseWriter, r *http.Request) {
	if s, ok := c.snapshot(w, r); ok {
		api.WriteJSON(w, http.StatusOK, map[string]any{"snapshot": snapshotView(s)})
	}
}

func (c *cinder) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	s, ok := c.snapshot(w, r)
	if !ok {
		return
	}
	if err := c.world.DeleteSnapshot(s.ID); err != nil {
		api.Error(w, api.NovaCinder, err)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}

func (c *cinder) types(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"volume_types": []any{map[string]any{
		"id": "00000000-0000-0000-0000-000000000001", "name": "__DEFAULT__", "description": "Default Volume Type",
		"is_public": true, "extra_specs": map[string]any{}, "os-volume-type-access:is_public": true,
	}}})
}

func (c *cinder) zones(w http.ResponseWriter, _ *http.Request) {
	var out []any
	for _, z := range c.world.AvailabilityZones() {
		out = append(out, map[string]any{"zoneName": z, "zoneState": map[string]any{"available": true}})
	}
	api.WriteJSON(w, http.StatusOK, map[string]any{"availabilityZoneInfo": out})
}

func (c *cinder) listBackups(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"backups": []any{}})
}

func (c *cinder) getBackup(w http.ResponseWriter, r *http.Request) {
	api.ErrorStatus(w, api.NovaCinder, http.StatusNotFound, fmt.Sprintf("Backup %s could not be found.", r.PathValue("id")))
}

// quotaSet answers a project's Cinder quotas (with their usage when
// usage=True), Cinder's defaults where none was set.
func (c *cinder) quotaSet(w http.ResponseWriter, r *http.Request) {
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
	api.WriteJSON(w, http.StatusOK, map[string]any{"quota_set": set})
}
