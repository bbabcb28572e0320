package builder

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type entry struct {
	name, link string
	typ        byte
	body       string
}

func tarOf(t testing.TB, entries []entry) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	tw.Close()
	return buf.Bytes()
}

func collectSpec() JobSpec {
	return JobSpec{Job: Job{Arch: "x86_64", Units: []Unit{{Name: "hello", Packages: []string{"hello"}}}}}
}

func TestCollectorPackages(t *testing.T) {
	dir := t.TempDir()
	spec := collectSpec()
	spec.Limits = Limits{FileBytes: 10, OutputBytes: 15}
	c := NewCollector(dir, spec)
	archive := tarOf(t, []entry{
		{name: "openwrt_ppa/", typ: tar.TypeDir},
		{name: "openwrt_ppa/a_1_x86_64.ipk", typ: tar.TypeReg, body: "aaaaaaaa"},
		{name: "openwrt_ppa/a_1_x86_64.ipk", typ: tar.TypeReg, body: "evil"},
		{name: "openwrt_ppa/passwd.ipk", typ: tar.TypeSymlink, link: "/etc/passwd"},
		{name: "openwrt_ppa/hard.ipk", typ: tar.TypeLink, link: "openwrt_ppa/a_1_x86_64.ipk"},
		{name: "openwrt_ppa/big_1_x86_64.ipk", typ: tar.TypeReg, body: "0123456789abc"},
		{name: "openwrt_ppa/b_1_x86_64.ipk", typ: tar.TypeReg, body: "bbbbbbbb"},
		{name: "openwrt_ppa/../../x.ipk", typ: tar.TypeReg, body: "x"},
		{name: "openwrt_ppa/sub/c.ipk", typ: tar.TypeReg, body: "c"},
		{name: "openwrt_ppa/notes.txt", typ: tar.TypeReg, body: "n"},
	})
	if err := c.Packages(bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.col.Packages, ","); got != "packages/a_1_x86_64.ipk" {
		t.Errorf("collected %s", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "packages", "a_1_x86_64.ipk")); string(b) != "aaaaaaaa" {
		t.Errorf("a's content %q: the second entry of the same name replaced it", b)
	}
	refused := strings.Join(c.col.Refused, "\n")
	for _, want := range []string{"given twice", "passwd.ipk: not a regular file (symlink to /etc/passwd)", "hard.ipk: not a regular file (hard link", "big_1_x86_64.ipk: 13 bytes is more than", "b_1_x86_64.ipk: the outputs exceed", "sub/c.ipk: not a package file name", "notes.txt: not a package file name"} {
		if !strings.Contains(refused, want) {
			t.Errorf("refusals lack %q:\n%s", want, refused)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "x.ipk")); err == nil {
		t.Error("an entry escaped the folder")
	}
}

