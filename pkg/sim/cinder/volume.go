package cinder

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

func (c *cinder) link(r *http.Request, kind, id string) []any {
	return []any{map[string]any{"rel": "self", "href": c.base() + "/v3/" + r.PathValue("project") + "/" + kind + "/" + id}}
}

func (c *cinder) volumeView(r *http.Request, v model.Volume) map[string]any {
	attachments := []any{}
	for _, a := range v.Attachments {
		if !a.Attached() {
			continue // Cinder shows attachments on the volume once attached
		}
		attachments = append(attachments, map[string]any{"id": a.VolumeID, "attachment_id": a.AttachmentID, "volume_id": a.VolumeID,
			"server_id": a.ServerID, "host_name": nil, "device": a.Device, "attached_at": api.CinderTime(a.AttachedAt)})
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

// summary is the volume of a list without detail.
func (c *cinder) summary(r *http.Request, v model.Volume) map[string]any {
	return map[string]any{"id": v.ID, "name": v.Name, "links": c.link(r, "volumes", v.ID)}
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

// page cuts a list at the request's marker and limit and answers it under
// key, with the "next" link when there is more.
func page[T any](r *http.Request, key string, items []T, id func(T) string, view func(T) any) (any, error) {
	limit, err := api.Limit(r)
	if err != nil {
		return nil, err
	}
	list, more, err := api.Page(items, id, r.URL.Query().Get("marker"), limit)
	if err != nil {
		return nil, err
	}
	out := make([]any, 0, len(list))
	for _, it := range list {
		out = append(out, view(it))
	}
	body := map[string]any{key: out}
	if more {
		body[key+"_links"] = []any{map[string]any{"rel": "next", "href": api.NextLink(r, id(list[len(list)-1]))}}
	}
	return body, nil
}

// knownMarker answers a list's unknown marker as Cinder does: its paging
// looks the marker up as an object of the kind it lists, in the project,
// and answers that lookup's 404 ("Volume X could not be found.").
func knownMarker(r *http.Request, kind string, exists func(id string) bool) error {
	m := r.URL.Query().Get("marker")
	if m == "" || exists(m) {
		return nil
	}
	return api.Errorf(http.StatusNotFound, "%s %s could not be found.", kind, m)
}

// listFilter is what a volume or snapshot list asks for: the token's
// project, the name, status and metadata filters of the query.
type listFilter struct {
	project, name, status string
	metadata              map[string]string
}

// listFilterOf reads a list's filters and answers its unknown marker
// (knownMarker); exists reports whether an id is of kind in the project.
func listFilterOf(r *http.Request, kind string, exists func(id, project string) bool) (listFilter, error) {
	meta, err := metadataFilter(r)
	if err != nil {
		return listFilter{}, err
	}
	q := r.URL.Query()
	f := listFilter{project: api.TokenOf(r.Context()).ProjectID, name: q.Get("name"), status: q.Get("status"), metadata: meta}
	if err := knownMarker(r, kind, func(id string) bool { return exists(id, f.project) }); err != nil {
		return listFilter{}, err
	}
	return f, nil
}

// matches reports whether a resource with these fields passes the filter.
func (f listFilter) matches(project, name, status string, metadata map[string]string) bool {
	return project == f.project && (f.name == "" || name == f.name) && (f.status == "" || status == f.status) &&
		model.MetadataMatches(metadata, f.metadata)
}

func (c *cinder) listVolumes(detail bool) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		f, err := listFilterOf(r, "Volume", func(id, project string) bool {
			v, err := c.world.Volume(id)
			return err == nil && v.ProjectID == project
		})
		if err != nil {
			return nil, err
		}
		vols := c.world.Volumes(func(v *model.Volume) bool {
			return f.matches(v.ProjectID, v.Name, v.Status, v.Metadata)
		})
		view := func(v model.Volume) any { return c.summary(r, v) }
		if detail {
			view = func(v model.Volume) any { return c.volumeView(r, v) }
		}
		return page(r, "volumes", vols, func(v model.Volume) string { return v.ID }, view)
	})
}

// volume finds the volume of the path in the token's project.
func (c *cinder) volume(r *http.Request) (model.Volume, error) {
	v, err := c.world.Volume(r.PathValue("id"))
	if err != nil || v.ProjectID != api.TokenOf(r.Context()).ProjectID {
		return model.Volume{}, api.Errorf(http.StatusNotFound, "Volume %s could not be found.", r.PathValue("id"))
	}
	return v, nil
}

func (c *cinder) getVolume() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"volume": c.volumeView(r, v)}, nil
	})
}

