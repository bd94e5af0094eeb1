package podrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"

	"github.com/distribution/reference"
)

// versionWord is a word of --version output that is a version: v1.36.0,
// 4.2.0, v0.1.0-rc.1.
var versionWord = regexp.MustCompile(`^v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$`)

// ReportedVersion runs `path --version` and returns the version it prints:
// the one word of its output that is a version, as Kubernetes components
// ("Kubernetes v1.36.0"), cobra commands ("cinder-csi-plugin version
// v1.36.0"), the CSI sidecars ("csi-provisioner v6.4.0") and epks's own
// binaries ("epks-port-tagger v0.1.0") print it.
func ReportedVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w: %s", path, err, strings.TrimSpace(string(out)))
	}
	var found []string
	for _, w := range strings.Fields(string(out)) {
		if versionWord.MatchString(w) {
			found = append(found, w)
		}
	}
	if len(found) != 1 {
		return "", fmt.Errorf("%s --version printed %d versions, want one: %q", path, len(found), strings.TrimSpace(string(out)))
	}
	return found[0], nil
}

// ImageTag returns the tag of an image reference, or an error when it has
// none (a digest alone names no version to check).
func ImageTag(image string) (string, error) {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return "", fmt.Errorf("image %q: %w", image, err)
	}
	tagged, ok := named.(reference.Tagged)
	if !ok {
		return "", fmt.Errorf("image %s has no tag to check the binary's version against", image)
	}
	return tagged.Tag(), nil
}

// checkVersion checks that bin reports the version the image's tag names.
// A binary's version is asked once per path and modification time.
func (r *Runner) checkVersion(ctx context.Context, image string, bin Binary) error {
	tag, err := ImageTag(image)
	if err != nil {
		return err
	}
	st, err := os.Stat(bin.Path)
	if err != nil {
		return err
	}
	key := bin.Path + "@" + st.ModTime().String()
	r.versionsMu.Lock()
	v, ok := r.versions[key]
	r.versionsMu.Unlock()
	if !ok {
		if v, err = ReportedVersion(ctx, bin.Path); err != nil {
			return err
		}
		r.versionsMu.Lock()
		if r.versions == nil {
			r.versions = map[string]string{}
		}
		r.versions[key] = v
		r.versionsMu.Unlock()
	}
	if v != tag {
		return fmt.Errorf("image tag %s, but the binary %s reports version %s", tag, bin.Path, v)
	}
	return nil
}
