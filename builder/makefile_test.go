package builder

import (
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadMakefile(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/makefiles/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string]struct {
		dir    string
		data   []byte
		want   SourcePackage
		wantOK bool
	}{
		"package.mk with two packages": {
			dir: "utils/hello", data: read("hello.mk"), wantOK: true,
			want: SourcePackage{Dir: "utils/hello", Name: "hello", Version: "1.2.3", Release: "2", Packages: []BinaryPackage{
				{Name: "hello", Depends: []string{"libc", "libuci", "zlib"}},
				{Name: "hello-extra", Depends: []string{"hello"}},
			}},
		},
		"luci.mk names the folder": {
			dir: "applications/luci-app-hello", data: read("luci.mk"), wantOK: true,
			want: SourcePackage{Dir: "applications/luci-app-hello", Name: "luci-app-hello", Packages: []BinaryPackage{
				{Name: "luci-app-hello", Depends: []string{"hello", "luci-base"}},
			}},
		},
		"kernel module": {
			dir: "kernel/foo", data: read("kmod.mk"), wantOK: true,
			want: SourcePackage{Dir: "kernel/foo", Name: "foo-driver", Release: "1", Packages: []BinaryPackage{
				{Name: "kmod-foo", Depends: []string{"kmod-usb-core"}, Kernel: true},
			}},
		},
		"plain makefile": {dir: "hello/src", data: []byte("all:\n\tcc -o hello hello.c\n"), wantOK: false},
		"recursive variable stays bounded": {
			dir: "x", data: []byte("A=$(A)$(A)\nPKG_NAME:=x\nPKG_VERSION=$(A)\ninclude $(INCLUDE_DIR)/package.mk\n$(eval $(call BuildPackage,x))\n"), wantOK: true,
			want: SourcePackage{Dir: "x", Name: "x", Version: "$(A)", Packages: []BinaryPackage{{Name: "x"}}},
		},
		"?= and += ": {
			dir: "y", data: []byte("PKG_NAME?=y\nPKG_NAME?=z\nPKG_VERSION=1\nPKG_VERSION+=2\ninclude $(INCLUDE_DIR)/package.mk\n$(eval $(call BuildPackage,$(PKG_NAME)))\n"), wantOK: true,
			want: SourcePackage{Dir: "y", Name: "y", Version: "1 2", Packages: []BinaryPackage{{Name: "y"}}},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got, ok, err := ReadMakefile(tc.dir, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if ok && !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDiscover(t *testing.T) {
	hello, _ := os.ReadFile("testdata/makefiles/hello.mk")
	kmod, _ := os.ReadFile("testdata/makefiles/kmod.mk")
	fsys := fstest.MapFS{
		"utils/hello/Makefile":     {Data: hello},
		"utils/hello/src/Makefile": {Data: []byte("all:\n")},
		"kernel/foo/Makefile":      {Data: kmod},
		"dup/hello/Makefile":       {Data: []byte("PKG_NAME:=hello\ninclude $(INCLUDE_DIR)/package.mk\n$(eval $(call BuildPackage,hello))\n")},
		"bad/Makefile":             {Data: []byte("include $(INCLUDE_DIR)/package.mk\n$(eval $(call BuildPackage,Bad/../Name))\n")},
		".git/x/Makefile":          {Data: hello},
	}
	d, err := Discover(fsys)
	if err != nil {
		t.Fatal(err)
	}
	// dup/hello comes first in the walk; utils/hello has the same folder name and package name.
	if got, want := d.PackageNames(), []string{"hello"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("packages %v, want %v", got, want)
	}
	reasons := map[string]string{}
	for _, r := range d.Refused {
		reasons[r.Dir+":"+r.Package] = r.Reason
	}
	for _, key := range []string{"kernel/foo:kmod-foo", "bad:Bad/../Name"} {
		if reasons[key] == "" {
			t.Errorf("%s not refused; refusals %v", key, reasons)
		}
	}
	if !strings.Contains(reasons["utils/hello:hello-extra"], "also named hello") {
		t.Errorf("duplicate hello not refused; refusals %v", reasons)
	}
}

// expansionBombs are Makefiles that make a naive reader's work or memory explode.
func expansionBombs() map[string][]byte {
	head := "PKG_NAME:=bomb\ninclude $(INCLUDE_DIR)/package.mk\n"
	tail := "$(eval $(call BuildPackage,bomb))\n"
	big := strings.Repeat("x", 64<<10)
	return map[string][]byte{
		// issue 9: one 64 KiB value expanded 4,096 times (1.65 GiB before the fix)
		"one long value expanded often": []byte(head + "A = " + big + "\n" + strings.Repeat("B := $(A)\n", 4096) + tail),
		// each level doubles the one below: 2^30 bytes if expanded in full
		"nested doubling": func() []byte {
			var b strings.Builder
			b.WriteString(head + "V0 = " + strings.Repeat("y", 1024) + "\n")
			for i := 1; i <= 20; i++ {
				fmt.Fprintf(&b, "V%d = $(V%d)$(V%d)\n", i, i-1, i-1)
			}
			b.WriteString(strings.Repeat("W := $(V20)\n", 20000) + tail)
			return []byte(b.String())
		}(),
		// += copies the whole value each time: quadratic
		"appending to a long value": []byte(head + "A = " + big + "\n" + strings.Repeat("A += z\n", 100000) + tail),
	}
}

func TestReadMakefileBoundsItsWork(t *testing.T) {
	for name, data := range expansionBombs() {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, ok, err := ReadMakefile("utils/bomb", data)
			runtime.ReadMemStats(&after)
			if got := after.TotalAlloc - before.TotalAlloc; got > 64<<20 && !raceDetector {
				t.Errorf("reading a %d KiB Makefile allocated %d MiB", len(data)>>10, got>>20)
			}
			if err == nil || ok || !strings.Contains(err.Error(), "utils/bomb/Makefile") || !strings.Contains(err.Error(), fmt.Sprintf("%d MiB of work", maxExpandWork>>20)) {
				t.Errorf("error %v (ok %v), want the Makefile and the limit named", err, ok)
			}
		})
	}
	_, _, err := ReadMakefile("utils/big", make([]byte, maxMakefileBytes+1))
	if err == nil || !strings.Contains(err.Error(), "utils/big/Makefile is larger than 1024 KiB") {
		t.Errorf("oversized Makefile: %v", err)
	}
	// A long value within the bounds is kept, unexpanded, as before.
	long := "PKG_NAME:=x\nA = " + strings.Repeat("a", 3000) + "\nPKG_VERSION := $(A)$(A)\ninclude $(INCLUDE_DIR)/package.mk\n$(eval $(call BuildPackage,x))\n"
	if pkg, ok, err := ReadMakefile("x", []byte(long)); err != nil || !ok || pkg.Version != "$(A)$(A)" {
		t.Errorf("long value: version %q, %v, %v", pkg.Version, ok, err)
	}
}

func TestDiscoverRefusesExpansionBomb(t *testing.T) {
	hello, err := os.ReadFile("testdata/makefiles/hello.mk")
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{
		"utils/hello/Makefile": {Data: hello},
		"utils/bomb/Makefile":  {Data: expansionBombs()["one long value expanded often"]},
		"utils/huge/Makefile":  {Data: make([]byte, 2*maxMakefileBytes)},
	}
	d, err := Discover(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.PackageNames(); !reflect.DeepEqual(got, []string{"hello", "hello-extra"}) {
		t.Fatalf("packages %v", got)
	}
	reasons := map[string]string{}
	for _, r := range d.Refused {
		reasons[r.Dir] = r.Reason
	}
	if !strings.Contains(reasons["utils/bomb"], "utils/bomb/Makefile: expanding its variables") || !strings.Contains(reasons["utils/huge"], "larger than") {
		t.Fatalf("refusals %v", reasons)
	}

	// Many Makefiles, each within its own bound, are bounded together.
	many := fstest.MapFS{}
	bomb := expansionBombs()["nested doubling"]
	for i := range 200 {
		many[fmt.Sprintf("p/b%03d/Makefile", i)] = &fstest.MapFile{Data: bomb}
	}
	d, err = Discover(many)
	if err != nil {
		t.Fatal(err)
	}
	last := d.Refused[len(d.Refused)-1]
	if len(d.Refused) >= 200 || !strings.Contains(last.Reason, "limit per repository") {
		t.Fatalf("%d refusals, the last %+v", len(d.Refused), last)
	}
}

func BenchmarkReadMakefile(b *testing.B) {
	hello, err := os.ReadFile("testdata/makefiles/hello.mk")
	if err != nil {
		b.Fatal(err)
	}
	inputs := map[string][]byte{"hello.mk": hello}
	for name, data := range expansionBombs() {
		inputs[name] = data
	}
	for name, data := range inputs {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				ReadMakefile("utils/x", data)
			}
		})
	}
}

func FuzzReadMakefile(f *testing.F) {
	for _, n := range []string{"hello.mk", "luci.mk", "kmod.mk"} {
		b, err := os.ReadFile("testdata/makefiles/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("A=$(A)$(A)\ndefine x\n"))
	for _, b := range expansionBombs() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, ok, err := ReadMakefile("d/p", data)
		if err != nil {
			if ok || !strings.Contains(err.Error(), "d/p/Makefile") {
				t.Fatalf("error %v (ok %v) does not name the Makefile", err, ok)
			}
			return
		}
		if !ok {
			return
		}
		for _, b := range pkg.Packages {
			for _, dep := range b.Depends {
				if !ValidPackageName(dep) {
					t.Fatalf("dependency %q is not a valid name", dep)
				}
			}
		}
		if len(pkg.Version) > maxExpandBytes+len(data) || len(pkg.Name) > maxExpandBytes+len(data) {
			t.Fatalf("expansion grew unbounded: %d", len(pkg.Version))
		}
	})
}
