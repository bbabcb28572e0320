package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// Labels every Docker object made by tests carries, so leftovers can be found and removed.
const (
	TestLabel      = "openwrt-ppa.test"
	StandinRepo    = "openwrt-ppa/sdk-standin"
	standinLabel   = "openwrt-ppa.standin"
	dockerDeadline = 10 * time.Second
)

// NewDockerClient returns a moby client for the engine of the environment (DOCKER_HOST or the
// local socket), negotiating the API version (the engine here is Debian's docker.io 20.10, API 1.41).
func NewDockerClient(ctx context.Context) (*client.Client, error) {
	cli, err := client.New(client.FromEnv)
	if err != nil {
		return nil, fmt.Errorf("making a Docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, dockerDeadline)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("no Docker engine answers (start dockerd, or set DOCKER_HOST): %w", err)
	}
	return cli, nil
}

// NeedDocker returns a client of a working Docker engine, or skips (fails under CI) through Missing.
func NeedDocker(t testing.TB) *client.Client {
	t.Helper()
	cli, err := NewDockerClient(context.Background())
	if err != nil {
		Missing(t, "Docker engine", err.Error())
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

// StandinImage returns the tag of the SDK stand-in image, building it when no image of the
// current content exists. The tag carries the content hash, so it is built once per change,
// not once per test; stand-in images of other content stay (another worktree's run on the same
// engine may use them) unless they are stale (pruneImages).
func StandinImage(t testing.TB) string {
	t.Helper()
	cli := NeedDocker(t)
	busybox, err := StaticBusybox()
	if err != nil {
		Missing(t, "busybox-static", err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag, err := BuildStandin(ctx, cli, busybox, "")
	if err != nil {
		t.Fatalf("building the SDK stand-in image: %v", err)
	}
	return tag
}

// StaticBusybox finds a statically linked busybox (Debian's busybox-static installs /bin/busybox).
func StaticBusybox() (string, error) {
	p, err := exec.LookPath("busybox")
	if err != nil {
		return "", errors.New("busybox not found on PATH (Debian: apt-get install busybox-static)")
	}
	f, err := elf.Open(p)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", p, err)
	}
	defer f.Close()
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; the FROM scratch stand-in needs busybox-static", p)
		}
	}
	return p, nil
}

// StandinDir is the folder of the stand-in's Dockerfile and scripts in this source tree.
func StandinDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate the source tree")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "builder", "testdata", "sdk-standin")
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile")); err != nil {
		return "", fmt.Errorf("the stand-in sources are not at %s (run from the source tree): %w", dir, err)
	}
	return dir, nil
}

// Stand-in modes (see builder/testdata/sdk-standin/README.md).
const (
	StandinRelease  = "release"  // the SDK is in the image, setup.sh stays (RUN_SETUP=1)
	StandinSnapshot = "snapshot" // only setup.sh is there; it fetches the SDK
	// StandinAPK is a release image of an apk series (VERSION 25.12.3): its make writes .apk
	// packages with `apk mkpkg` (the project's own helper, feeds/apktest/cmd/apk).
	StandinAPK = "apk"
)

// StandinAPKImage is StandinImage in apk mode: a 25.12 SDK that makes .apk packages.
func StandinAPKImage(t testing.TB) string {
	t.Helper()
	return standinImageOfMode(t, StandinAPK)
}

// StandinSnapshotImage is StandinImage in snapshot mode: the SDK must be fetched by setup.sh.
func StandinSnapshotImage(t testing.TB) string {
	t.Helper()
	return standinImageOfMode(t, StandinSnapshot)
}

