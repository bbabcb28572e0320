package buildertest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/builder"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// What the executors' tests (builder/docker, builder/kube) share: the repositories they build in
// the SDK stand-in, the job they plan for it, and the checks of the contract every executor
// keeps.

// WriteRepo writes into dir one package per name → marker (the stand-in's behaviours, e.g.
// "flood", "symlink"; testenv.PackageTree).
func WriteRepo(t testing.TB, dir string, pkgs map[string]string) {
	t.Helper()
	for name, marker := range pkgs {
		for path, content := range testenv.PackageTree(map[string]string{name: strings.TrimSpace("1.0 " + marker)}) {
			full := filepath.Join(dir, filepath.FromSlash(path))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, []byte(content), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// RepoDir is WriteRepo into a new folder of t's.
func RepoDir(t testing.TB, pkgs map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	WriteRepo(t, dir, pkgs)
	return dir
}

// StandinJob plans the repository in dir for series/x86_64 in image, the first job of the plan.
func StandinJob(t testing.TB, dir, image, series string) builder.Job {
	t.Helper()
	found, err := builder.Discover(os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	cat, err := builder.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	plan, err := builder.MakePlan(builder.PlanInput{
		Repo: "test/repo", Commit: strings.Repeat("a", 40), Config: builder.DefaultConfig(), Found: found,
		Catalogue: cat, Images: builder.ImageOptions{Image: image}, Series: []string{series}, Archs: []string{"x86_64"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return plan.Jobs[0]
}

// CheckHostileOutputs checks the result of building RepoDir's {"linky": "symlink", "noisy":
// "flood", "fat": "bigfile"} with a log cap of logCap bytes: the symlinks and the oversized
// package refused, none collected into out, the sink given at most the cap and the kept tail
// (logBytes of it, logText), ending with the driver's last line (done), and the flooded
// package's own log capped.
func CheckHostileOutputs(t testing.TB, res builder.Result, out string, logCap, logBytes int64, logText, done string) {
	t.Helper()
	refused := strings.Join(res.Refused, "\n")
	for _, want := range []string{"passwd.ipk: not a regular file (symlink to /etc/passwd)", "sub/etc: not a regular file (symlink to /etc)", "big_1_x86_64.ipk: 12582912 bytes is more than"} {
		if !strings.Contains(refused, want) {
			t.Errorf("refusals lack %q:\n%s", want, refused)
		}
	}
	err := filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("a symlink was collected: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if logBytes > logCap+300*builder.MaxLineBytes {
		t.Errorf("the sink got %d bytes for a cap of %d", logBytes, logCap)
	}
	if !strings.Contains(logText, fmt.Sprintf("log cap of %d bytes reached", logCap)) || !strings.HasSuffix(logText, done) {
		t.Errorf("the capped log does not say so or lost its end; last lines:\n%s", logText[max(0, len(logText)-2000):])
	}
	if fi, err := os.Stat(filepath.Join(out, "logs", "noisy", "compile.txt")); err != nil || fi.Size() > 4<<20 {
		t.Errorf("the flooded per-package log was not capped: %v %v", fi, err)
	}
}

// CheckCanceledInCompile checks the result of a build canceled while its package pkg was
// compiling (the stand-in's "hang"): the job canceled, and pkg failed, saying when.
func CheckCanceledInCompile(t testing.TB, res builder.Result, pkg string) {
	t.Helper()
	if res.Status != builder.JobCanceled {
		t.Fatalf("status %s (%s), want canceled", res.Status, res.Message)
	}
	for _, p := range res.Packages {
		if p.Name == pkg {
			if p.Status != builder.PackageFailed || !strings.Contains(p.Reason, "canceled during compile") {
				t.Errorf("%s: %+v", pkg, p)
			}
			return
		}
	}
	t.Errorf("no result of %s among %+v", pkg, res.Packages)
}
