package builder

import (
	"os"
	"reflect"
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
			got, ok := ReadMakefile(tc.dir, tc.data)
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

func FuzzReadMakefile(f *testing.F) {
	for _, n := range []string{"hello.mk", "luci.mk", "kmod.mk"} {
		b, err := os.ReadFile("testdata/makefiles/" + n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("A=$(A)$(A)\ndefine x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pkg, ok := ReadMakefile("d/p", data)
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
		if len(pkg.Version) > 1<<16 || len(pkg.Name) > 1<<16 {
			t.Fatalf("expansion grew unbounded: %d", len(pkg.Version))
		}
	})
}
