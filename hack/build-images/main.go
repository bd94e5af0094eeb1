// Command build-images builds the images of images/*.yaml without a container
// engine and writes them as OCI image tarballs (see images/README.md).
//
// Usage: go run ./hack/build-images [-version v0.1.0] [-registry ghcr.io] [-out _output/images]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/epks/epks/pkg/images"
	"github.com/epks/epks/pkg/names"
)

func main() {
	o := images.Options{}
	var out, caFile string
	flag.StringVar(&o.Version, "version", envOr("VERSION", names.Version), "tag of the images and version of the binaries")
	flag.StringVar(&o.Registry, "registry", envOr("REGISTRY", names.Registry), "registry in the image names")
	flag.StringVar(&out, "out", envOr("IMAGES_DIR", "_output/images"), "directory of the tarballs")
	flag.StringVar(&caFile, "ca-bundle", "/etc/ssl/certs/ca-certificates.crt", "CA bundle the images trust")
	flag.StringVar(&o.GOARCH, "arch", envOr("GOARCH", "amd64"), "architecture of the binaries")
	flag.Parse()
	if err := run(o, out, caFile); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(o images.Options, out, caFile string) error {
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return fmt.Errorf("reading the CA bundle (install ca-certificates, or pass -ca-bundle): %w", err)
	}
	o.CABundle = ca
	o.Revision = images.Revision(".")
	o.Created, err = images.Created(".")
	if err != nil {
		return err
	}
	built, err := images.BuildAll(context.Background(), ".", "images", out, o)
	if err != nil {
		return err
	}
	for _, b := range built {
		fmt.Printf("%s  %s  %s\n", b.Path, b.Ref, b.Digest)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
