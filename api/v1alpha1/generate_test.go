package v1alpha1_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// controllerGen returns the `go run` command line of the Makefile's controller-gen, so the test
// and `make generate` can never use different versions.
func controllerGen(t *testing.T) []string {
	t.Helper()
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CONTROLLER_GEN_VERSION \?= (v[0-9.]+)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("the Makefile has no `CONTROLLER_GEN_VERSION ?= vX.Y.Z` line")
	}
	return []string{"go", "run", "sigs.k8s.io/controller-tools/cmd/controller-gen@" + string(m[1])}
}

// TestGeneratedFilesAreCurrent regenerates the deepcopy code and the CRD manifests into a temp
// folder and compares them with the committed ones: a type changed without `make generate` fails
// here rather than shipping a schema that refuses (or lets through) what the types say.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	if testing.Short() {
		t.Skip("SKIPPED — -short: regenerating with controller-gen takes a while")
	}
	gen := controllerGen(t)
	out := t.TempDir()
	crdOut, objOut := filepath.Join(out, "crds"), filepath.Join(out, "object")
	build := exec.Command(gen[0], append(gen[1:], "--version")...)
	if b, err := build.CombinedOutput(); err != nil {
		testenv.Missing(t, "controller-gen", "`"+build.String()+"` failed (no module proxy?): "+string(b))
	}
	for _, args := range [][]string{
		{"object", "paths=./api/...", "output:object:dir=" + objOut},
		{"crd", "paths=./api/...", "output:crd:dir=" + crdOut},
	} {
		cmd := exec.Command(gen[0], append(gen[1:], args...)...)
		cmd.Dir = "../.."
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, b)
		}
	}
	compare(t, crdDir, crdOut, "*.yaml")
	compare(t, ".", objOut, "zz_generated.*.go")
}

// compare fails unless dir and fresh hold the same files matching glob, byte for byte.
func compare(t *testing.T, dir, fresh, glob string) {
	t.Helper()
	want, _ := filepath.Glob(filepath.Join(fresh, glob))
	have, _ := filepath.Glob(filepath.Join(dir, glob))
	if len(want) == 0 {
		t.Fatalf("controller-gen wrote no %s into %s", glob, fresh)
	}
	names := map[string]bool{}
	for _, f := range have {
		names[filepath.Base(f)] = true
	}
	for _, f := range want {
		name := filepath.Base(f)
		delete(names, name)
		a, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s is not committed: run `make generate`", filepath.Join(dir, name))
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(a, b) {
			t.Errorf("%s is stale: run `make generate` and commit the result", filepath.Join(dir, name))
		}
	}
	for name := range names {
		t.Errorf("%s is no longer generated: remove it", filepath.Join(dir, name))
	}
}
