package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/openwrt-ppa/openwrt-ppa/builder/docker"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ppaBinary is this package built as the openwrt-ppa binary, once per test run: signals, exit
// statuses and pipes are the process's, not a function's.
func ppaBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "openwrt-ppa-cli-test-"); binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, "openwrt-ppa"), ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(err.Error() + ": " + string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("building openwrt-ppa: %v", binErr)
	}
	return filepath.Join(binDir, "openwrt-ppa")
}

// buildEnv runs `openwrt-ppa build` against the SDK stand-in, with its own home, caches, temp
// folder and Docker label, and checks at the end that it left nothing behind.
type buildEnv struct {
	t                  *testing.T
	bin, image, id     string
	home, tmp, out     string
	cli                *client.Client
	cachePrefix, label string
}

func newBuildEnv(t *testing.T) *buildEnv {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	e := &buildEnv{t: t, cli: testenv.NeedDocker(t), bin: ppaBinary(t),
		id: hex.EncodeToString(b), home: t.TempDir(), tmp: t.TempDir(), out: filepath.Join(t.TempDir(), "feed")}
	e.image = e.holdStandin()
	e.cachePrefix = "openwrt-ppa-test-cli-" + e.id
	e.label = testenv.TestLabel + "=" + e.id
	t.Cleanup(e.checkNothingLeft)
	return e
}

// holdStandin tags the stand-in image for this test alone: on a shared engine, another run prunes
// stand-in images that look unused and old (testenv's pruneImages), but never one that carries a
// second tag.
func (e *buildEnv) holdStandin() string {
	e.t.Helper()
	ctx := context.Background()
	tag := "openwrt-ppa-test-cli/standin:" + e.id
	var err error
	for range 3 {
		if _, err = e.cli.ImageTag(ctx, client.ImageTagOptions{Source: testenv.StandinImage(e.t), Target: tag}); err == nil {
			e.t.Cleanup(func() { _, _ = e.cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{}) })
			return tag
		}
	}
	e.t.Fatalf("tagging the stand-in image: %v", err)
	return ""
}

func (e *buildEnv) command(ctx context.Context, args ...string) *exec.Cmd {
	full := append([]string{"build", "--image", e.image, "--network", "none", "--cache-volume-prefix", e.cachePrefix,
		"--label", e.label, "--out", e.out, "--timeout", "2m",
		// the stand-in pins its standard feeds at commits only the tests' loopback server has
		"--feed-url-rewrite", testenv.SharedFeedServer(e.t).Rewrite()}, args...)
	cmd := exec.CommandContext(ctx, e.bin, full...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + e.home, "XDG_CONFIG_HOME=" + filepath.Join(e.home, ".config"),
		"XDG_CACHE_HOME=" + filepath.Join(e.home, ".cache"), "TMPDIR=" + e.tmp}
	if h, ok := os.LookupEnv("DOCKER_HOST"); ok {
		cmd.Env = append(cmd.Env, "DOCKER_HOST="+h)
	}
	return cmd
}

