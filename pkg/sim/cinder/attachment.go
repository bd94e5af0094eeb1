package cinder

import (
	"net/http"
	"sort"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// The attachments API (microversion 3.27): Cinder's own records of the
// attachments Nova makes, each with its id.

// attachmentFilters are the filters Cinder takes on attachment lists.
var attachmentFilters = map[string]bool{"volume_id": true, "status": true, "instance_id": true, "attach_status": true,
	"all_tenants": true, "project_id": true, "marker": true, "limit": true, "offset": true, "sort": true}

func attachmentView(a model.VolumeAttachment, detail bool) map[string]any {
	v := map[string]any{"id": a.AttachmentID, "volume_id": a.VolumeID, "instance": a.ServerID, "status": a.Status}
	if !detail {
		return v
	}
	var attachedAt any
	if !a.AttachedAt.IsZero() {
		attachedAt = api.CinderTime(a.AttachedAt)
	}
	v["attach_mode"] = "rw"
	v["attached_at"], v["detached_at"] = attachedAt, nil
	connection := map[string]any{}
	if a.Attached() {
		connection = map[string]any{"driver_volume_type": "vmdk", "data": map[string]any{"volume": a.VolumeID, "volume_id": a.VolumeID}}
	}
	v["connection_info"] = connection
	return v
}

func (c *cinder) attachments(r *http.Request) []model.VolumeAttachment {
	project := api.TokenOf(r.Context()).ProjectID
	return c.world.VolumeAttachments(func(v *model.Volume) bool { return v.ProjectID == project })
}

func (c *cinder) listAttachments(detail bool) http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		if err := needs(r, 27); err != nil {
			return nil, err
		}
		q := r.URL.Query()
		var bad []string
		for k := range q {
			if !attachmentFilters[k] {
				bad = append(bad, k)
			}
		}
		if len(bad) > 0 {
			sort.Strings(bad)
			return nil, api.Errorf(http.StatusBadRequest, "Invalid filters %s are found in query options.", strings.Join(bad, ","))
		}
		var list []model.VolumeAttachment
		for _, a := range c.attachments(r) {
			if (q.Get("volume_id") == "" || a.VolumeID == q.Get("volume_id")) &&
				(q.Get("instance_id") == "" || a.ServerID == q.Get("instance_id")) &&
				(q.Get("status") == "" || a.Status == q.Get("status")) &&
				(q.Get("attach_status") == "" || a.Status == q.Get("attach_status")) {
				list = append(list, a)
			}
		}
		return page(r, "attachments", list, func(a model.VolumeAttachment) string { return a.AttachmentID },
			func(a model.VolumeAttachment) any { return attachmentView(a, detail) })
	})
}

func (c *cinder) getAttachment() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		if err := needs(r, 27); err != nil {
			return nil, err
		}
		for _, a := range c.attachments(r) {
			if a.AttachmentID == r.PathValue("id") {
				return map[string]any{"attachment": attachmentView(a, true)}, nil
			}
		}
		return nil, api.Errorf(http.StatusNotFound, "VolumeAttachment %s could not be found.", r.PathValue("id"))
	})
}
