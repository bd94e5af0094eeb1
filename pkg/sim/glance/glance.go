// Package glance simulates the Image v2 API: image list (with Glance's
// filters and paging), show, create, upload, update of tags and delete.
package glance

import (
	"crypto/md5"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// Handler returns the Image API, rooted at "/" (version discovery) with
// the v2 API below "/v2"; base is its URL.
func Handler(world *model.World, base func() string) http.Handler {
	g := &glance{world: world, base: base}
	mux := api.NewMux(api.Glance)
	mux.HandleFunc("GET /v2/images", g.list)
	mux.HandleFunc("POST /v2/images", g.create)
	mux.HandleFunc("GET /v2/images/{id}", g.get)
	mux.HandleFunc("DELETE /v2/images/{id}", g.delete)
	mux.HandleFunc("PUT /v2/images/{id}/file", g.upload)
	mux.HandleFunc("PUT /v2/images/{id}/tags/{tag}", g.tag(true))
	mux.HandleFunc("DELETE /v2/images/{id}/tags/{tag}", g.tag(false))
	mux.HandleFunc("GET /v2/schemas/images", g.schema)
	mux.HandleFunc("GET /v2/schemas/image", g.schema)
	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", g.versions)
	outer.HandleFunc("GET /versions", g.versions)
	outer.Handle("/", tokenAuth(world, mux))
	return outer
}

type glance struct {
	world *model.World
	base  func() string
}

// Error writes an error as Glance (webob) does: a plain-text body that
// starts with the status line.
func Error(w http.ResponseWriter, status int, msg string) {
	api.ErrorStatus(w, api.Glance, status, msg)
}

func tokenAuth(world *model.World, next http.Handler) http.Handler {
	inner := api.TokenAuth(world, api.NovaCinder, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := world.ValidateToken(r.Header.Get("X-Auth-Token")); err != nil {
			w.Header().Set("WWW-Authenticate", `Keystone uri="/v3"`)
			Error(w, http.StatusUnauthorized, "This server could not verify that you are authorized to access the document you requested.")
			return
		}
		inner.ServeHTTP(w, r)
	})
}

func (g *glance) versions(w http.ResponseWriter, _ *http.Request) {
	var out []any
	for i, v := range []string{"2.9", "2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"} {
		status := "SUPPORTED"
		if i == 0 {
			status = "CURRENT"
		}
		out = append(out, map[string]any{"id": "v" + v, "status": status, "links": []any{map[string]any{"rel": "self", "href": g.base() + "/v2/"}}})
	}
	api.WriteJSON(w, http.StatusMultipleChoices, map[string]any{"versions": out})
}

func (g *glance) view(img model.Image) map[string]any {
	v := map[string]any{
		"id": img.ID, "name": nullable(img.Name), "status": img.Status, "visibility": img.Visibility, "protected": false,
		"os_hidden": false, "owner": img.ProjectID, "min_ram": img.MinRAM, "min_disk": img.MinDisk,
		"disk_format": nullable(img.DiskFormat), "container_format": nullable(img.ContainerFormat),
		"created_at": api.OpenStackTime(img.CreatedAt), "updated_at": api.OpenStackTime(img.UpdatedAt),
		"tags": append([]string{}, img.Tags...), "self": "/v2/images/" + img.ID, "file": "/v2/images/" + img.ID + "/file",
		"schema": "/v2/schemas/image", "virtual_size": nil, "size": nil, "checksum": nil, "os_hash_algo": nil, "os_hash_value": nil,
	}
	if img.Status == "active" {
		v["size"] = img.Size
		sum := md5.Sum([]byte(img.ID))
		h := sha512.Sum512([]byte(img.ID))
		v["checksum"], v["os_hash_algo"], v["os_hash_value"] = hex.EncodeToString(sum[:]), "sha512", hex.EncodeToString(h[:])
	}
	for k, val := range img.Properties {
		v[k] = val
	}
	return v
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// visible: public and community images, and the project's own.
func visible(r *http.Request, img *model.Image) bool {
	return img.Visibility == "public" || img.Visibility == "community" || img.ProjectID == api.TokenOf(r.Context()).ProjectID
}

// filters Glance answers; anything else is a property filter.
var nonFilters = map[string]bool{"limit": true, "marker": true, "sort": true, "sort_key": true, "sort_dir": true}

func (g *glance) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, key := range []string{"size_min", "size_max", "created_at", "updated_at"} {
		if q.Has(key) {
			Error(w, http.StatusBadRequest, fmt.Sprintf("Filter %s is not supported by this simulator.", key))
			return
		}
	}
	imgs := g.world.Images(func(img *model.Image) bool {
		if !visible(r, img) {
			return false
		}
		if vis := q.Get("visibility"); vis != "" && vis != "all" && img.Visibility != vis {
			return false
		}
		if q.Get("visibility") == "" && img.Visibility == "community" && img.ProjectID != api.TokenOf(r.Context()).ProjectID {
			return false // community images are listed only when asked for
		}
		for key, wants := range q {
			if nonFilters[key] || key == "visibility" {
				continue
			}
			want := wants[0]
			var got string
			switch key {
			case "name":
				got = img.Name
			case "status":
				got, want = img.Status, strings.ToLower(want)
			case "owner":
				got = img.ProjectID
			case "disk_format":
				got = img.DiskFormat
			case "container_format":
				got = img.ContainerFormat
			case "id":
				got = img.ID
			case "tag":
				found := false
				for _, t := range img.Tags {
					found = found || t == want
				}
				if !found {
					return false
				}
				continue
			case "os_hidden", "protected":
				got = "false"
			default:
				got = img.Properties[key]
			}
			if op, value, ok := strings.Cut(want, ":"); ok && op == "in" {
				if !contains(strings.Split(value, ","), got) {
					return false
				}
				continue
			}
			if got != want {
				return false
			}
		}
		return true
	})
	limit, err := api.Limit(r)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return
	}
	page, more, err := api.Page(imgs, func(i model.Image) string { return i.ID }, q.Get("marker"), limit)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return
	}
	out := []any{}
	for _, img := range page {
		out = append(out, g.view(img))
	}
	body := map[string]any{"images": out, "schema": "/v2/schemas/images", "first": "/v2/images"}
	if more {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("marker", page[len(page)-1].ID)
		body["next"] = "/v2/images?" + next.Encode()
	}
	api.WriteJSON(w, http.StatusOK, body)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (g *glance) image(w http.ResponseWriter, r *http.Request) (model.Image, bool) {
	img, err := g.world.Image(r.PathValue("id"))
	if err != nil || !visible(r, &img) {
		Error(w, http.StatusNotFound, fmt.Sprintf("No image found with ID %s", r.PathValue("id")))
		return model.Image{}, false
	}
	return img, true
}