// run builds and returns the exit status, stdout and stderr.
func (e *buildEnv) run(args ...string) (int, string, string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := e.command(ctx, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		e.t.Fatalf("running openwrt-ppa: %v", err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// checkNothingLeft fails the test for a build container, a job's volume or a work folder left
// behind; the cache volumes stay by design (they are the cache), and are removed here.
func (e *buildEnv) checkNothingLeft() {
	ctx := context.Background()
	f := make(client.Filters).Add("label", e.label)
	if cs, err := e.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f}); err == nil {
		for _, c := range cs.Items {
			e.t.Errorf("container %s (%s) left behind", c.ID[:12], c.State)
			_, _ = e.cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
		}
	}
	if vs, err := e.cli.VolumeList(ctx, client.VolumeListOptions{Filters: f}); err == nil {
		for _, v := range vs.Items {
			if _, cache := v.Labels[docker.LabelCache]; !cache {
				e.t.Errorf("volume %s left behind", v.Name)
			}
			_, _ = e.cli.VolumeRemove(ctx, v.Name, client.VolumeRemoveOptions{Force: true})
		}
	}
	left, _ := filepath.Glob(filepath.Join(e.tmp, "openwrt-ppa-build-*"))
	for _, l := range left {
		e.t.Errorf("work folder %s left behind", l)
	}
}

func pkgFiles(pkgs map[string]string) map[string]string {
	files := testenv.PackageTree(pkgs)
	files[".openwrt-ppa.yml"] = "series: [24.10]\narchs: [x86_64]\n"
	return files
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBuildSources builds what people type as SOURCE, each in real stand-in containers: a file://
// URL, a folder that is not a git repository (as it is), a git folder with uncommitted changes
// (its commit, and a note), and a matrix where every package is skipped (exit 1, and why).
func TestBuildSources(t *testing.T) {
	e := newBuildEnv(t)
	gitDir, commit := testenv.GitRepo(t, pkgFiles(map[string]string{"alpha": "1.0"}))
	plain := t.TempDir()
	writeFiles(t, plain, pkgFiles(map[string]string{"plainpkg": "3.0"}))
	dirty, _ := testenv.GitRepo(t, pkgFiles(map[string]string{"dirtypkg": "1.0"}))
	writeFiles(t, dirty, map[string]string{"net/dirtypkg/Makefile": testenv.PackageMakefile("dirtypkg", "9.9", "")})
	mipsOnly, _ := testenv.GitRepo(t, pkgFiles(map[string]string{"mipspkg": "1.0 only-arch mips_24kc"}))

	cases := []struct {
		name     string
		args     []string
		code     int
		stderr   []string
		packages []string // in the feed's Packages (x86_64)
		absent   []string
	}{
		{name: "file URL", args: []string{"file://" + gitDir}, code: 0,
			stderr: []string{"at commit " + commit, "built 1 package(s) into 1 feed(s)"}, packages: []string{"Package: alpha\nVersion: 1.0-r1\n"}},
		{name: "plain folder", args: []string{plain}, code: 0,
			stderr:   []string{plain + ": not a git repository: built the folder as it is", "built 1 package(s)"},
			packages: []string{"Package: plainpkg\nVersion: 3.0-r1\n"}},
		{name: "git folder with uncommitted changes", args: []string{dirty}, code: 0,
			stderr:   []string{"note: " + dirty + " has 1 uncommitted change(s) (net/dirtypkg/Makefile), left out of the build", "--as-is"},
			packages: []string{"Package: dirtypkg\nVersion: 1.0-r1\n"}},
		{name: "git folder as it is", args: []string{"--as-is", dirty}, code: 0,
			stderr:   []string{"--as-is: built the folder as it is, uncommitted changes included"},
			packages: []string{"Package: dirtypkg\nVersion: 9.9-r1\n"}},
		{name: "every package skipped", args: []string{mipsOnly}, code: 1,
			stderr: []string{"openwrt-ppa build: nothing was built: every package was skipped (mipspkg for 24.10/x86_64", "check --arch"},
			absent: []string{"built 0 package(s)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(e.out)
			code, stdout, stderr := e.run(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tc.code, stderr, stdout)
			}
			for _, w := range tc.stderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(stderr, a) {
					t.Errorf("stderr has %q:\n%s", a, stderr)
				}
			}
			idx, err := os.ReadFile(filepath.Join(e.out, "24.10", "x86_64", "Packages"))
			if len(tc.packages) == 0 {
				if err == nil || stdout != "" {
					t.Errorf("a feed or router lines from a build that made nothing:\n%s\n%s", idx, stdout)
				}
				return
			}
			if err != nil {
				t.Fatalf("no feed: %v\n%s", err, stderr)
			}
			for _, w := range tc.packages {
				if !strings.Contains(string(idx), w) {
					t.Errorf("Packages lacks %q:\n%s", w, idx)
				}
			}
			if !strings.Contains(stdout, "/etc/opkg/customfeeds.conf") {
				t.Errorf("no router lines:\n%s", stdout)
			}
		})
	}
}

// TestBuildStoppedCleansUp kills real builds while their container runs (SIGINT, SIGTERM, and a
// reader that goes away as `| head` does) and checks that no container, volume or work folder
// is left (checkNothingLeft) and the exit status says so.
func TestBuildStoppedCleansUp(t *testing.T) {
	e := newBuildEnv(t)
	files := pkgFiles(map[string]string{"slow": "1.0"})
	files["net/slow/Makefile"] = testenv.PackageMakefile("slow", "1.0", "sleep 5\n# STANDIN: flood")
	repo, _ := testenv.GitRepo(t, files)
	cases := []struct {
		name string
		stop func(cmd *exec.Cmd, stderr *os.File) error
		code int
	}{
		{"SIGINT", func(cmd *exec.Cmd, _ *os.File) error { return cmd.Process.Signal(syscall.SIGINT) }, 128 + int(syscall.SIGINT)},
		{"SIGTERM", func(cmd *exec.Cmd, _ *os.File) error { return cmd.Process.Signal(syscall.SIGTERM) }, 128 + int(syscall.SIGTERM)},
		// The reader closes the pipe; the flood of -v log lines then meets EPIPE (SIGPIPE).
		{"closed pipe", func(_ *exec.Cmd, stderr *os.File) error { return stderr.Close() }, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := e.command(ctx, "-v", repo)
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = w
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			w.Close()
			// Wait until the build container runs: the stand-in says it sleeps.
			var seen []string
			sc := bufio.NewScanner(r)
			for sc.Scan() {
				seen = append(seen, sc.Text())
				if strings.Contains(sc.Text(), "STANDIN: sleep") {
					break
				}
			}
			if !e.hasContainer() {
				t.Fatalf("no build container is running; the build said:\n%s", strings.Join(seen, "\n"))
			}
			if err := tc.stop(cmd, r); err != nil {
				t.Fatal(err)
			}
			rest := make(chan string)
			go func() {
				var b strings.Builder
				for sc.Scan() && tc.name != "closed pipe" {
					b.WriteString(sc.Text() + "\n")
				}
				rest <- b.String()
			}()
			err = cmd.Wait()
			r.Close()
			tail := <-rest
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != tc.code {
				t.Fatalf("%v (exit %d), want exit %d; the build said:\n%s", err, cmd.ProcessState.ExitCode(), tc.code, tail)
			}
			if e.hasContainer() {
				t.Errorf("a build container remains after the command exited")
			}
			if tc.name != "closed pipe" && !strings.Contains(tail, "stopping, cleaning up") {
				t.Errorf("the build did not say it stops:\n%s", tail)
			}
			if _, err := os.Stat(filepath.Join(e.out, "24.10")); err == nil {
				t.Errorf("a stopped build published a feed")
			}
		})
	}
}

func (e *buildEnv) hasContainer() bool {
	f := make(client.Filters).Add("label", e.label)
	cs, err := e.cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	return err == nil && len(cs.Items) > 0
}
