package nova

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/epks/epks/pkg/sim/api"
	"github.com/epks/epks/pkg/sim/model"
)

// MaxUserData is Nova's limit on user_data, base64-encoded.
const MaxUserData = 65535

func (n *nova) computeRoutes(mux *api.Mux) {
	mux.HandleFunc("GET /os-keypairs", get(n.listKeyPairs))
	mux.HandleFunc("POST /os-keypairs", n.createKeyPair())
	mux.HandleFunc("GET /os-keypairs/{name}", get(n.getKeyPair))
	mux.HandleFunc("DELETE /os-keypairs/{name}", n.deleteKeyPair())
	mux.HandleFunc("GET /os-server-groups", get(n.listServerGroups))
	mux.HandleFunc("POST /os-server-groups", n.createServerGroup())
	mux.HandleFunc("GET /os-server-groups/{id}", get(n.getServerGroup))
	mux.HandleFunc("DELETE /os-server-groups/{id}", n.deleteServerGroup())
	mux.HandleFunc("GET /flavors/{id}/os-extra_specs", get(n.extraSpecs))
	mux.HandleFunc("POST /flavors/{id}/os-extra_specs", n.setExtraSpecs())
	mux.HandleFunc("GET /os-quota-sets/{project}", get(n.quotaSet))
	mux.HandleFunc("GET /os-quota-sets/{project}/detail", get(n.quotaSet))
	mux.HandleFunc("GET /os-quota-sets/{project}/defaults", get(n.quotaSet))
	mux.HandleFunc("PUT /os-quota-sets/{project}", n.updateQuotaSet())
	mux.HandleFunc("GET /limits", get(n.limits))
	mux.HandleFunc("GET /servers/{id}/metadata", get(n.metadata))
	mux.HandleFunc("POST /servers/{id}/metadata", n.setMetadata(false))
	mux.HandleFunc("PUT /servers/{id}/metadata", n.setMetadata(true))
	mux.HandleFunc("GET /servers/{id}/metadata/{key}", get(n.metadataItem))
	mux.HandleFunc("PUT /servers/{id}/metadata/{key}", n.setMetadataItem())
	mux.HandleFunc("DELETE /servers/{id}/metadata/{key}", n.deleteMetadataItem())
	mux.HandleFunc("GET /servers/{id}/tags", get(n.tags))
	mux.HandleFunc("PUT /servers/{id}/tags", n.setTags())
	mux.HandleFunc("DELETE /servers/{id}/tags", n.deleteTags())
	mux.HandleFunc("GET /servers/{id}/tags/{tag}", n.checkTag())
	mux.HandleFunc("PUT /servers/{id}/tags/{tag}", n.addTag())
	mux.HandleFunc("DELETE /servers/{id}/tags/{tag}", n.deleteTag())
}

func specs(f model.Flavor) map[string]string {
	out := map[string]string{}
	for k, v := range f.ExtraSpecs {
		out[k] = v
	}
	return out
}

func configDrive(s model.Server) string {
	if s.ConfigDrive {
		return "True"
	}
	return ""
}

func powerState(s model.Server) int {
	if s.Status == "ACTIVE" {
		return 1
	}
	return 0
}

func taskState(s model.Server) any {
	if s.Status == "BUILD" {
		return "spawning"
	}
	return nil
}

func vmState(s model.Server) string {
	if s.Status == "BUILD" {
		return "building"
	}
	return strings.ToLower(s.Status)
}

func badRequest(format string, args ...any) error {
	return &model.ErrBadRequest{Message: fmt.Sprintf(format, args...)}
}

// forbidden is Nova's 403 for a request over quota.
type forbidden struct{ msg string }

func (e *forbidden) Error() string   { return e.msg }
func (e *forbidden) HTTPStatus() int { return http.StatusForbidden }

