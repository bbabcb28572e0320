package builder

import (
	"os"
	"path/filepath"
	"strings"
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

func TestResultsCarryTheDriversReasons(t *testing.T) {
	cases := map[string]struct {
		lines      string
		status     PackageStatus
		step, want string
	}{
		"parse failure": {"unit p failed install\nunit p reason its Makefile does not parse (make DUMP=1 failed, feeds/f/net/p/dump.txt)\n",
			PackageFailed, "install", "install failed: its Makefile does not parse (make DUMP=1 failed, feeds/f/net/p/dump.txt)"},
		"hash mismatch": {"unit p start check\nunit p failed check\nunit p reason the download p-1.0.tar.gz does not match its hash\nunit p seconds 3\n",
			PackageFailed, "check", "check failed: the download p-1.0.tar.gz does not match its hash"},
		"first reason wins": {"unit p failed install\nunit p reason one\nunit p reason two\n", PackageFailed, "install", "install failed: one"},
		"no reason":         {"unit p start compile\nunit p failed compile\n", PackageFailed, "compile", "compile failed"},
		"skipped, parsed":   {"unit p skipped defconfig\n", PackageSkipped, "", "not available for x86_64 (make defconfig did not select it)"},
		"long reason": {"unit p failed check\nunit p reason " + strings.Repeat("é", 400) + "\n", PackageFailed, "check",
			"check failed: " + strings.Repeat("é", maxReason/2) + "…"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "results.txt")
			if err := os.WriteFile(path, []byte(tc.lines), 0o644); err != nil {
				t.Fatal(err)
			}
			units := []Unit{{Dir: "net/p", Name: "p", Packages: []string{"p"}}}
			states, _, err := readResults(path, units)
			if err != nil {
				t.Fatal(err)
			}
			p := packageResults(Job{Arch: "x86_64", Units: units}, Collected{}, dir, states, "", Exit{})[0]
			if p.Status != tc.status || p.Step != tc.step || p.Reason != tc.want {
				t.Errorf("got %s %q %q, want %s %q %q", p.Status, p.Step, p.Reason, tc.status, tc.step, tc.want)
			}
		})
	}
}

func FuzzReadResults(f *testing.F) {
	f.Add("unit p start check\nunit p failed check\nunit p reason the download x does not match\nunit p seconds 3\njob failed feeds\n")
	f.Add("unit p reason \xff\xfe" + strings.Repeat("x", 400))
	f.Fuzz(func(t *testing.T, lines string) {
		path := filepath.Join(t.TempDir(), "results.txt")
		if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
			t.Fatal(err)
		}
		states, _, err := readResults(path, []Unit{{Name: "p", Packages: []string{"p"}}})
		if err != nil {
			return // a line longer than the scanner takes
		}
		for _, st := range states {
			if len(st.reason) > maxReason+len("…") || strings.ContainsAny(st.reason, "\n\r") || st.seconds < 0 {
				t.Fatalf("state %+v", st)
			}
		}
	})
}

// A unit without a log of its own shows its build variants' logs, never another unit's.
func TestStepLogVariantsAreTheUnitsOwn(t *testing.T) {
	dir := t.TempDir()
	logs := map[string]string{}
	for _, key := range []string{"hello/a/compile", "hello/b/compile", "other/compile", "hello/a/install"} {
		file := strings.ReplaceAll(key, "/", "_") + ".txt"
		if err := os.WriteFile(filepath.Join(dir, file), []byte("log of "+key+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		logs[key] = file
	}
	got := strings.Join(stepLog(Collected{Logs: logs}, dir, "hello", "compile"), "\n")
	want := "[variant a]\nlog of hello/a/compile\n[variant b]\nlog of hello/b/compile"
	if got != want {
		t.Errorf("stepLog = %q, want %q", got, want)
	}
}
