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
	mux.HandleFunc("GET /v2/images", get(g.list))
	mux.HandleFunc("POST /v2/images", g.create())
	mux.HandleFunc("GET /v2/images/{id}", get(g.get))
	mux.HandleFunc("DELETE /v2/images/{id}", g.delete())
	mux.HandleFunc("PUT /v2/images/{id}/file", g.upload())
	mux.HandleFunc("PUT /v2/images/{id}/tags/{tag}", g.tag(true))
	mux.HandleFunc("DELETE /v2/images/{id}/tags/{tag}", g.tag(false))
	mux.HandleFunc("GET /v2/schemas/images", get(schema))
	mux.HandleFunc("GET /v2/schemas/image", get(schema))
	outer := http.NewServeMux()
	outer.HandleFunc("GET /{$}", g.versions())
	outer.HandleFunc("GET /versions", g.versions())
	outer.Handle("/", tokenAuth(world, mux))
	return outer
}

type glance struct {
	world *model.World
	base  func() string
}

// get is a read: no body, 200.
func get(fn func(r *http.Request) (any, error)) http.HandlerFunc { return api.Get(api.Glance, fn) }

// handle is a write whose body is a Req (struct{}: none, or one fn reads).
func handle[Req any](status int, fn func(r *http.Request, req *Req) (any, error)) http.HandlerFunc {
	return api.Handle(api.Glance, status, fn)
}

func badRequest(format string, a ...any) error {
	return api.Errorf(http.StatusBadRequest, format, a...)
}

// tokenAuth refuses a request without a valid token as Glance does, in
// its plain text.
func tokenAuth(world *model.World, next http.Handler) http.Handler {
	inner := api.TokenAuth(world, api.Glance, next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := world.ValidateToken(r.Header.Get("X-Auth-Token")); err != nil {
			w.Header().Set("WWW-Authenticate", `Keystone uri="/v3"`)
			api.ErrorStatus(w, api.Glance, http.StatusUnauthorized, "This server could not verify that you are authorized to access the document you requested.")
			return
		}
		inner.ServeHTTP(w, r)
	})
}

// versions answers version discovery: 300, as Glance does.
func (g *glance) versions() http.HandlerFunc {
	return handle(http.StatusMultipleChoices, func(*http.Request, *struct{}) (any, error) {
		var out []any
		for i, v := range []string{"2.9", "2.8", "2.7", "2.6", "2.5", "2.4", "2.3", "2.2", "2.1", "2.0"} {
			status := "SUPPORTED"
			if i == 0 {
				status = "CURRENT"
			}
			out = append(out, map[string]any{"id": "v" + v, "status": status, "links": []any{map[string]any{"rel": "self", "href": g.base() + "/v2/"}}})
		}
		return map[string]any{"versions": out}, nil
	})
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

func (g *glance) list(r *http.Request) (any, error) {
	q := r.URL.Query()
	for _, key := range []string{"size_min", "size_max", "created_at", "updated_at"} {
		if q.Has(key) {
			return nil, badRequest("Filter %s is not supported by this simulator.", key)
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
		return nil, err
	}
	page, more, err := api.Page(imgs, func(i model.Image) string { return i.ID }, q.Get("marker"), limit)
	if err != nil {
		return nil, err
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
	return body, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// image finds the image of the path among those the caller sees.
func (g *glance) image(r *http.Request) (model.Image, error) {
	img, err := g.world.Image(r.PathValue("id"))
	if err != nil || !visible(r, &img) {
		return model.Image{}, api.Errorf(http.StatusNotFound, "No image found with ID %s", r.PathValue("id"))
	}
	return img, nil
}

func (g *glance) get(r *http.Request) (any, error) {
	img, err := g.image(r)
	if err != nil {
		return nil, err
	}
	return g.view(img), nil
}

var diskFormats = []string{"ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop"}
var containerFormats = []string{"ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"}

// create makes a queued image: 201 with its Location.
func (g *glance) create() http.HandlerFunc {
	return handle(http.StatusCreated, func(r *http.Request, q *map[string]any) (any, error) {
		body := *q
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
			return nil, badRequest("Invalid visibility value: %s", img.Visibility)
		}
		if img.DiskFormat != "" && !contains(diskFormats, img.DiskFormat) {
			return nil, badRequest("Invalid disk format '%s' for image.", img.DiskFormat)
		}
		if img.ContainerFormat != "" && !contains(containerFormats, img.ContainerFormat) {
			return nil, badRequest("Invalid container format '%s' for image.", img.ContainerFormat)
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
					return nil, badRequest("Provided object does not match schema 'image': %v is not of type 'string' (%s)", v, k)
				}
				img.Properties[k] = s
			}
		}
		if img.ID != "" {
			if _, err := g.world.Image(img.ID); err == nil {
				return nil, api.Errorf(http.StatusConflict, "Image with identifier %s already exists!", img.ID)
			}
		}
		created := g.world.CreateImage(img)
		return &api.Response{Header: http.Header{"Location": {g.base() + "/v2/images/" + created.ID}}, Body: g.view(created)}, nil
	})
}

// upload takes the image's data (not JSON: the body is read here): the
// image is active after.
func (g *glance) upload() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		img, err := g.image(r)
		if err != nil {
			return nil, err
		}
		if img.Status != "queued" {
			return nil, api.Errorf(http.StatusConflict, "Image status transition from %s to saving is not allowed", img.Status)
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			return nil, badRequest("%s", err)
		}
		return nil, g.world.ImageUploaded(img.ID, n)
	})
}

func (g *glance) tag(add bool) http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		img, err := g.image(r)
		if err != nil {
			return nil, err
		}
		return nil, g.world.TagImage(img.ID, r.PathValue("tag"), add)
	})
}

func (g *glance) delete() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		img, err := g.image(r)
		if err != nil {
			return nil, err
		}
		if img.ProjectID != api.TokenOf(r.Context()).ProjectID {
			return nil, api.Errorf(http.StatusForbidden, "You are not permitted to delete this image.")
		}
		return nil, g.world.DeleteImage(img.ID)
	})
}

func schema(*http.Request) (any, error) {
	return map[string]any{"name": "image", "additionalProperties": map[string]any{"type": "string"},
		"properties": map[string]any{"id": map[string]any{"type": "string"}, "name": map[string]any{"type": []any{"null", "string"}}}}, nil
}
