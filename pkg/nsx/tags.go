package nsx

// Tag is an NSX tag.
type Tag struct {
	Scope string `json:"scope"`
	Tag   string `json:"tag"`
}

// TagsOf reads the tags of a raw NSX object.
func TagsOf(raw map[string]any) []Tag {
	list, _ := raw["tags"].([]any)
	out := make([]Tag, 0, len(list))
	for _, t := range list {
		m, ok := t.(map[string]any)
		if !ok {
			continue
		}
		scope, _ := m["scope"].(string)
		tag, _ := m["tag"].(string)
		out = append(out, Tag{Scope: scope, Tag: tag})
	}
	return out
}

// TagsJSON is tags as a raw NSX value.
func TagsJSON(tags []Tag) []any {
	out := make([]any, len(tags))
	for i, t := range tags {
		out[i] = map[string]any{"scope": t.Scope, "tag": t.Tag}
	}
	return out
}

// SetScopes gives each scope of want exactly one tag with its value: stale
// values are replaced, duplicates of those scopes removed, missing ones
// added at the end. Every other tag stays as it was, in its place. changed
// reports whether the result differs from tags.
func SetScopes(tags []Tag, want map[string]string, order ...string) ([]Tag, bool) {
	out := make([]Tag, 0, len(tags)+len(want))
	done := map[string]bool{}
	changed := false
	for _, t := range tags {
		v, ours := want[t.Scope]
		if !ours {
			out = append(out, t)
			continue
		}
		if done[t.Scope] {
			changed = true // a duplicate of our scope
			continue
		}
		done[t.Scope] = true
		if t.Tag != v {
			changed = true
		}
		out = append(out, Tag{Scope: t.Scope, Tag: v})
	}
	if len(order) == 0 {
		for s := range want {
			order = append(order, s)
		}
	}
	for _, s := range order {
		if v, ok := want[s]; ok && !done[s] {
			out = append(out, Tag{Scope: s, Tag: v})
			done[s] = true
			changed = true
		}
	}
	return out, changed
}

// RemoveScopes drops every tag of the scopes; changed reports whether any
// was there.
func RemoveScopes(tags []Tag, scopes ...string) ([]Tag, bool) {
	drop := map[string]bool{}
	for _, s := range scopes {
		drop[s] = true
	}
	out := make([]Tag, 0, len(tags))
	for _, t := range tags {
		if !drop[t.Scope] {
			out = append(out, t)
		}
	}
	return out, len(out) != len(tags)
}

// Value returns the value of the first tag of a scope.
func Value(tags []Tag, scope string) (string, bool) {
	for _, t := range tags {
		if t.Scope == scope {
			return t.Tag, true
		}
	}
	return "", false
}