// checkCreate validates a server create as Nova's API does before it
// schedules: the networks (uuid, port, fixed_ip; "auto" and "none"), the
// image, the key pair, user data, config drive, the server group and the
// quotas, and fills spec.
func (n *nova) checkCreate(r *http.Request, spec *model.Server, networks json.RawMessage, drive any, userData *string) ([]model.NIC, error) {
	var nics []model.NIC
	if len(networks) > 0 {
		var word string
		if json.Unmarshal(networks, &word) == nil {
			if word != "auto" && word != "none" {
				return nil, badRequest("Invalid input for field/attribute networks. Value: %s. %q is not one of ['auto', 'none']", word, word)
			}
			if word == "auto" {
				for _, net := range n.world.Networks(func(x *model.Network) bool { return x.ProjectID == spec.ProjectID && !x.External }) {
					nics = append(nics, model.NIC{NetworkID: net.ID})
					break
				}
			}
		} else {
			var list []struct {
				UUID    string `json:"uuid"`
				Port    string `json:"port"`
				FixedIP string `json:"fixed_ip"`
			}
			if err := json.Unmarshal(networks, &list); err != nil {
				return nil, badRequest("Invalid input for field/attribute networks. %v", err)
			}
			for _, net := range list {
				switch {
				case net.Port != "":
					p, err := n.world.Port(net.Port)
					if err != nil || p.ProjectID != spec.ProjectID {
						return nil, badRequest("Port %s could not be found.", net.Port)
					}
					nics = append(nics, model.NIC{PortID: net.Port})
				case net.UUID != "":
					if _, err := n.world.Network(net.UUID); err != nil {
						return nil, badRequest("Network %s could not be found.", net.UUID)
					}
					nics = append(nics, model.NIC{NetworkID: net.UUID, FixedIP: net.FixedIP})
				default:
					return nil, badRequest("Invalid input for field/attribute networks: uuid or port is required.")
				}
			}
		}
	}
	if spec.ImageID == "" {
		return nil, badRequest("Missing imageRef attribute")
	}
	if img, err := n.world.Image(spec.ImageID); err != nil {
		return nil, badRequest("Image %s could not be found.", spec.ImageID)
	} else if img.Status != "active" {
		return nil, badRequest("Image %s is not active.", spec.ImageID)
	}
	if spec.FlavorID == "" {
		return nil, badRequest("Missing flavorRef attribute.")
	}
	flavor, err := n.world.Flavor(spec.FlavorID)
	if err != nil {
		return nil, badRequest("Flavor %s could not be found.", spec.FlavorID)
	}
	if spec.KeyName != "" {
		if _, err := n.world.KeyPair(spec.UserID, spec.KeyName); err != nil {
			return nil, badRequest("Invalid key_name provided.")
		}
	}
	if userData != nil && *userData != "" {
		if len(*userData) > MaxUserData {
			return nil, badRequest("User data too large. User data must be no larger than %d bytes once base64 encoded. Your data is %d bytes", MaxUserData, len(*userData))
		}
		if _, err := base64.StdEncoding.DecodeString(*userData); err != nil {
			return nil, badRequest("Invalid input for field/attribute user_data. Value: %.20s... is not a base64 string.", *userData)
		}
		spec.UserData = *userData
	}
	switch v := drive.(type) {
	case nil:
	case bool:
		spec.ConfigDrive = v
	case string:
		switch strings.ToLower(v) {
		case "true", "1", "yes", "on":
			spec.ConfigDrive = true
		case "false", "0", "no", "off", "":
		default:
			return nil, badRequest("Invalid input for field/attribute config_drive. Value: %s.", v)
		}
	default:
		return nil, badRequest("Invalid input for field/attribute config_drive. Value: %v.", v)
	}
	if spec.ServerGroupID != "" {
		g, err := n.world.ServerGroup(spec.ServerGroupID)
		if err != nil || g.ProjectID != spec.ProjectID {
			return nil, badRequest("Invalid input for field/attribute group. Value: %s.", spec.ServerGroupID)
		}
		if limit := n.world.Quotas(spec.ProjectID, "compute")["server_group_members"]; limit >= 0 && len(g.Members) >= limit {
			return nil, &forbidden{"Quota exceeded, too many servers in group"}
		}
	}
	if len(spec.Metadata) > n.world.Quotas(spec.ProjectID, "compute")["metadata_items"] {
		return nil, &forbidden{"Quota exceeded for metadata_items"}
	}
	limits, used := n.world.Quotas(spec.ProjectID, "compute"), n.world.ComputeUsage(spec.ProjectID)
	for _, c := range []struct {
		res  string
		want int
	}{{"instances", 1}, {"cores", flavor.VCPUs}, {"ram", flavor.RAM}} {
		if l := limits[c.res]; l >= 0 && used[c.res]+c.want > l {
			return nil, &forbidden{fmt.Sprintf("Quota exceeded for %s: Requested %d, but already used %d of %d %s", c.res, c.want, used[c.res], l, c.res)}
		}
	}
	if spec.AvailabilityZone != "" {
		found := false
		for _, z := range n.world.AvailabilityZones() {
			found = found || z == spec.AvailabilityZone
		}
		if !found {
			return nil, badRequest("The requested availability zone is not available")
		}
	}
	return nics, nil
}

