package model

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
)

// Image is a Glance image.
type Image struct {
	ID              string
	Name            string
	ProjectID       string
	Status          string // queued, active...
	Visibility      string // public, private, shared, community
	DiskFormat      string
	ContainerFormat string
	Size            int64
	MinDisk         int
	MinRAM          int
	Tags            []string
	Properties      map[string]string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// CreateImage adds an image; an image with no status is active (uploaded).
func (w *World) CreateImage(img Image) Image {
	w.mu.Lock()
	defer w.mu.Unlock()
	if img.ID == "" {
		img.ID = NewID()
	}
	if img.Status == "" {
		img.Status = "active"
	}
	if img.Visibility == "" {
		img.Visibility = "public"
	}
	if img.DiskFormat == "" {
		img.DiskFormat, img.ContainerFormat = "qcow2", "bare"
	}
	if img.Properties == nil {
		img.Properties = map[string]string{}
	}
	img.CreatedAt, img.UpdatedAt = w.now().UTC(), w.now().UTC()
	w.images.put(img.ID, w.nextSeq(), &img)
	w.changed("image", img.ID)
	return cloneImage(&img)
}

func cloneImage(i *Image) Image {
	c := *i
	c.Tags = append([]string(nil), i.Tags...)
	c.Properties = make(map[string]string, len(i.Properties))
	for k, v := range i.Properties {
		c.Properties[k] = v
	}
	return c
}

// Image returns an image by id.
func (w *World) Image(id string) (Image, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	i, ok := w.images.get(id)
	if !ok {
		return Image{}, &ErrNotFound{"image", id}
	}
	return cloneImage(i), nil
}

// Images lists the images keep selects.
func (w *World) Images(keep func(*Image) bool) []Image {
	w.mu.RLock()
	defer w.mu.RUnlock()
	list := w.images.list(keep)
	out := make([]Image, len(list))
	for i, img := range list {
		out[i] = cloneImage(img)
	}
	return out
}

// DeleteImage removes an image.
func (w *World) DeleteImage(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.images.get(id); !ok {
		return &ErrNotFound{"image", id}
	}
	w.images.del(id)
	w.changed("image", id)
	return nil
}

// KeyPair is a Nova key pair, owned by a user.
type KeyPair struct {
	Name        string
	UserID      string
	Type        string // ssh or x509
	PublicKey   string
	Fingerprint string
	// PrivateKey is set only in the answer to a create that generated it.
	PrivateKey string
	CreatedAt  time.Time
}

var keyPairName = regexp.MustCompile(`^[a-zA-Z0-9 _.@-]{1,255}$`)

// CreateKeyPair imports a public key, or generates a pair when PublicKey
// is empty (the private key is returned once).
func (w *World) CreateKeyPair(k KeyPair) (KeyPair, error) {
	if !keyPairName.MatchString(k.Name) {
		return KeyPair{}, &ErrBadRequest{"Keypair data is invalid: Keypair name contains unsafe characters"}
	}
	if k.Type == "" {
		k.Type = "ssh"
	}
	if k.PublicKey == "" {
		priv, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return KeyPair{}, err
		}
		pub, err := ssh.NewPublicKey(&priv.PublicKey)
		if err != nil {
			return KeyPair{}, err
		}
		k.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub))) + " Generated-by-Nova"
		k.PrivateKey = string(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}))
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(k.PublicKey))
	if err != nil {
		return KeyPair{}, &ErrBadRequest{"Keypair data is invalid: failed to generate fingerprint"}
	}
	sum := md5.Sum(pub.Marshal())
	hexes := make([]string, len(sum))
	for i, b := range sum {
		hexes[i] = fmt.Sprintf("%02x", b)
	}
	k.Fingerprint = strings.Join(hexes, ":")
	w.mu.Lock()
	defer w.mu.Unlock()
	key := k.UserID + "/" + k.Name
	if _, ok := w.keyPairs.get(key); ok {
		return KeyPair{}, &ErrConflict{fmt.Sprintf("Key pair '%s' already exists.", k.Name)}
	}
	if limit := w.quotasOf(w.projectOfUser(k.UserID), "compute")["key_pairs"]; limit >= 0 &&
		len(w.keyPairs.list(func(o *KeyPair) bool { return o.UserID == k.UserID })) >= limit {
		return KeyPair{}, &ErrOverQuota{Resources: []string{"key_pairs"}}
	}
	k.CreatedAt = w.now().UTC()
	stored := k
	stored.PrivateKey = ""
	w.keyPairs.put(key, w.nextSeq(), &stored)
	return k, nil
}

func (w *World) projectOfUser(userID string) string {
	if u, ok := w.users.get(userID); ok {
		return u.ProjectID
	}
	return ""
}

// KeyPair returns a user's key pair by name.
func (w *World) KeyPair(userID, name string) (KeyPair, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	k, ok := w.keyPairs.get(userID + "/" + name)
	if !ok {
		return KeyPair{}, &ErrNotFound{"keypair", name}
	}
	return *k, nil
}

