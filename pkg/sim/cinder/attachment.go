package cinder

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// The attachments API (microversion 3.27): Cinder's own records of the
// attachments Nova makes, each with its id; create, update (the host's
// connector) and delete from 3.27, complete (os-complete) from 3.44, the
// mode from 3.54. The volume's status follows: reserved, attaching,
// in-use; detaching, available.

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
	mode := a.Mode
	if mode == "" {
		mode = "rw"
	}
	v["attach_mode"] = mode
	v["attached_at"], v["detached_at"] = attachedAt, nil
	// The connection of an attach Nova made, or of a connector a client
	// gave; none while reserved.
	connection := map[string]any{}
	if a.Attached() || a.Connector != nil {
		connection = map[string]any{"driver_volume_type": "vmdk", "data": map[string]any{"volume": a.VolumeID, "volume_id": a.VolumeID, "access_mode": mode}}
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

// attachment finds the attachment of the path among the project's.
func (c *cinder) attachment(r *http.Request) (model.VolumeAttachment, error) {
	for _, a := range c.attachments(r) {
		if a.AttachmentID == r.PathValue("id") {
			return a, nil
		}
	}
	return model.VolumeAttachment{}, api.Errorf(http.StatusNotFound, "VolumeAttachment %s could not be found.", r.PathValue("id"))
}

func (c *cinder) getAttachment() http.HandlerFunc {
	return get(func(r *http.Request) (any, error) {
		if err := needs(r, 27); err != nil {
			return nil, err
		}
		a, err := c.attachment(r)
		if err != nil {
			return nil, err
		}
		return map[string]any{"attachment": attachmentView(a, true)}, nil
	})
}

// fields decodes a JSON object of the body, refusing keys the schema
// does not allow and missing required ones, as Cinder's schema
// validation does.
func fields(name string, raw json.RawMessage, allowed []string, required ...string) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: %s. %s is not of type 'object'", name, raw, raw)
	}
	for k := range m {
		if !slices.Contains(allowed, k) {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: %s. Additional properties are not allowed ('%s' was unexpected)", name, raw, k)
		}
	}
	for _, k := range required {
		if _, ok := m[k]; !ok {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: %s. '%s' is a required property", name, raw, k)
		}
	}
	return m, nil
}

// uuidField reads a string field in Cinder's uuid format (absent: "").
func uuidField(m map[string]json.RawMessage, key string) (string, error) {
	raw, ok := m[key]
	if !ok {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !isUUID(s) {
		return "", api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: %s. %s is not a 'uuid'", key, raw, raw)
	}
	return s, nil
}

func isUUID(s string) bool {
	hex := strings.ReplaceAll(s, "-", "")
	if len(hex) != 32 {
		return false
	}
	for _, r := range hex {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// connectorField reads the connector: an object, or null.
func connectorField(m map[string]json.RawMessage) (map[string]any, error) {
	raw, ok := m["connector"]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var connector map[string]any
	if err := json.Unmarshal(raw, &connector); err != nil {
		return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute connector. Value: %s. %s is not of type 'object', 'null'", raw, raw)
	}
	return connector, nil
}

type attachmentBody struct {
	Attachment json.RawMessage `json:"attachment"`
}

// createAttachment reserves a volume of the project for an instance
// (with a connector: and connects it), as Nova does before it attaches.
func (c *cinder) createAttachment() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, q *attachmentBody) (any, error) {
		if err := needs(r, 27); err != nil {
			return nil, err
		}
		if q.Attachment == nil {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute body. 'attachment' is a required property")
		}
		allowed := []string{"volume_uuid", "instance_uuid", "connector"}
		if microversion(r) >= 54 {
			allowed = append(allowed, "mode")
		}
		m, err := fields("attachment", q.Attachment, allowed, "volume_uuid")
		if err != nil {
			return nil, err
		}
		volumeID, err := uuidField(m, "volume_uuid")
		if err != nil {
			return nil, err
		}
		instanceID, err := uuidField(m, "instance_uuid")
		if err != nil {
			return nil, err
		}
		connector, err := connectorField(m)
		if err != nil {
			return nil, err
		}
		var mode string
		if raw, ok := m["mode"]; ok {
			if err := json.Unmarshal(raw, &mode); err != nil || (mode != "rw" && mode != "ro") {
				return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute mode. Value: %s. %s is not one of ['rw', 'ro']", raw, raw)
			}
		}
		if v, err := c.world.Volume(volumeID); err != nil || v.ProjectID != api.TokenOf(r.Context()).ProjectID {
			return nil, api.Errorf(http.StatusNotFound, "Volume %s could not be found.", volumeID)
		}
		a, err := c.world.CreateAttachment(volumeID, instanceID, connector, mode)
		if err != nil {
			return nil, err
		}
		return map[string]any{"attachment": attachmentView(a, true)}, nil
	})
}

// updateAttachment gives an attachment the host's connector: it is
// attaching, with its connection.
func (c *cinder) updateAttachment() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, q *attachmentBody) (any, error) {
		if err := needs(r, 27); err != nil {
			return nil, err
		}
		if q.Attachment == nil {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute body. 'attachment' is a required property")
		}
		m, err := fields("attachment", q.Attachment, []string{"connector"}, "connector")
		if err != nil {
			return nil, err
		}
		var connector map[string]any
		if err := json.Unmarshal(m["connector"], &connector); err != nil || connector == nil {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute connector. Value: %s. %s is not of type 'object'", m["connector"], m["connector"])
		}
		a, err := c.attachment(r)
		if err != nil {
			return nil, err
		}
		if a, err = c.world.UpdateAttachment(a.AttachmentID, connector); err != nil {
			return nil, err
		}
		return map[string]any{"attachment": attachmentView(a, true)}, nil
	})
}

// attachmentAction serves os-complete (3.44): the attachment is attached
// and its volume in-use.
func (c *cinder) attachmentAction() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusNoContent, func(r *http.Request, q *map[string]json.RawMessage) (any, error) {
		if err := needs(r, 44); err != nil {
			return nil, err
		}
		raw, ok := (*q)["os-complete"]
		if !ok || len(*q) != 1 {
			return nil, api.Errorf(http.StatusBadRequest, "There is no such action: the simulator serves os-complete")
		}
		if string(raw) != "null" {
			return nil, api.Errorf(http.StatusBadRequest, "Invalid input for field/attribute os-complete. Value: %s. %s is not of type 'null'", raw, raw)
		}
		a, err := c.attachment(r)
		if err != nil {
			return nil, err
		}
		_, err = c.world.CompleteAttachment(a.AttachmentID)
		return nil, err
	})
}

// deleteAttachment deletes an attachment (a connected one is detached)
// and answers the volume's attachments left.
func (c *cinder) deleteAttachment() http.HandlerFunc {
	return api.Handle(api.NovaCinder, http.StatusOK, func(r *http.Request, _ *struct{}) (any, error) {
		if err := needs(r, 27); err != nil {
			return nil, err
		}
		a, err := c.attachment(r)
		if err != nil {
			return nil, err
		}
		left, err := c.world.DeleteAttachment(a.AttachmentID)
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, a := range left {
			out = append(out, attachmentView(a, false))
		}
		return map[string]any{"attachments": out}, nil
	})
}