func (n *nova) user(r *http.Request) string { return api.TokenOf(r.Context()).UserID }

func keyPairView(k model.KeyPair, full bool) map[string]any {
	v := map[string]any{"name": k.Name, "public_key": k.PublicKey, "fingerprint": k.Fingerprint, "type": k.Type}
	if full {
		v["user_id"], v["id"], v["deleted"], v["deleted_at"], v["updated_at"] = k.UserID, 1, false, nil, nil
		v["created_at"] = k.CreatedAt.Format("2006-01-02T15:04:05.000000")
	}
	if k.PrivateKey != "" {
		v["private_key"] = k.PrivateKey
	}
	return v
}

func (n *nova) listKeyPairs(r *http.Request) (any, error) {
	out := []any{}
	for _, k := range n.world.KeyPairs(n.user(r)) {
		out = append(out, map[string]any{"keypair": keyPairView(k, false)})
	}
	return map[string]any{"keypairs": out}, nil
}

// createKeyPair imports or generates a key pair: 200 before microversion
// 2.2, 201 from it.
func (n *nova) createKeyPair() http.HandlerFunc {
	type req struct {
		KeyPair struct {
			Name      string `json:"name"`
			PublicKey string `json:"public_key"`
			Type      string `json:"type"`
		} `json:"keypair"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		if q.KeyPair.Type != "" && q.KeyPair.Type != "ssh" && q.KeyPair.Type != "x509" {
			return nil, badRequest("Invalid input for field/attribute type. Value: %s.", q.KeyPair.Type)
		}
		k, err := n.world.CreateKeyPair(model.KeyPair{Name: q.KeyPair.Name, PublicKey: q.KeyPair.PublicKey, Type: q.KeyPair.Type, UserID: n.user(r)})
		if err != nil {
			return nil, err
		}
		v := keyPairView(k, false)
		v["user_id"] = k.UserID
		out := &api.Response{Body: map[string]any{"keypair": v}}
		if microversion(r) >= 2 {
			out.Status = http.StatusCreated
		}
		return out, nil
	})
}

// keyPair finds the caller's key pair of the path.
func (n *nova) keyPair(r *http.Request) (model.KeyPair, error) {
	k, err := n.world.KeyPair(n.user(r), r.PathValue("name"))
	if err != nil {
		return model.KeyPair{}, api.Errorf(http.StatusNotFound, "Keypair %s not found for user %s", r.PathValue("name"), n.user(r))
	}
	return k, nil
}

func (n *nova) getKeyPair(r *http.Request) (any, error) {
	k, err := n.keyPair(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"keypair": keyPairView(k, true)}, nil
}

// deleteKeyPair answers 202 before microversion 2.2, 204 from it.
func (n *nova) deleteKeyPair() http.HandlerFunc {
	return handle(http.StatusAccepted, func(r *http.Request, _ *struct{}) (any, error) {
		k, err := n.keyPair(r)
		if err != nil {
			return nil, err
		}
		if err := n.world.DeleteKeyPair(k.UserID, k.Name); err != nil {
			return nil, err
		}
		if microversion(r) >= 2 {
			return &api.Response{Status: http.StatusNoContent}, nil
		}
		return nil, nil
	})
}

func groupView(r *http.Request, g model.ServerGroup) map[string]any {
	v := map[string]any{"id": g.ID, "name": g.Name, "members": g.Members, "metadata": map[string]any{}}
	if microversion(r) >= 13 {
		v["project_id"], v["user_id"] = g.ProjectID, g.UserID
	}
	if microversion(r) >= 64 {
		v["policy"], v["rules"] = g.Policy, map[string]any{}
		delete(v, "metadata")
	} else {
		v["policies"] = []string{g.Policy}
	}
	return v
}

func (n *nova) listServerGroups(r *http.Request) (any, error) {
	out := []any{}
	for _, g := range n.world.ServerGroups(api.TokenOf(r.Context()).ProjectID) {
		out = append(out, groupView(r, g))
	}
	return map[string]any{"server_groups": out}, nil
}

func (n *nova) createServerGroup() http.HandlerFunc {
	type req struct {
		ServerGroup struct {
			Name     string   `json:"name"`
			Policies []string `json:"policies"`
			Policy   string   `json:"policy"`
		} `json:"server_group"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		b := q.ServerGroup
		if b.Name == "" {
			return nil, badRequest("Invalid input for field/attribute name.")
		}
		policy := b.Policy
		if microversion(r) < 64 {
			if len(b.Policies) != 1 || b.Policy != "" {
				return nil, badRequest("Invalid input for field/attribute policies.")
			}
			policy = b.Policies[0]
		} else if len(b.Policies) > 0 {
			return nil, badRequest("Additional properties are not allowed ('policies' was unexpected)")
		}
		tok := api.TokenOf(r.Context())
		g, err := n.world.CreateServerGroup(model.ServerGroup{Name: b.Name, Policy: policy, ProjectID: tok.ProjectID, UserID: tok.UserID})
		if err != nil {
			var over *model.ErrOverQuota
			if errorsAs(err, &over) {
				return nil, &forbidden{"Quota exceeded, too many server groups."}
			}
			return nil, err
		}
		return map[string]any{"server_group": groupView(r, g)}, nil
	})
}

