package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
)

// Images built for the cluster tests, FROM scratch (nothing can be pulled here), tagged with
// their content's hash (never "latest": the pull policy IfNotPresent then uses the imported one).
const (
	ServiceImageRepo = "openwrt-ppa/openwrt-ppa"
	imageLabel       = "openwrt-ppa.test-image" // = the repository, for removing stale builds (pruneImages)
)

// SourceRoot is the root of this source tree (the module's folder).
func SourceRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the source tree")
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		return "", fmt.Errorf("the source tree is not at %s (run from it): %w", root, err)
	}
	return root, nil
}

// ServiceImage builds the service's image as `make image` does — the static binary of this
// tree on an empty base, from the repository's Dockerfile — and returns its tag.
func ServiceImage(t testing.TB) string {
	t.Helper()
	cli := NeedDocker(t)
	root, err := SourceRoot()
	if err != nil {
		t.Fatal(err)
	}
	goCmd := NeedCommand(t, "go")
	bin := filepath.Join(t.TempDir(), "openwrt-ppa")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	// The flags of `make image` but the version stamp, so the two share the build cache.
	cmd := exec.CommandContext(ctx, goCmd, "build", "-trimpath", "-ldflags", "-s -w -X main.version=test -X main.commit=test", "-o", bin, "./cmd/openwrt-ppa")
	cmd.Dir, cmd.Env = root, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the static binary: %v\n%s", err, out)
	}
	files := map[string]imageFile{}
	for name, src := range map[string]string{"Dockerfile": filepath.Join(root, "Dockerfile"), "openwrt-ppa": bin,
		"ca-certificates.crt": "/etc/ssl/certs/ca-certificates.crt"} {
		data, err := os.ReadFile(src)
		if err != nil {
			Missing(t, "a file of the service's image", err.Error())
		}
		files[name] = imageFile{data: data, mode: 0o755}
	}
	files["tmp/"] = imageFile{dir: true, mode: 0o1777}
	tag, err := buildImage(ctx, cli, ServiceImageRepo, "test-", files)
	if err != nil {
		t.Fatalf("building the service's image: %v", err)
	}
	return tag
}

// KubeImportImage imports the Docker image tag into the cluster node's containerd (see
// KubeStandinImage), unless it is there.
func KubeImportImage(t testing.TB, tag string) {
	t.Helper()
	if err := importImage(t, tag); err != nil {
		t.Fatalf("importing %s into the cluster: %v", tag, err)
	}
}

type imageFile struct {
	data []byte
	mode int64
	dir  bool
}

// buildImage builds the context files (a Dockerfile among them) with no network, unless an
// image of the same content exists, and tags it repo:prefix+hash; builds of repo that are stale
// (pruneImages) are removed, not the others, which other runs on the same engine may use.
func buildImage(ctx context.Context, cli *client.Client, repo, prefix string, files map[string]imageFile) (string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		f := files[n]
		// Parent folders first, so the context is a well-formed tree.
		for _, d := range parents(n) {
			if _, ok := files[d]; !ok {
				if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir, ModTime: time.Unix(0, 0)}); err != nil {
					return "", err
				}
				files[d] = imageFile{dir: true}
			}
		}
		h := &tar.Header{Name: n, Mode: f.mode, Size: int64(len(f.data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if f.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return "", err
		}
		if _, err := tw.Write(f.data); err != nil {
			return "", err
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	id := hex.EncodeToString(sum[:])[:16]
	tag := repo + ":" + prefix + id
	if useImage(ctx, cli, tag) {
		return tag, nil
	}
	res, err := cli.ImageBuild(ctx, bytes.NewReader(buf.Bytes()), client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, NetworkMode: "none",
		Labels: map[string]string{TestLabel: "1", imageLabel: repo},
	})
	if err != nil {
		return "", fmt.Errorf("building %s: %w", tag, err)
	}
	err = readBuildStream(res.Body)
	res.Body.Close()
	if err != nil {
		return "", fmt.Errorf("building %s: %w", tag, err)
	}
	pruneImages(ctx, cli, imageLabel+"="+repo, staleImageAge)
	return tag, nil
}

func parents(name string) []string {
	var out []string
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	for i := 1; i < len(parts); i++ {
		out = append(out, strings.Join(parts[:i], "/")+"/")
	}
	return out
}