func TestCollectorLogsKeepTheTail(t *testing.T) {
	dir := t.TempDir()
	c := NewCollector(dir, collectSpec())
	long := strings.Repeat("x", logFileBytes) + "the end\n"
	archive := tarOf(t, []entry{
		{name: "logs/openwrt-ppa-results.txt", typ: tar.TypeReg, body: "unit hello ok compile\n"},
		{name: "logs/package/feeds/openwrt_ppa/hello/compile.txt", typ: tar.TypeReg, body: long},
		{name: "logs/package/feeds/openwrt_ppa/other/compile.txt", typ: tar.TypeReg, body: "not ours"},
		{name: "logs/package/feeds/openwrt_ppa/hello/Compile.txt", typ: tar.TypeReg, body: "odd step"},
	})
	if err := c.Logs(bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	if c.col.Results != "logs/results.txt" || len(c.col.Logs) != 1 {
		t.Fatalf("collected %+v", c.col)
	}
	b, err := os.ReadFile(filepath.Join(dir, c.col.Logs["hello/compile"]))
	if err != nil || len(b) != logFileBytes || !strings.HasSuffix(string(b), "the end\n") {
		t.Fatalf("log of %d bytes, tail kept %v, %v", len(b), strings.HasSuffix(string(b), "the end\n"), err)
	}
}

func FuzzCollector(f *testing.F) {
	f.Add(tarOf(f, []entry{{name: "openwrt_ppa/a_1_x86_64.ipk", typ: tar.TypeReg, body: "a"}, {name: "openwrt_ppa/l.ipk", typ: tar.TypeSymlink, link: "/etc"}}))
	f.Add(tarOf(f, []entry{{name: "logs/package/feeds/openwrt_ppa/hello/compile.txt", typ: tar.TypeReg, body: "log"}, {name: "logs/openwrt-ppa-results.txt", typ: tar.TypeReg, body: "x"}}))
	f.Add([]byte("not a tar"))
	base := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		// One folder per input, removed at once: t.TempDir is slow under the fuzzing engine.
		dir, err := os.MkdirTemp(base, "c")
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		c := NewCollector(dir, collectSpec())
		if err := c.Packages(bytes.NewReader(data)); err != nil {
			t.Fatalf("packages: %v", err)
		}
		if err := c.Logs(bytes.NewReader(data)); err != nil {
			t.Fatalf("logs: %v", err)
		}
		err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() && !fi.IsDir() {
				t.Fatalf("%s is neither a file nor a folder", p)
			}
			rel, _ := filepath.Rel(dir, p)
			if fi.Mode().IsRegular() && !strings.HasPrefix(rel, "packages/") && !strings.HasPrefix(rel, "logs/") {
				t.Fatalf("unexpected file %s", rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func TestCollectorTargetPackagesAndVariantLogs(t *testing.T) {
	dir := t.TempDir()
	spec := collectSpec()
	spec.Job.Units = append(spec.Job.Units, Unit{Name: "tool", Packages: []string{"tool-full", "tool-tiny"}})
	c := NewCollector(dir, spec)
	targets := tarOf(t, []entry{
		{name: "targets/", typ: tar.TypeDir},
		{name: "targets/x86/64/packages/", typ: tar.TypeDir},
		{name: "targets/x86/64/packages/hello_1.0-r1_x86_64.ipk", typ: tar.TypeReg, body: "nonshared"},
		{name: "targets/x86/64/packages/kernel_6.6-r1_x86_64.ipk", typ: tar.TypeReg, body: "not ours"},
		{name: "targets/x86/64/packages/passwd_1_x86_64.ipk", typ: tar.TypeSymlink, link: "/etc/passwd"},
		{name: "targets/x86/64/packages/hello_1.0-r1_x86_64.ipk.sig", typ: tar.TypeReg, body: "x"},
		{name: "targets/x86/64/openwrt-sdk.tar.zst", typ: tar.TypeReg, body: "x"},
	})
	if err := c.TargetPackages(bytes.NewReader(targets)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.col.Packages, ","); got != "packages/hello_1.0-r1_x86_64.ipk" {
		t.Errorf("collected %s from bin/targets, want only the job's package", got)
	}
	logs := tarOf(t, []entry{
		{name: "logs/package/feeds/openwrt_ppa/tool/full/compile.txt", typ: tar.TypeReg, body: "full: error: it broke\n"},
		{name: "logs/package/feeds/openwrt_ppa/tool/tiny/compile.txt", typ: tar.TypeReg, body: "tiny: fine\n"},
		{name: "logs/package/feeds/openwrt_ppa/tool/../hello/x/compile.txt", typ: tar.TypeReg, body: "hello's variant x"},
		{name: "logs/package/feeds/openwrt_ppa/tool/.hidden/compile.txt", typ: tar.TypeReg, body: "odd variant"},
		{name: "logs/package/feeds/openwrt_ppa/tool/a/b/compile.txt", typ: tar.TypeReg, body: "too deep"},
	})
	if err := c.Logs(bytes.NewReader(logs)); err != nil {
		t.Fatal(err)
	}
	col := c.Collected()
	if len(col.Logs) != 3 || col.Logs["tool/full/compile"] != "logs/tool/full/compile.txt" {
		t.Fatalf("logs %v", col.Logs)
	}
	states := map[string]unitState{"tool": {status: "failed", step: "compile"}}
	got := packageResults(spec.Job, col, dir, states, "", Exit{})
	want := "[variant full]\nfull: error: it broke\n[variant tiny]\ntiny: fine"
	for _, p := range got {
		if p.Unit == "tool" && strings.Join(p.Log, "\n") != want {
			t.Errorf("%s log %q, want %q", p.Name, p.Log, want)
		}
	}
}