func (g *glance) get(w http.ResponseWriter, r *http.Request) {
	if img, ok := g.image(w, r); ok {
		api.WriteJSON(w, http.StatusOK, g.view(img))
	}
}

var diskFormats = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
var containerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}

func (g *glance) create(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	if err := api.ReadJSON(r, &body); err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return
	}
	str := func(k string) string {
		s, _ := body[k].(string)
		return s
	}
	img := model.Image{ID: str("id"), Name: str("name"), Status: "queued", Visibility: str("visibility"),
		DiskFormat: str("disk_format"), ContainerFormat: str("container_format"), ProjectID: api.TokenOf(r.Context()).ProjectID,
		Properties: map[string]string{}}
	if img.Visibility == "" {
		img.Visibility = "shared"
	}
	if !contains([]string{"public", "private", "shared", "community"}, img.Visibility) {
		Error(w, http.StatusBadRequest, fmt.Sprintf("Invalid visibility value: %s", img.Visibility))
		return
	}
	if img.DiskFormat != "" && !contains(diskFormats, img.DiskFormat) {
		Error(w, http.StatusBadRequest, fmt.Sprintf("Invalid disk format '%s' for image.", img.DiskFormat))
		return
	}
	if img.ContainerFormat != "" && !contains(containerFormats, img.ContainerFormat) {
		Error(w, http.StatusBadRequest, fmt.Sprintf("Invalid container format '%s' for image.", img.ContainerFormat))
		return
	}
	if tags, ok := body["tags"].([]any); ok {
		for _, t := range tags {
			img.Tags = append(img.Tags, fmt.Sprint(t))
		}
	}
	for k, v := range body {
		switch k {
		case "id", "name", "visibility", "disk_format", "container_format", "tags", "protected", "min_disk", "min_ram", "os_hidden":
		default:
			s, ok := v.(string)
			if !ok {
				Error(w, http.StatusBadRequest, fmt.Sprintf("Provided object does not match schema 'image': %v is not of type 'string' (%s)", v, k))
				return
			}
			img.Properties[k] = s
		}
	}
	if img.ID != "" {
		if _, err := g.world.Image(img.ID); err == nil {
			Error(w, http.StatusConflict, fmt.Sprintf("Image with identifier %s already exists!", img.ID))
			return
		}
	}
	created := g.world.CreateImage(img)
	w.Header().Set("Location", g.base()+"/v2/images/"+created.ID)
	api.WriteJSON(w, http.StatusCreated, g.view(created))
}

func (g *glance) upload(w http.ResponseWriter, r *http.Request) {
	img, ok := g.image(w, r)
	if !ok {
		return
	}
	if img.Status != "queued" {
		Error(w, http.StatusConflict, "Image status transition from "+img.Status+" to saving is not allowed")
		return
	}
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := g.world.ImageUploaded(img.ID, n); err != nil {
		Error(w, api.StatusOf(err), err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (g *glance) tag(add bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		img, ok := g.image(w, r)
		if !ok {
			return
		}
		if err := g.world.TagImage(img.ID, r.PathValue("tag"), add); err != nil {
			Error(w, api.StatusOf(err), err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (g *glance) delete(w http.ResponseWriter, r *http.Request) {
	img, ok := g.image(w, r)
	if !ok {
		return
	}
	if img.ProjectID != api.TokenOf(r.Context()).ProjectID {
		Error(w, http.StatusForbidden, "You are not permitted to delete this image.")
		return
	}
	_ = g.world.DeleteImage(img.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (g *glance) schema(w http.ResponseWriter, _ *http.Request) {
	api.WriteJSON(w, http.StatusOK, map[string]any{"name": "image", "additionalProperties": map[string]any{"type": "string"},
		"properties": map[string]any{"id": map[string]any{"type": "string"}, "name": map[string]any{"type": []any{"null", "string"}}}})
}