// group finds the server group of the path in the token's project.
func (n *nova) group(r *http.Request) (model.ServerGroup, error) {
	g, err := n.world.ServerGroup(r.PathValue("id"))
	if err != nil || g.ProjectID != api.TokenOf(r.Context()).ProjectID {
		return model.ServerGroup{}, api.Errorf(http.StatusNotFound, "Instance group %s could not be found.", r.PathValue("id"))
	}
	return g, nil
}

func (n *nova) getServerGroup(r *http.Request) (any, error) {
	g, err := n.group(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"server_group": groupView(r, g)}, nil
}

func (n *nova) deleteServerGroup() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		g, err := n.group(r)
		if err != nil {
			return nil, err
		}
		return nil, n.world.DeleteServerGroup(g.ID)
	})
}

func (n *nova) extraSpecs(r *http.Request) (any, error) {
	f, err := n.flavor(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"extra_specs": specs(f)}, nil
}

func (n *nova) setExtraSpecs() http.HandlerFunc {
	type req struct {
		ExtraSpecs map[string]string `json:"extra_specs"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		out, err := n.world.SetFlavorExtraSpecs(r.PathValue("id"), q.ExtraSpecs)
		if err != nil {
			return nil, err
		}
		return map[string]any{"extra_specs": out}, nil
	})
}

func (n *nova) quotaSet(r *http.Request) (any, error) {
	project := r.PathValue("project")
	limits := n.world.Quotas(project, "compute")
	set := map[string]any{"id": project}
	switch {
	case strings.HasSuffix(r.URL.Path, "/defaults"):
		for k, v := range model.QuotaDefaults("compute") {
			set[k] = v
		}
	case strings.HasSuffix(r.URL.Path, "/detail"):
		used := n.world.ComputeUsage(project)
		used["key_pairs"] = len(n.world.KeyPairs(n.user(r)))
		for k, v := range limits {
			set[k] = map[string]any{"limit": v, "in_use": used[k], "reserved": 0}
		}
	default:
		for k, v := range limits {
			set[k] = v
		}
	}
	return map[string]any{"quota_set": set}, nil
}

func (n *nova) updateQuotaSet() http.HandlerFunc {
	type req struct {
		QuotaSet map[string]any `json:"quota_set"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		limits := map[string]int{}
		for k, v := range q.QuotaSet {
			if k == "force" {
				continue
			}
			var i int
			if _, err := fmt.Sscan(fmt.Sprint(v), &i); err != nil {
				return nil, badRequest("Invalid input for field/attribute %s. Value: %v.", k, v)
			}
			limits[k] = i
		}
		out, err := n.world.SetQuotas(r.PathValue("project"), "compute", limits)
		if err != nil {
			return nil, err
		}
		set := map[string]any{}
		for k, v := range out {
			set[k] = v
		}
		return map[string]any{"quota_set": set}, nil
	})
}

