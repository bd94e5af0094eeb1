// Package images builds the container images of epks without a container
// engine: a static binary, a non-root user and a CA bundle in scratch
// layers, written as OCI image tarballs that `ctr images import` (and
// `docker load`) accept. The nodes import them from the offline bundle.
package images

// Names of the images, as the chart's defaults name them.
const (
	// DefaultRegistry is the registry in the images' names; image_registry
	// (make images REGISTRY=...) replaces it.
	DefaultRegistry = "ghcr.io"
	// DefaultTag is the tag the chart's defaults use (portTagger.image.tag).
	DefaultTag = "v0.1.0"
	// EPKS is the repository of the epks CLI image.
	EPKS = "epks/epks"
	// PortTagger is the repository of the port tagger image.
	PortTagger = "epks/epks-port-tagger"
)

// Reference joins a registry, a repository and a tag.
func Reference(registry, repository, tag string) string {
	return registry + "/" + repository + ":" + tag
}
