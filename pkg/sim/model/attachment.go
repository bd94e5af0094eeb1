package model

import (
	"fmt"
	"strings"
)

// Cinder's attachments API (microversions 3.27 and 3.44): a client (Nova,
// or an operator with the openstack CLI) reserves a volume for an
// instance, gives the host's connector, and completes the attach; the
// volume's status follows: reserved, attaching, in-use; deleting a
// connected attachment detaches it (detaching, then available).

// CreateAttachment reserves a volume for an instance, as Cinder's
// attachment create does: the attachment is reserved and the volume
// reserved. A volume must be available (or, multiattach, in-use or
// reserved too), unless the instance has an attachment of it already.
// With a connector the attachment is updated at once (UpdateAttachment).
func (w *World) CreateAttachment(volumeID, instanceID string, connector map[string]any, mode string) (VolumeAttachment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(volumeID)
	if !ok {
		return VolumeAttachment{}, &ErrNotFound{"volume", volumeID}
	}
	allowed := []string{"available"}
	if v.Multiattach {
		allowed = append(allowed, "in-use", "reserved")
	}
	reserve := contains(allowed, v.Status)
	if !reserve {
		held := false
		for _, a := range v.Attachments {
			held = held || (instanceID != "" && a.ServerID == instanceID)
		}
		if !held || (v.Status != "in-use" && v.Status != "reserved") {
			return VolumeAttachment{}, &ErrBadRequest{fmt.Sprintf("Invalid volume: Volume %s status must be %s", volumeID, strings.Join(allowed, " or "))}
		}
	}
	if mode == "" {
		mode = "rw"
	}
	a := VolumeAttachment{ID: volumeID, VolumeID: volumeID, ServerID: instanceID, AttachmentID: NewID(), Status: AttachStatusReserved, Mode: mode}
	v.Attachments = append(v.Attachments, a)
	if reserve {
		v.Status = "reserved"
	}
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", volumeID)
	if len(connector) > 0 {
		return w.updateAttachment(a.AttachmentID, connector)
	}
	return a, nil
}

// attachment finds a Cinder attachment by its id: its volume and its
// index in the volume's attachments. Callers hold the lock.
func (w *World) attachment(id string) (*Volume, int, error) {
	for _, v := range w.volumes.list(nil) {
		for i, a := range v.Attachments {
			if a.AttachmentID == id {
				return v, i, nil
			}
		}
	}
	return nil, 0, &ErrNotFound{"volume attachment", id}
}

// editAttachment changes an attachment on its volume and, when Nova made
// it, on its server. Callers hold the lock.
func (w *World) editAttachment(v *Volume, i int, edit func(a *VolumeAttachment)) VolumeAttachment {
	edit(&v.Attachments[i])
	a := v.Attachments[i]
	if s, ok := w.servers.get(a.ServerID); ok {
		for j := range s.Attachments {
			if s.Attachments[j].AttachmentID == a.AttachmentID {
				edit(&s.Attachments[j])
				w.changed("server", s.ID)
			}
		}
	}
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", v.ID)
	return cloneAttachment(a)
}

func cloneAttachment(a VolumeAttachment) VolumeAttachment {
	if a.Connector != nil {
		c := make(map[string]any, len(a.Connector))
		for k, v := range a.Connector {
			c[k] = v
		}
		a.Connector = c
	}
	return a
}

// UpdateAttachment gives an attachment the host's connector, as Cinder's
// attachment update does: the attachment is attaching, with a connection,
// and so is the volume unless another attachment has it in use.
func (w *World) UpdateAttachment(id string, connector map[string]any) (VolumeAttachment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.updateAttachment(id, connector)
}

func (w *World) updateAttachment(id string, connector map[string]any) (VolumeAttachment, error) {
	v, i, err := w.attachment(id)
	if err != nil {
		return VolumeAttachment{}, err
	}
	if v.Status != "in-use" {
		v.Status = "attaching"
	}
	if connector == nil {
		connector = map[string]any{}
	}
	return w.editAttachment(v, i, func(a *VolumeAttachment) { a.Status, a.Connector = AttachStatusAttaching, connector }), nil
}

// CompleteAttachment marks an attachment attached and its volume in-use, as
// Cinder's os-complete (3.44) does, whatever their status before.
func (w *World) CompleteAttachment(id string) (VolumeAttachment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, i, err := w.attachment(id)
	if err != nil {
		return VolumeAttachment{}, err
	}
	v.Status = "in-use"
	now := w.now().UTC()
	return w.editAttachment(v, i, func(a *VolumeAttachment) {
		a.Status = AttachStatusAttached
		if a.AttachedAt.IsZero() {
			a.AttachedAt = now
		}
	}), nil
}

// DeleteAttachment deletes an attachment and returns the volume's
// attachments left, as Cinder's attachment delete does. A reserved
// attachment goes at once; a connected one is detached: the volume is
// detaching, then available (in-use while another attachment is attached,
// reserved while one is reserved).
func (w *World) DeleteAttachment(id string) ([]VolumeAttachment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, i, err := w.attachment(id)
	if err != nil {
		return nil, err
	}
	a := v.Attachments[i]
	v.Attachments = append(v.Attachments[:i:i], v.Attachments[i+1:]...)
	if s, ok := w.servers.get(a.ServerID); ok {
		s.Attachments = removeAttachmentID(s.Attachments, id)
		w.changed("server", s.ID)
	}
	v.UpdatedAt = w.now().UTC()
	if a.Status == AttachStatusReserved {
		v.Status = statusOfAttachments(v.Attachments)
	} else {
		v.Status = "detaching"
		volumeID := v.ID
		w.transit(KindVolume, volumeID, "detaching", func() {
			if v, ok := w.volumes.get(volumeID); ok && v.Status == "detaching" {
				v.Status, v.UpdatedAt = statusOfAttachments(v.Attachments), w.now().UTC()
				w.changed("volume", volumeID)
			}
		})
	}
	w.changed("volume", v.ID)
	left := make([]VolumeAttachment, len(v.Attachments))
	for j, a := range v.Attachments {
		left[j] = cloneAttachment(a)
	}
	return left, nil
}

// statusOfAttachments is the status of a volume with these attachments
// and no change under way.
func statusOfAttachments(list []VolumeAttachment) string {
	status := "available"
	for _, a := range list {
		if a.Attached() {
			return "in-use"
		}
		status = "reserved"
	}
	return status
}

func removeAttachmentID(list []VolumeAttachment, id string) []VolumeAttachment {
	out := list[:0:0]
	for _, a := range list {
		if a.AttachmentID != id {
			out = append(out, a)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