func (n *nova) limits(r *http.Request) (any, error) {
	project := api.TokenOf(r.Context()).ProjectID
	l, u := n.world.Quotas(project, "compute"), n.world.ComputeUsage(project)
	return map[string]any{"limits": map[string]any{"rate": []any{}, "absolute": map[string]any{
		"maxTotalInstances": l["instances"], "maxTotalCores": l["cores"], "maxTotalRAMSize": l["ram"],
		"maxTotalKeypairs": l["key_pairs"], "maxServerMeta": l["metadata_items"], "maxServerGroups": l["server_groups"],
		"maxServerGroupMembers": l["server_group_members"], "maxPersonality": l["injected_files"],
		"maxPersonalitySize": l["injected_file_content_bytes"], "maxImageMeta": l["metadata_items"],
		"totalInstancesUsed": u["instances"], "totalCoresUsed": u["cores"], "totalRAMUsed": u["ram"],
		"totalServerGroupsUsed": u["server_groups"], "maxSecurityGroups": -1, "maxSecurityGroupRules": -1,
		"maxTotalFloatingIps": -1, "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0,
	}}}, nil
}

func (n *nova) metadata(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"metadata": s.Metadata}, nil
}

// setMetadata merges (POST) or replaces (PUT) a server's metadata.
func (n *nova) setMetadata(replace bool) http.HandlerFunc {
	type req struct {
		Metadata map[string]string `json:"metadata"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		if q.Metadata == nil {
			return nil, badRequest("Malformed request body: metadata is required")
		}
		limit := n.world.Quotas(s.ProjectID, "compute")["metadata_items"]
		out, err := n.world.UpdateServer(s.ID, func(s *model.Server) error {
			if replace {
				s.Metadata = map[string]string{}
			}
			for k, v := range q.Metadata {
				if k == "" || len(k) > 255 || len(v) > 255 {
					return badRequest("Invalid input for field/attribute metadata.")
				}
				s.Metadata[k] = v
			}
			if limit >= 0 && len(s.Metadata) > limit {
				return &forbidden{"Quota exceeded for metadata_items"}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		return map[string]any{"metadata": out.Metadata}, nil
	})
}

func errMetadataItem() error { return api.Errorf(http.StatusNotFound, "Metadata item was not found") }

func (n *nova) metadataItem(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	v, found := s.Metadata[r.PathValue("key")]
	if !found {
		return nil, errMetadataItem()
	}
	return map[string]any{"meta": map[string]string{r.PathValue("key"): v}}, nil
}

func (n *nova) setMetadataItem() http.HandlerFunc {
	type req struct {
		Meta map[string]string `json:"meta"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		key := r.PathValue("key")
		v, found := q.Meta[key]
		if !found || len(q.Meta) != 1 {
			return nil, badRequest("Request body and URI mismatch")
		}
		_, err = n.world.UpdateServer(s.ID, func(s *model.Server) error { s.Metadata[key] = v; return nil })
		return map[string]any{"meta": map[string]string{key: v}}, err
	})
}

