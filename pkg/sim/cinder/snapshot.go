package cinder

import (
	"net/http"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

func snapshotView(s model.Snapshot) map[string]any {
	return map[string]any{
		"id": s.ID, "name": s.Name, "description": s.Description, "volume_id": s.VolumeID, "status": s.Status, "size": s.Size,
		"created_at": api.CinderTime(s.CreatedAt), "updated_at": api.CinderTime(s.UpdatedAt), "metadata": s.Metadata,
		"progress": "100%", "os-extended-snapshot-attributes:project_id": s.ProjectID,
		"os-extended-snapshot-attributes:progress": "100%", "group_snapshot_id": nil,
	}
}

func (c *cinder) listSnapshots() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		f, err := listFilterOf(r, "Snapshot", func(id, project string) bool {
			s, err := c.world.Snapshot(id)
			return err == nil && s.ProjectID == project
		})
		if err != nil {
			return nil, err
		}
		volumeID := r.URL.Query().Get("volume_id")
		snaps := c.world.Snapshots(func(s *model.Snapshot) bool {
			return f.matches(s.ProjectID, s.Name, s.Status, s.Metadata) && (volumeID == "" || s.VolumeID == volumeID)
		})
		return page(r, "snapshots", snaps, func(s model.Snapshot) string { return s.ID }, func(s model.Snapshot) any { return snapshotView(s) })
	})
}

func (c *cinder) createSnapshot() http.HandlerFunc {
	type req struct {
		Snapshot struct {
			VolumeID    string            `json:"volume_id"`
			Name        string            `json:"name"`
			Description string            `json:"description"`
			Force       bool              `json:"force"`
			Metadata    map[string]string `json:"metadata"`
		} `json:"snapshot"`
	}
	return api.Handle(api.NovaCinder, http.StatusAccepted, func(r *http.Request, q *req) (any, error) {
		x := q.Snapshot
		if v, err := c.world.Volume(x.VolumeID); err != nil || v.ProjectID != api.TokenOf(r.Context()).ProjectID {
			return nil, api.Errorf(http.StatusNotFound, "Volume %s could not be found.", x.VolumeID)
		}
		s, err := c.world.CreateSnapshot(model.Snapshot{VolumeID: x.VolumeID, Name: x.Name, Description: x.Description, Metadata: x.Metadata}, x.Force)
		if err != nil {
			return nil, err
		}
		return map[string]any{"snapshot": snapshotView(s)}, nil
	})
}

// snapshot finds the snapshot of the path in the token's project.
func (c *cinder) snapshot(r *http.Request) (model.Snapshot, error) {
	s, err := c.world.Snapshot(r.PathValue("id"))
	if err != nil || s.ProjectID != api.TokenOf(r.Context()).ProjectID {
		return model.Snapshot{}, api.Errorf(http.StatusNotFound, "Snapshot %s could not be found.", r.PathValue("id"))
	}
	return s, nil
}

func (c *cinder) getSnapshot() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		s, err := c.snapshot(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"snapshot": snapshotView(s)}, nil
	})
}

func (c *cinder) deleteSnapshot() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusAccepted, func(r *http.Request, _ *struct{}) (any, error) {
		s, err := c.snapshot(r)
		if err != nil {
			return nil, err
		}
		return nil, c.world.DeleteSnapshot(s.ID)
	})
}