func (c *cinder) createVolume() http.HandlerFunc {
	type req struct {
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
	return api.Handle(api.NovaCinder, http.StatusAccepted, func(r *http.Request, q *req) (any, error) {
		x := q.Volume
		tok := api.TokenOf(r.Context())
		if x.SnapshotID != "" {
			if s, err := c.world.Snapshot(x.SnapshotID); err != nil || s.ProjectID != tok.ProjectID {
				return nil, api.Errorf(http.StatusNotFound, "Snapshot %s could not be found.", x.SnapshotID)
			}
		}
		v, err := c.world.CreateVolume(model.Volume{Size: x.Size, Name: x.Name, Description: x.Description, VolumeType: x.VolumeType,
			AvailabilityZone: x.AvailabilityZone, SnapshotID: x.SnapshotID, SourceVolID: x.SourceVolID, Metadata: x.Metadata,
			Multiattach: x.Multiattach, ProjectID: tok.ProjectID, UserID: tok.UserID})
		if err != nil {
			return nil, err
		}
		return map[string]any{"volume": c.volumeView(r, v)}, nil
	})
}

// updateVolume changes the name, description or metadata (which it
// replaces), as Cinder's volume update does; other keys are refused.
func (c *cinder) updateVolume() http.HandlerFunc {
	type req struct {
		Volume map[string]json.RawMessage `json:"volume"`
	}
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, q *req) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		if q.Volume == nil {
			return nil, api.Errorf(http.StatusBadRequest, "Missing required element 'volume' in request body.")
		}
		var name, description *string
		var metadata map[string]string
		for key, raw := range q.Volume {
			var err error
			switch key {
			case "name", "display_name":
				err = json.Unmarshal(raw, &name)
			case "description", "display_description":
				err = json.Unmarshal(raw, &description)
			case "metadata":
				err = json.Unmarshal(raw, &metadata)
				if err == nil && metadata == nil {
					metadata = map[string]string{}
				}
			default:
				return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute volume. Value: %s. Additional properties are not allowed ('%s' was unexpected)", key, key)
			}
			if err != nil {
				return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute %s: %v", key, err)
			}
		}
		v, err = c.world.UpdateVolume(v.ID, name, description, metadata)
		if err != nil {
			return nil, err
		}
		return map[string]any{"volume": c.volumeView(r, v)}, nil
	})
}

func (c *cinder) deleteVolume() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusAccepted, func(r *http.Request, _ *struct{}) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		return nil, c.world.DeleteVolume(v.ID)
	})
}

func (c *cinder) action() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusAccepted, func(r *http.Request, q *map[string]json.RawMessage) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		raw, ok := (*q)["os-extend"]
		if !ok {
			return nil, api.Errorf(http.StatusBadRequest, "There is no such action: the simulator serves os-extend")
		}
		var extend struct {
			NewSize int `json:"new_size"`
		}
		if err := json.Unmarshal(raw, &extend); err != nil {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for os-extend: %v", err)
		}
		// Growing an attached volume needs microversion 3.42.
		return nil, c.world.ExtendVolume(v.ID, extend.NewSize, microversion(r) >= 42)
	})
}

// --- metadata ---

// metadataBody is {"metadata": {...}}; its values must be strings of at
// most 255 characters, keys 1 to 255, as Cinder's schema says.
type metadataBody struct {
	Metadata map[string]string `json:"metadata"`
}

func checkMetadata(m map[string]string) error {
	for k, v := range m {
		if len(k) == 0 || len(k) > 255 || len(v) > 255 {
			return api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute metadata. Value: {'%s': '%s'}. Keys must be 1 to 255 characters and values at most 255.", k, v)
		}
	}
	return nil
}

func (c *cinder) getMetadata() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"metadata": v.Metadata}, nil
	})
}

// setMetadata merges (POST) or replaces (PUT) the metadata and answers
// the volume's metadata after.
func (c *cinder) setMetadata(replace bool) http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, q *metadataBody) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		if q.Metadata == nil {
			return nil, api.Errorf(http.StatusBadRequest, "Malformed request body: 'metadata' is missing.")
		}
		if err := checkMetadata(q.Metadata); err != nil {
			return nil, err
		}
		m, err := c.world.SetVolumeMetadata(v.ID, q.Metadata, replace)
		if err != nil {
			return nil, err
		}
		return map[string]any{"metadata": m}, nil
	})
}

func (c *cinder) getMetadataItem() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		key := r.PathValue("key")
		val, ok := v.Metadata[key]
		if !ok {
			return nil, api.Errorf(http.StatusNotFound, "Volume %s has no metadata with key %s.", v.ID, key)
		}
		return map[string]any{"meta": map[string]string{key: val}}, nil
	})
}

func (c *cinder) setMetadataItem() http.HandlerFunc {
	type req struct {
		Meta map[string]string `json:"meta"`
	}
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, q *req) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		key := r.PathValue("key")
		if _, ok := q.Meta[key]; !ok || len(q.Meta) != 1 {
			return nil, api.Errorf(http.StatusBadRequest, "Request body and URI mismatch")
		}
		if err := checkMetadata(q.Meta); err != nil {
			return nil, err
		}
		if _, err := c.world.SetVolumeMetadata(v.ID, q.Meta, false); err != nil {
			return nil, err
		}
		return map[string]any{"meta": q.Meta}, nil
	})
}

func (c *cinder) deleteMetadataItem() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, _ *struct{}) (any, error) {
		v, err := c.volume(r)
		if err != nil {
			return nil, err
		}
		if err := c.world.DeleteVolumeMetadata(v.ID, r.PathValue("key")); err != nil {
			return nil, api.Errorf(http.StatusNotFound, "Volume %s has no metadata with key %s.", v.ID, r.PathValue("key"))
		}
		return nil, nil
	})
}
