package builder

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestResultsCarryPackageDurations(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "results.txt")
	lines := "unit hello start download\nunit hello start compile\nunit hello seconds 42\nunit hello ok compile\n" +
		"unit broken start compile\nunit broken seconds 7\nunit broken failed compile\nunit forged seconds -3\n"
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	units := []Unit{{Dir: "net/hello", Name: "hello", Packages: []string{"hello"}}, {Dir: "net/broken", Name: "broken", Packages: []string{"broken"}}}
	states, _, err := readResults(path, units)
	if err != nil {
		t.Fatal(err)
	}
	job := Job{Arch: "x86_64", Units: units}
	col := Collected{Packages: []string{"packages/hello_1.0-r1_x86_64.ipk"}}
	got := map[string]PackageResult{}
	for _, p := range packageResults(job, col, dir, states, "", Exit{}) {
		got[p.Name] = p
	}
	if p := got["hello"]; p.Status != PackageBuilt || p.Duration != 42*time.Second {
		t.Errorf("hello: %+v", p)
	}
	if p := got["broken"]; p.Status != PackageFailed || p.Step != "compile" || p.Duration != 7*time.Second {
		t.Errorf("broken: %+v", p)
	}
}
