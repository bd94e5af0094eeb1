package model

import (
	"fmt"
	"sort"
	"time"
)

// Volume is a Cinder volume.
type Volume struct {
	ID               string
	Name             string
	Description      string
	ProjectID        string
	UserID           string
	Size             int
	Status           string
	VolumeType       string
	AvailabilityZone string
	SnapshotID       string
	SourceVolID      string
	Multiattach      bool
	Metadata         map[string]string
	Attachments      []VolumeAttachment
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Snapshot is a Cinder snapshot.
type Snapshot struct {
	ID          string
	Name        string
	Description string
	ProjectID   string
	VolumeID    string
	Size        int
	Status      string
	Metadata    map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func cloneVolume(v *Volume) Volume {
	c := *v
	c.Metadata = cloneMap(v.Metadata)
	c.Attachments = append([]VolumeAttachment(nil), v.Attachments...)
	return c
}

func cloneSnapshot(s *Snapshot) Snapshot {
	c := *s
	c.Metadata = cloneMap(s.Metadata)
	return c
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// CreateVolume adds a volume in status "creating"; it becomes "available"
// after the transition delay. From a snapshot, the snapshot must be
// available and the size at least the snapshot's.
func (w *World) CreateVolume(v Volume) (Volume, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if v.Size < 1 {
		return Volume{}, &ErrBadRequest{fmt.Sprintf("Invalid input received: size %d must be a positive integer", v.Size)}
	}
	if v.SnapshotID != "" {
		s, ok := w.snapshots.get(v.SnapshotID)
		if !ok {
			return Volume{}, &ErrNotFound{"snapshot", v.SnapshotID}
		}
		if s.Status != "available" {
			return Volume{}, &ErrBadRequest{fmt.Sprintf("Invalid snapshot: Originating snapshot status must be one of 'available' values (it is %s)", s.Status)}
		}
		if v.Size < s.Size {
			return Volume{}, &ErrBadRequest{fmt.Sprintf("Invalid input received: Volume size '%d'GB cannot be smaller than the snapshot size %dGB.", v.Size, s.Size)}
		}
	}
	if v.ID == "" {
		v.ID = NewID()
	}
	if v.AvailabilityZone == "" {
		v.AvailabilityZone = "nova"
	}
	if v.VolumeType == "" {
		v.VolumeType = "__DEFAULT__"
	}
	if v.Metadata == nil {
		v.Metadata = map[string]string{}
	}
	v.Status = "creating"
	v.CreatedAt, v.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.volumes.put(v.ID, w.nextSeq(), &v)
	w.changed("volume", v.ID)
	id := v.ID
	w.transit(KindVolume, id, "creating", func() { w.setVolumeStatus(id, "creating", "available") })
	return cloneVolume(&v), nil
}

// setVolumeStatus moves a volume from one status to another; it does
// nothing when the volume is gone or in another status.
func (w *World) setVolumeStatus(id, from, to string) {
	v, ok := w.volumes.get(id)
	if !ok || v.Status != from {
		return
	}
	v.Status = to
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", id)
}

// Volume returns a volume by id.
func (w *World) Volume(id string) (Volume, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	v, ok := w.volumes.get(id)
	if !ok {
		return Volume{}, &ErrNotFound{"volume", id}
	}
	return cloneVolume(v), nil
}

// Volumes lists the volumes keep selects.
func (w *World) Volumes(keep func(*Volume) bool) []Volume {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.volumes.list(keep)
	out := make([]Volume, len(list))
	for i, v := range list {
		out[i] = cloneVolume(v)
	}
	return out
}

// DeleteVolume starts deleting a volume that is not attached and has no
// snapshots; it is gone after the transition delay.
func (w *World) DeleteVolume(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(id)
	if !ok {
		return &ErrNotFound{"volume", id}
	}
	switch v.Status {
	case "available", "error", "error_extending":
	default:
		return &ErrBadRequest{fmt.Sprintf("Invalid volume: Volume status must be available or error or error_restoring or error_extending or error_managing and must not be migrating, attached, belong to a group, have snapshots or be disassociated from snapshots after volume transfer. (volume %s is %s)", id, v.Status)}
	}
	for _, s := range w.snapshots.list(nil) {
		if s.VolumeID == id {
			return &ErrBadRequest{fmt.Sprintf("Invalid volume: Volume %s still has dependent snapshots.", id)}
		}
	}
	v.Status = "deleting"
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", id)
	w.transit(KindVolume, id, "deleting", func() {
		if v, ok := w.volumes.get(id); ok && v.Status == "deleting" {
			w.volumes.del(id)
			w.changed("volume", id)
		}
	})
	return nil
}

// ExtendVolume grows a volume: it is "extending", then "available" (or
// back "in-use") with the new size.
func (w *World) ExtendVolume(id string, newSize int, inUseAllowed bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(id)
	if !ok {
		return &ErrNotFound{"volume", id}
	}
	if v.Status != "available" && !(inUseAllowed && v.Status == "in-use") {
		return &ErrBadRequest{fmt.Sprintf("Invalid volume: Volume %s status must be available or in-use, but current status is: %s.", id, v.Status)}
	}
	if newSize <= v.Size {
		return &ErrBadRequest{fmt.Sprintf("Invalid input received: New size for extend must be greater than current size. (current: %d, extended: %d).", v.Size, newSize)}
	}
	back := v.Status
	v.Status = "extending"
	w.changed("volume", id)
	w.transit(KindVolume, id, "extending", func() {
		if v, ok := w.volumes.get(id); ok && v.Status == "extending" {
			v.Size, v.Status, v.UpdatedAt = newSize, back, w.now().UTC()
			w.changed("volume", id)
		}
	})
	return nil
}

// AttachVolume attaches an available volume to a server, as Nova's
// os-volume_attachments does: the volume is "attaching", then "in-use".
func (w *World) AttachVolume(serverID, volumeID, device string) (VolumeAttachment, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.servers.get(serverID)
	if !ok {
		return VolumeAttachment{}, &ErrNotFound{"server", serverID}
	}
	v, ok := w.volumes.get(volumeID)
	if !ok {
		return VolumeAttachment{}, &ErrNotFound{"volume", volumeID}
	}
	for _, a := range s.Attachments {
		if a.VolumeID == volumeID {
			return VolumeAttachment{}, &ErrConflict{fmt.Sprintf("volume %s is already attached to the instance", volumeID)}
		}
	}
	if v.Status != "available" && !(v.Multiattach && v.Status == "in-use") {
		return VolumeAttachment{}, &ErrBadRequest{fmt.Sprintf("Invalid volume: volume %s status must be 'available'. Currently in '%s'", volumeID, v.Status)}
	}
	if device == "" {
		device = fmt.Sprintf("/dev/sd%c", 'b'+len(s.Attachments))
	}
	a := VolumeAttachment{ID: volumeID, VolumeID: volumeID, ServerID: serverID, Device: device,
		AttachmentID: NewID(), Status: AttachStatusAttaching}
	// Nova records the attachment at once, and Cinder its attachment
	// (attaching); the volume shows it once the attach completes
	// (attached), with the volume in-use.
	s.Attachments = append(s.Attachments, a)
	v.Attachments = append(v.Attachments, a)
	v.Status = "attaching"
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", volumeID)
	w.changed("server", serverID)
	w.transit(KindVolume, volumeID, "attaching", func() {
		v, ok := w.volumes.get(volumeID)
		if !ok || v.Status != "attaching" {
			return
		}
		now := w.now().UTC()
		for i := range v.Attachments {
			if v.Attachments[i].AttachmentID == a.AttachmentID {
				v.Attachments[i].Status, v.Attachments[i].AttachedAt = AttachStatusAttached, now
			}
		}
		if s, ok := w.servers.get(serverID); ok {
			for i := range s.Attachments {
				if s.Attachments[i].AttachmentID == a.AttachmentID {
					s.Attachments[i].Status, s.Attachments[i].AttachedAt = AttachStatusAttached, now
				}
			}
		}
		v.Status, v.UpdatedAt = "in-use", now
		w.changed("volume", volumeID)
	})
	return a, nil
}

// DetachVolume detaches a volume from a server: "detaching", then
// "available" when no attachment is left.
func (w *World) DetachVolume(serverID, volumeID string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.servers.get(serverID)
	if !ok {
		return &ErrNotFound{"server", serverID}
	}
	v, ok := w.volumes.get(volumeID)
	if !ok {
		return &ErrNotFound{"volume", volumeID}
	}
	attached := false
	for _, a := range s.Attachments {
		attached = attached || a.VolumeID == volumeID
	}
	if !attached {
		return &ErrNotFound{"volume attachment", volumeID}
	}
	s.Attachments = removeAttachment(s.Attachments, volumeID, serverID)
	v.Status = "detaching"
	w.changed("server", serverID)
	w.changed("volume", volumeID)
	w.transit(KindVolume, volumeID, "detaching", func() {
		if v, ok := w.volumes.get(volumeID); ok && v.Status == "detaching" {
			w.detachVolume(v, serverID)
		}
	})
	return nil
}

// detachVolume drops a volume's attachment to a server at once.
func (w *World) detachVolume(v *Volume, serverID string) {
	v.Attachments = removeAttachment(v.Attachments, v.ID, serverID)
	if s, ok := w.servers.get(serverID); ok {
		s.Attachments = removeAttachment(s.Attachments, v.ID, serverID)
	}
	v.Status = "available"
	for _, a := range v.Attachments {
		if a.Attached() {
			v.Status = "in-use"
		}
	}
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", v.ID)
}

func removeAttachment(list []VolumeAttachment, volumeID, serverID string) []VolumeAttachment {
	out := list[:0:0]
	for _, a := range list {
		if a.VolumeID != volumeID || a.ServerID != serverID {
			out = append(out, a)
		}
	}
	return out
}

// CreateSnapshot snapshots a volume: "creating", then "available". An
// attached volume needs force.
func (w *World) CreateSnapshot(s Snapshot, force bool) (Snapshot, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(s.VolumeID)
	if !ok {
		return Snapshot{}, &ErrNotFound{"volume", s.VolumeID}
	}
	if v.Status != "available" && !(force && v.Status == "in-use") {
		return Snapshot{}, &ErrBadRequest{fmt.Sprintf("Invalid volume: Volume %s status must be available, but current status is: %s.", v.ID, v.Status)}
	}
	if s.ID == "" {
		s.ID = NewID()
	}
	if s.Metadata == nil {
		s.Metadata = map[string]string{}
	}
	s.Size, s.Status, s.ProjectID = v.Size, "creating", v.ProjectID
	s.CreatedAt, s.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.snapshots.put(s.ID, w.nextSeq(), &s)
	w.changed("snapshot", s.ID)
	id := s.ID
	w.transit(KindSnapshot, id, "creating", func() {
		if s, ok := w.snapshots.get(id); ok && s.Status == "creating" {
			s.Status, s.UpdatedAt = "available", w.now().UTC()
			w.changed("snapshot", id)
		}
	})
	return cloneSnapshot(&s), nil
}

// Snapshot returns a snapshot by id.
func (w *World) Snapshot(id string) (Snapshot, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s, ok := w.snapshots.get(id)
	if !ok {
		return Snapshot{}, &ErrNotFound{"snapshot", id}
	}
	return cloneSnapshot(s), nil
}

// Snapshots lists the snapshots keep selects.
func (w *World) Snapshots(keep func(*Snapshot) bool) []Snapshot {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.snapshots.list(keep)
	out := make([]Snapshot, len(list))
	for i, s := range list {
		out[i] = cloneSnapshot(s)
	}
	return out
}

// DeleteSnapshot starts deleting a snapshot; it is gone after the
// transition delay.
func (w *World) DeleteSnapshot(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.snapshots.get(id)
	if !ok {
		return &ErrNotFound{"snapshot", id}
	}
	if s.Status != "available" && s.Status != "error" {
		return &ErrBadRequest{fmt.Sprintf("Invalid snapshot: Snapshot status must be available or error (it is %s)", s.Status)}
	}
	s.Status = "deleting"
	w.changed("snapshot", id)
	w.transit(KindSnapshot, id, "deleting", func() {
		if s, ok := w.snapshots.get(id); ok && s.Status == "deleting" {
			w.snapshots.del(id)
			w.changed("snapshot", id)
		}
	})
	return nil
}

// VolumeAttachments lists Cinder's attachments of the volumes keep
// selects, in the volumes' order.
func (w *World) VolumeAttachments(keep func(*Volume) bool) []VolumeAttachment {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []VolumeAttachment
	for _, v := range w.volumes.list(keep) {
		out = append(out, v.Attachments...)
	}
	return out
}

// UpdateVolume changes a volume's name, description or metadata (nil
// leaves a field as it is; metadata replaces the volume's).
func (w *World) UpdateVolume(id string, name, description *string, metadata map[string]string) (Volume, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(id)
	if !ok {
		return Volume{}, &ErrNotFound{"volume", id}
	}
	if name != nil {
		v.Name = *name
	}
	if description != nil {
		v.Description = *description
	}
	if metadata != nil {
		v.Metadata = cloneMap(metadata)
	}
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", id)
	return cloneVolume(v), nil
}

// SetVolumeMetadata merges metadata into a volume's (replace: instead of
// it) and returns the volume's metadata after; an empty value string is
// a value like any other, as Cinder keeps it.
func (w *World) SetVolumeMetadata(id string, metadata map[string]string, replace bool) (map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(id)
	if !ok {
		return nil, &ErrNotFound{"volume", id}
	}
	if replace {
		v.Metadata = map[string]string{}
	}
	for k, val := range metadata {
		v.Metadata[k] = val
	}
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", id)
	return cloneMap(v.Metadata), nil
}

// DeleteVolumeMetadata removes a key of a volume's metadata.
func (w *World) DeleteVolumeMetadata(id, key string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	v, ok := w.volumes.get(id)
	if !ok {
		return &ErrNotFound{"volume", id}
	}
	if _, ok := v.Metadata[key]; !ok {
		return &ErrNotFound{"volume metadata", key}
	}
	delete(v.Metadata, key)
	v.UpdatedAt = w.now().UTC()
	w.changed("volume", id)
	return nil
}

// MetadataMatches reports whether metadata has every key and value of want
// (Cinder's metadata filter of volume and snapshot lists).
func MetadataMatches(metadata, want map[string]string) bool {
	for k, val := range want {
		if metadata[k] != val {
			return false
		}
	}
	return true
}

// AvailabilityZones lists the zones volumes and servers use, sorted.
func (w *World) AvailabilityZones() []string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	set := map[string]bool{"nova": true}
	for _, s := range w.servers.list(nil) {
		set[s.AvailabilityZone] = true
	}
	var out []string
	for z := range set {
		out = append(out, z)
	}
	sort.Strings(out)
	return out
}