func (n *nova) deleteMetadataItem() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		key := r.PathValue("key")
		if _, found := s.Metadata[key]; !found {
			return nil, errMetadataItem()
		}
		_, err = n.world.UpdateServer(s.ID, func(s *model.Server) error { delete(s.Metadata, key); return nil })
		return nil, err
	})
}

// Nova's limits on server tags.
const maxTags = 50

func (n *nova) tags(r *http.Request) (any, error) {
	s, err := n.server(r)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": append([]string{}, s.Tags...)}, nil
}

func cleanTags(tags []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, t := range tags {
		if t == "" || len(t) > 60 || strings.ContainsAny(t, ",/") {
			return nil, badRequest("Invalid input for field/attribute tags. Value: %s.", t)
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, badRequest("The number of tags exceeded the per-server limit %d", maxTags)
	}
	sort.Strings(out)
	return out, nil
}

func (n *nova) setTags() http.HandlerFunc {
	type req struct {
		Tags []string `json:"tags"`
	}
	return handle(http.StatusOK, func(r *http.Request, q *req) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		tags, err := cleanTags(q.Tags)
		if err != nil {
			return nil, err
		}
		_, err = n.world.UpdateServer(s.ID, func(s *model.Server) error { s.Tags = tags; return nil })
		return map[string]any{"tags": append([]string{}, tags...)}, err
	})
}

func (n *nova) deleteTags() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		s, err := n.server(r)
		if err != nil {
			return nil, err
		}
		_, err = n.world.UpdateServer(s.ID, func(s *model.Server) error { s.Tags = nil; return nil })
		return nil, err
	})
}

// tagged finds the server of the path and whether it has the path's tag.
func (n *nova) tagged(r *http.Request) (model.Server, bool, error) {
	s, err := n.server(r)
	if err != nil {
		return s, false, err
	}
	return s, slices.Contains(s.Tags, r.PathValue("tag")), nil
}

func errNoTag(r *http.Request) error {
	return api.Errorf(http.StatusNotFound, "Tag '%s' could not be found for instance %s.", r.PathValue("tag"), r.PathValue("id"))
}

// checkTag answers 204 when the server has the tag.
func (n *nova) checkTag() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		_, has, err := n.tagged(r)
		if err == nil && !has {
			err = errNoTag(r)
		}
		return nil, err
	})
}

// addTag adds a tag: 201 with its Location when new, 204 when the server
// had it.
func (n *nova) addTag() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		s, has, err := n.tagged(r)
		if err != nil {
			return nil, err
		}
		tag := r.PathValue("tag")
		tags, err := cleanTags(append(append([]string{}, s.Tags...), tag))
		if err != nil {
			return nil, err
		}
		if _, err := n.world.UpdateServer(s.ID, func(s *model.Server) error { s.Tags = tags; return nil }); err != nil {
			return nil, err
		}
		if has {
			return nil, nil
		}
		return &api.Response{Status: http.StatusCreated, Header: http.Header{"Location": {n.base() + "/servers/" + s.ID + "/tags/" + tag}}}, nil
	})
}

func (n *nova) deleteTag() http.HandlerFunc {
	return handle(http.StatusNoContent, func(r *http.Request, _ *struct{}) (any, error) {
		s, has, err := n.tagged(r)
		if err != nil {
			return nil, err
		}
		if !has {
			return nil, errNoTag(r)
		}
		_, err = n.world.UpdateServer(s.ID, func(s *model.Server) error {
			s.Tags = slices.DeleteFunc(slices.Clone(s.Tags), func(t string) bool { return t == r.PathValue("tag") })
			return nil
		})
		return nil, err
	})
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
