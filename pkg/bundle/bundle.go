// Package bundle makes and checks the offline bundle: the Debian packages and
// the OCI image tarballs a node needs to become a Kubernetes node without a
// network (package_source: bundle), with a manifest and checksums. The
// layout is documented in docs/bundle.md:
//
//	README.md  manifest.json  SHA256SUMS  debs/*.deb  images/*.tar
package bundle

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Files of the bundle's top directory.
const (
	ManifestFile = "manifest.json"
	SumsFile     = "SHA256SUMS"
	ReadmeFile   = "README.md"
	DebsDir      = "debs"
	ImagesDir    = "images"
)

// Manifest is manifest.json: what the bundle holds and what it was made from.
type Manifest struct {
	// Versions of the pinned upstream modules (hack/versions.env's keys).
	Versions map[string]string `json:"versions"`
	// Debian is the release the Debian packages are for, e.g. "12 (bookworm)".
	Debian string `json:"debian"`
	// BaseSystem names the packages the bundle takes as present on the node
	// (a Debian base system: priority required and important, and their
	// dependencies), so the bundle does not carry them.
	BaseSystem []string     `json:"baseSystem"`
	Debs       []DebEntry   `json:"debs"`
	Images     []ImageEntry `json:"images"`
	NCP        NCP          `json:"ncp"`
	// Inputs is the hash of everything the bundle was made from; a bundle
	// with the same inputs is not made again.
	Inputs string `json:"inputs"`
}

// DebEntry is one .deb of debs/.
type DebEntry struct {
	File    string `json:"file"`
	Package string `json:"package"`
	Version string `json:"version"`
	// Origin is "debian" (Debian's archive) or "epks" (made with dpkg-deb
	// from a binary built from a pinned module).
	Origin string `json:"origin"`
	SHA256 string `json:"sha256"`
}

// ImageEntry is one tarball of images/.
type ImageEntry struct {
	File string `json:"file"`
	// Ref is the name the tarball's index gives the image, what
	// `ctr images import` names it; empty for NCP's tarballs, taken as they are.
	Ref string `json:"ref,omitempty"`
	// Digest is the image's manifest digest.
	Digest string `json:"digest,omitempty"`
	SHA256 string `json:"sha256"`
	// Origin is "epks" (built here) or "ncp" (the operator's NCP tarball).
	Origin string `json:"origin"`
}

// NCP says whether the bundle has NCP's images, which are not public.
type NCP struct {
	Present bool   `json:"present"`
	Note    string `json:"note"`
}

// ReadManifest reads dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("reading the bundle's manifest: %w", err)
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

// WriteManifest writes dir/manifest.json.
func WriteManifest(dir string, m *Manifest) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestFile), append(data, '\n'), 0o644)
}

// FileSHA256 returns the hex SHA-256 of a file.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// bundleFiles lists the files the checksums cover, relative to dir, sorted:
// every regular file but SHA256SUMS and the hidden ones.
func bundleFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && path != dir {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && rel != SumsFile {
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// WriteSums writes dir/SHA256SUMS in the format `sha256sum -c` reads.
func WriteSums(dir string) error {
	files, err := bundleFiles(dir)
	if err != nil {
		return err
	}
	var b strings.Builder
	for _, f := range files {
		sum, err := FileSHA256(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s  %s\n", sum, f)
	}
	return os.WriteFile(filepath.Join(dir, SumsFile), []byte(b.String()), 0o644)
}

// Verify checks a bundle: every file of SHA256SUMS has its checksum, no file
// is missing from it, and the manifest's files are there with the same
// checksums. It returns every problem at once.
func Verify(dir string) error {
	var problems []string
	f, err := os.Open(filepath.Join(dir, SumsFile))
	if err != nil {
		return fmt.Errorf("reading the bundle's checksums: %w", err)
	}
	defer f.Close()
	sums := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		sum, name, ok := strings.Cut(sc.Text(), "  ")
		if !ok || len(sum) != 64 {
			problems = append(problems, fmt.Sprintf("%s: bad line %q", SumsFile, sc.Text()))
			continue
		}
		sums[name] = sum
	}
	files, err := bundleFiles(dir)
	if err != nil {
		return err
	}
	for _, name := range files {
		want, ok := sums[name]
		if !ok {
			problems = append(problems, name+": not in "+SumsFile)
			continue
		}
		got, err := FileSHA256(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		if got != want {
			problems = append(problems, name+": checksum differs from "+SumsFile)
		}
		delete(sums, name)
	}
	for name := range sums {
		problems = append(problems, name+": in "+SumsFile+" but missing")
	}
	m, err := ReadManifest(dir)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		check := func(file, sum string) {
			got, err := FileSHA256(filepath.Join(dir, file))
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s: in the manifest but %v", file, err))
			} else if got != sum {
				problems = append(problems, file+": checksum differs from the manifest's")
			}
		}
		for _, d := range m.Debs {
			check(filepath.Join(DebsDir, d.File), d.SHA256)
		}
		for _, i := range m.Images {
			check(filepath.Join(ImagesDir, i.File), i.SHA256)
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return errors.New("the bundle in " + dir + " is not whole:\n  " + strings.Join(problems, "\n  "))
	}
	return nil
}