// KeyPairs lists a user's key pairs.
func (w *World) KeyPairs(userID string) []KeyPair {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return values(w.keyPairs.list(func(k *KeyPair) bool { return k.UserID == userID }))
}

// DeleteKeyPair removes a user's key pair.
func (w *World) DeleteKeyPair(userID, name string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.keyPairs.get(userID + "/" + name); !ok {
		return &ErrNotFound{"keypair", name}
	}
	w.keyPairs.del(userID + "/" + name)
	return nil
}

// ServerGroup is a Nova server group.
type ServerGroup struct {
	ID        string
	Name      string
	ProjectID string
	UserID    string
	Policy    string // affinity, anti-affinity, soft-affinity, soft-anti-affinity
	Members   []string
}

// ServerGroupPolicies are the policies Nova accepts.
var ServerGroupPolicies = []string{"affinity", "anti-affinity", "soft-affinity", "soft-anti-affinity"}

// CreateServerGroup adds a server group.
func (w *World) CreateServerGroup(g ServerGroup) (ServerGroup, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ok := false
	for _, p := range ServerGroupPolicies {
		ok = ok || p == g.Policy
	}
	if !ok {
		return ServerGroup{}, &ErrBadRequest{fmt.Sprintf("Invalid input for field/attribute policy. Value: %s. '%s' is not one of %s", g.Policy, g.Policy, strings.Join(ServerGroupPolicies, ", "))}
	}
	if limit := w.quotasOf(g.ProjectID, "compute")["server_groups"]; limit >= 0 &&
		len(w.serverGroups.list(func(o *ServerGroup) bool { return o.ProjectID == g.ProjectID })) >= limit {
		return ServerGroup{}, &ErrOverQuota{Resources: []string{"server_groups"}}
	}
	g.ID = NewID()
	w.serverGroups.put(g.ID, w.nextSeq(), &g)
	return g, nil
}

// ServerGroup returns a server group by id.
func (w *World) ServerGroup(id string) (ServerGroup, error) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	g, ok := w.serverGroups.get(id)
	if !ok {
		return ServerGroup{}, &ErrNotFound{"server group", id}
	}
	c := *g
	c.Members = append([]string{}, g.Members...)
	return c, nil
}

// ServerGroups lists a project's server groups.
func (w *World) ServerGroups(projectID string) []ServerGroup {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var out []ServerGroup
	for _, g := range w.serverGroups.list(func(g *ServerGroup) bool { return g.ProjectID == projectID }) {
		c := *g
		c.Members = append([]string{}, g.Members...)
		out = append(out, c)
	}
	return out
}

// DeleteServerGroup removes a server group.
func (w *World) DeleteServerGroup(id string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.serverGroups.get(id); !ok {
		return &ErrNotFound{"server group", id}
	}
	w.serverGroups.del(id)
	return nil
}

// ComputeUsage counts a project's Nova resources by quota name.
func (w *World) ComputeUsage(projectID string) map[string]int {
	w.mu.RLock()
	defer w.mu.RUnlock()
	u := map[string]int{}
	for _, s := range w.servers.list(func(s *Server) bool { return s.ProjectID == projectID }) {
		u["instances"]++
		if f, ok := w.flavors.get(s.FlavorID); ok {
			u["cores"] += f.VCPUs
			u["ram"] += f.RAM
		}
	}
	u["server_groups"] = len(w.serverGroups.list(func(g *ServerGroup) bool { return g.ProjectID == projectID }))
	return u
}

// SetFlavorExtraSpecs adds or changes extra specs of a flavor.
func (w *World) SetFlavorExtraSpecs(id string, specs map[string]string) (map[string]string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	f, ok := w.flavors.get(id)
	if !ok {
		return nil, &ErrNotFound{"flavor", id}
	}
	if f.ExtraSpecs == nil {
		f.ExtraSpecs = map[string]string{}
	}
	for k, v := range specs {
		f.ExtraSpecs[k] = v
	}
	out := map[string]string{}
	for k, v := range f.ExtraSpecs {
		out[k] = v
	}
	return out, nil
}

// ImageUploaded makes a queued image active with its data's size.
func (w *World) ImageUploaded(id string, size int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	img, ok := w.images.get(id)
	if !ok {
		return &ErrNotFound{"image", id}
	}
	img.Status, img.Size, img.UpdatedAt = "active", size, w.now().UTC()
	w.changed("image", id)
	return nil
}

// TagImage adds or removes a tag of an image.
func (w *World) TagImage(id, tag string, add bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	img, ok := w.images.get(id)
	if !ok {
		return &ErrNotFound{"image", id}
	}
	var out []string
	for _, t := range img.Tags {
		if t != tag {
			out = append(out, t)
		}
	}
	if add {
		out = append(out, tag)
	} else if len(out) == len(img.Tags) {
		return &ErrNotFound{"tag", tag}
	}
	img.Tags, img.UpdatedAt = out, w.now().UTC()
	return nil
}