// standinImageOfMode builds (or finds) the stand-in image of mode for a test.
func standinImageOfMode(t testing.TB, mode string) string {
	t.Helper()
	cli := NeedDocker(t)
	busybox, err := StaticBusybox()
	if err != nil {
		Missing(t, "busybox-static", err.Error())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tag, err := BuildStandinMode(ctx, cli, busybox, mode, "")
	if err != nil {
		t.Fatalf("building the SDK stand-in image: %v", err)
	}
	return tag
}

// BuildStandin builds the stand-in image from busybox and the sources of StandinDir unless an
// image of the same content exists, tags it extraTag too when given, and returns the content tag.
func BuildStandin(ctx context.Context, cli *client.Client, busybox, extraTag string) (string, error) {
	return BuildStandinMode(ctx, cli, busybox, StandinRelease, extraTag)
}

// BuildStandinMode is BuildStandin in a mode (StandinRelease or StandinSnapshot); the snapshot
// image's tag ends in "-snapshot".
func BuildStandinMode(ctx context.Context, cli *client.Client, busybox, mode, extraTag string) (string, error) {
	dir, err := StandinDir()
	if err != nil {
		return "", err
	}
	buildCtx, sum, err := standinContext(dir, busybox)
	if err != nil {
		return "", err
	}
	tag := StandinRepo + ":" + sum[:16]
	args := map[string]*string{}
	switch mode {
	case StandinRelease:
	case StandinSnapshot:
		tag += "-snapshot"
		for k, v := range map[string]string{"MODE": mode, "RUN_SETUP": "0", "VERSION": "SNAPSHOT", "VERSION_PATH": "snapshots"} {
			args[k] = &v
		}
	case StandinAPK:
		tag += "-apk"
		for k, v := range map[string]string{"FORMAT": "apk", "VERSION": "25.12.3", "VERSION_PATH": "releases/25.12.3"} {
			args[k] = &v
		}
	default:
		return "", fmt.Errorf("stand-in mode %q: use %s, %s or %s", mode, StandinRelease, StandinSnapshot, StandinAPK)
	}
	if !useImage(ctx, cli, tag) {
		res, err := cli.ImageBuild(ctx, bytes.NewReader(buildCtx), client.ImageBuildOptions{
			Tags: []string{tag}, Remove: true, ForceRemove: true, NetworkMode: "none", BuildArgs: args,
			Labels: map[string]string{TestLabel: "1", standinLabel: sum[:16]},
		})
		if err != nil {
			return "", fmt.Errorf("building %s: %w", tag, err)
		}
		err = readBuildStream(res.Body)
		res.Body.Close()
		if err != nil {
			return "", fmt.Errorf("building %s: %w", tag, err)
		}
		pruneImages(ctx, cli, standinLabel, staleImageAge)
	}
	if extraTag != "" {
		if _, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: tag, Target: extraTag}); err != nil {
			return "", fmt.Errorf("tagging %s as %s: %w", tag, extraTag, err)
		}
	}
	return tag, nil
}

// readBuildStream drains the JSON message stream of an image build, returning its error if any.
func readBuildStream(r io.Reader) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the build output: %w", err)
		}
		if m.Stream != "" {
			tail = append(tail, strings.TrimRight(m.Stream, "\n"))
			if len(tail) > 20 {
				tail = tail[1:]
			}
		}
		if m.Error != "" {
			return fmt.Errorf("%s\n%s", m.Error, strings.Join(tail, "\n"))
		}
	}
}

// standinContext makes the build context tar (deterministic: sorted, zero times) and its hash.
func standinContext(dir, busybox string) ([]byte, string, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(name string, mode int64, data []byte, isDir bool) error {
		h := &tar.Header{Name: name, Mode: mode, Size: int64(len(data)), Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0)}
		if isDir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	bb, err := os.ReadFile(busybox)
	if err != nil {
		return nil, "", fmt.Errorf("reading %s: %w", busybox, err)
	}
	if err := add("busybox", 0o755, bb, false); err != nil {
		return nil, "", err
	}
	apk, err := buildAPKHelper(filepath.Join(dir, "..", "..", ".."))
	if err != nil {
		return nil, "", err
	}
	if err := add("apk", 0o755, apk, false); err != nil {
		return nil, "", err
	}
	var paths []string
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("reading the stand-in sources: %w", err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		rel, _ := filepath.Rel(dir, p)
		info, err := os.Lstat(p)
		if err != nil {
			return nil, "", err
		}
		switch {
		case info.IsDir():
			err = add(filepath.ToSlash(rel)+"/", 0o755, nil, true)
		case info.Mode().IsRegular():
			data, rerr := os.ReadFile(p)
			if rerr != nil {
				return nil, "", rerr
			}
			mode := int64(0o644)
			if info.Mode()&0o111 != 0 {
				mode = 0o755
			}
			err = add(filepath.ToSlash(rel), mode, data, false)
		}
		if err != nil {
			return nil, "", fmt.Errorf("packing the stand-in sources: %w", err)
		}
	}
	// The cache folders the build mounts named volumes on: present in the image and owned by
	// buildbot, so Docker initialises new volumes with that owner.
	for _, d := range []string{"rootfs/builder/dl/", "rootfs/builder/feeds/"} {
		if err := add(d, 0o755, nil, true); err != nil {
			return nil, "", err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:]), nil
}

// buildAPKHelper builds the stand-in's /bin/apk (feeds/apktest/cmd/apk) from the module at
// root: static (no libc in a FROM scratch image), reproducible (-trimpath, no build id), so the
// image's content hash changes only with the code.
func buildAPKHelper(root string) ([]byte, error) {
	out, err := os.MkdirTemp("", "openwrt-ppa-standin-apk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(out)
	bin := filepath.Join(out, "apk")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-buildid= -s -w", "-o", bin, "./feeds/apktest/cmd/apk")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("building the stand-in's apk helper: %v\n%s", err, msg)
	}
	return os.ReadFile(bin)
}
