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
	"os/exec"
	"strconv"
	"strings"
	"time"

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
	o.Revision = git("rev-parse", "HEAD")
	o.Created, err = created()
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

// created is SOURCE_DATE_EPOCH, else the time of the last commit, else the
// epoch: never the time of the build, so that builds repeat.
func created() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		s = git("log", "-1", "--format=%ct")
	}
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func git(args ...string) string {
	out, err := exec.Command("git", args...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
