// Package names holds, in one place, the names epks gives what it ships and
// installs: the Helm release and its namespace, the registry and
// repositories of its images, and the version of its binaries, which is the
// tag of its images.
package names

const (
	// Release is the name of the Helm release of the add-ons; every object
	// name of the chart starts with it.
	Release = "epks-addons"
	// Namespace is where the release lives unless the parameters' namespace
	// or --namespace say otherwise.
	Namespace = "epks-system"
	// Registry is the registry in the images' names; image_registry (make
	// images REGISTRY=...) replaces it.
	Registry = "ghcr.io"
	// EPKSRepository is the repository of the epks CLI image.
	EPKSRepository = "epks/epks"
	// PortTaggerRepository is the repository of the port tagger image.
	PortTaggerRepository = "epks/epks-port-tagger"
)

// Version is the version of epks's binaries and the tag of its images (the
// chart's defaults name the same tag). `make images` sets it with
// -ldflags "-X github.com/epks/epks/pkg/names.Version=v1.2.3".
var Version = "v0.1.0"

// Image joins a registry, a repository and a tag.
func Image(registry, repository, tag string) string {
	return registry + "/" + repository + ":" + tag
}
