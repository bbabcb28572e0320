package feeds_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
)

func sampleSpec() feeds.APKSpec {
	return feeds.APKSpec{
		Info: feeds.APKInfo{
			Name: "hello", Version: "1.2.3-r1", Arch: "x86_64", Description: "says hello\nin two lines",
			License: "MIT", Origin: "/feed/hello", Maintainer: "A <a@example.org>", URL: "https://example.org",
			ProviderPriority: 10,
			Depends:          []feeds.APKDep{{Name: "libc"}, {Name: "libubox", Version: "2024.1", Match: adb.MatchGreater | adb.MatchEqual}, {Name: "libc"}, {Name: "bad", Match: adb.MatchConflict}},
			Provides:         []feeds.APKDep{{Name: "hello-any", Version: "1.2.3-r1"}},
			Tags:             []string{"openwrt:abiversion=1"},
		},
		Files: []feeds.APKFile{
			{Path: "usr/bin/hello", Data: []byte("#!/bin/sh\necho hello\n"), Mode: 0o755},
			{Path: "lib/apk/packages/hello.list", Data: []byte("/usr/bin/hello\n")},
			{Path: "usr/bin/hi", Link: "hello"},
			{Path: "etc/empty", Data: nil},
		},
		Scripts: map[string]string{"post-install": "#!/bin/sh\nexit 0\n"},
		Mtime:   1700000000,
	}
}

func writeAPK(t testing.TB, spec feeds.APKSpec, signers ...feeds.ADBSigner) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := feeds.WriteAPK(context.Background(), &b, spec, signers...); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteReadAPK: a package written by WriteAPK reads back with the same metadata, its
// signature verifies, and its layout is apk's.
func TestWriteReadAPK(t *testing.T) {
	key, err := apksign.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	spec := sampleSpec()
	data := writeAPK(t, spec, key)
	if !bytes.HasPrefix(data, []byte("ADBd")) {
		t.Fatalf("starts with %q", data[:4])
	}
	if again := writeAPK(t, spec); !bytes.Equal(stripSigs(t, again), stripSigs(t, data)) {
		t.Error("the same spec wrote a different ADB block")
	}
	p, err := feeds.ReadAPK(bytes.NewReader(data), "hello-1.2.3-r1.apk", 0)
	if err != nil {
		t.Fatal(err)
	}
	want := spec.Info
	want.Depends = []feeds.APKDep{{Name: "bad", Match: adb.MatchConflict | adb.MatchAny}, {Name: "libc"}, {Name: "libubox", Version: "2024.1", Match: adb.MatchGreater | adb.MatchEqual}}
	want.InstalledSize = uint64(len(spec.Files[0].Data) + len(spec.Files[1].Data))
	if !reflect.DeepEqual(p.Info, want) {
		t.Fatalf("read back:\n%+v\nwant\n%+v", p.Info, want)
	}
	var deps []string
	for _, d := range p.Info.Depends {
		deps = append(deps, d.String())
	}
	if got := strings.Join(deps, " "); got != "!bad libc libubox>=2024.1" {
		t.Errorf("depends = %q", got)
	}
	if p.Size != int64(len(data)) || p.SHA256 != hexSum(data) || len(p.SignedBy) != 1 || apksign.KeyID(p.SignedBy[0]) != key.ID {
		t.Errorf("size %d sha %s signed by %v", p.Size, p.SHA256, p.SignedBy)
	}
	f, err := adb.ReadFile(bytes.NewReader(data), adb.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if p.Identity != sha256.Sum256(f.ADB) {
		t.Error("identity is not SHA-256 of the ADB block")
	}
	if err := key.Public().Verify(f); err != nil {
		t.Errorf("package signature: %v", err)
	}
	// Two regular files with content: two DATA blocks of 8 bytes of index plus the content.
	if f.DataBlocks != 2 || f.DataBytes != int64(16+len(spec.Files[0].Data)+len(spec.Files[1].Data)) {
		t.Errorf("%d data blocks, %d bytes", f.DataBlocks, f.DataBytes)
	}
	// The unique id in pkginfo is SHA-256 of the block with the id zeroed, cut to 20 bytes.
	db := adb.DB(f.ADB)
	root, _ := db.Obj(db.Root())
	info, _ := root.Obj(adb.PackageInfo)
	uid, _ := info.Blob(adb.InfoHashes)
	zeroed := bytes.Clone(f.ADB)
	copy(zeroed[bytes.Index(zeroed, uid):], make([]byte, 20))
	if sum := sha256.Sum256(zeroed); len(uid) != 20 || !bytes.Equal(uid, sum[:20]) {
		t.Errorf("unique id %x", uid)
	}
}

func stripSigs(t testing.TB, data []byte) []byte {
	f, err := adb.ReadFile(bytes.NewReader(data), adb.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return f.ADB
}

func TestWriteAPKRefusesBadSpecs(t *testing.T) {
	cases := map[string]func(*feeds.APKSpec){
		"bad name":        func(s *feeds.APKSpec) { s.Info.Name = "-x" },
		"bad version":     func(s *feeds.APKSpec) { s.Info.Version = "1.0-1" },
		"bad dep":         func(s *feeds.APKSpec) { s.Info.Depends = []feeds.APKDep{{Name: "a b"}} },
		"bad dep version": func(s *feeds.APKSpec) { s.Info.Depends = []feeds.APKDep{{Name: "a", Version: "x!"}} },
		"control char":    func(s *feeds.APKSpec) { s.Info.License = "MIT\x1b[31m" },
		"absolute path":   func(s *feeds.APKSpec) { s.Files = []feeds.APKFile{{Path: "/etc/x"}} },
		"dot dot":         func(s *feeds.APKSpec) { s.Files = []feeds.APKFile{{Path: "../x"}} },
		"twice":           func(s *feeds.APKSpec) { s.Files = append(s.Files, s.Files[0]) },
		"unknown script":  func(s *feeds.APKSpec) { s.Scripts = map[string]string{"post-everything": "x"} },
	}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			spec := sampleSpec()
			change(&spec)
			if err := feeds.WriteAPK(context.Background(), new(bytes.Buffer), spec); err == nil {
				t.Fatal("written")
			}
		})
	}
}

// rawAPK builds a package whose pkginfo slots are set by fill, bypassing WriteAPK's checks: the
// packages a hostile build could make.
func rawAPK(t testing.TB, fill func(w *adb.Writer, slots []adb.Val)) []byte {
	t.Helper()
	w := adb.NewWriter()
	slots := make([]adb.Val, adb.InfoFields)
	slots[adb.InfoName-1] = w.String("evil")
	slots[adb.InfoVersion-1] = w.String("1.0-r0")
	slots[adb.InfoArch-1] = w.String("x86_64")
	fill(w, slots)
	info := w.Object(adb.TypeObject, slots)
	payload, err := w.Payload(w.Object(adb.TypeObject, []adb.Val{info}))
	if err != nil {
		t.Fatal(err)
	}
	out, err := adb.Compress(adb.Encode(adb.SchemaPackage, payload), 1)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReadAPKRefuses(t *testing.T) {
	good := writeAPK(t, sampleSpec())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("a v2 package"))
	zw.Close()
	ixPayload := append(make([]byte, 8), 0)
	index, _ := adb.Compress(adb.Encode(adb.SchemaIndex, ixPayload), 1)
	set := func(i int, s string) func(*adb.Writer, []adb.Val) {
		return func(w *adb.Writer, slots []adb.Val) { slots[i-1] = w.String(s) }
	}
	dep := func(name, version string, match uint64) func(*adb.Writer, []adb.Val) {
		return func(w *adb.Writer, slots []adb.Val) {
			d := w.Object(adb.TypeObject, []adb.Val{w.String(name), w.String(version), w.Int(match)})
			slots[adb.InfoDepends-1] = w.Object(adb.TypeObject, []adb.Val{d})
		}
	}
	cases := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"empty", nil, "not an apk v3"},
		{"v2 package", gz.Bytes(), "not an apk v3"},
		{"index", index, "not \"pckg\""},
		{"zstd", []byte("ADBc\x02\x00xxxxxxxx"), "zstd"},
		{"unknown compression", []byte("ADBx1234"), "unknown compression"},
		{"truncated", good[:len(good)/2], "unexpected EOF"},
		{"trailing data", append(bytes.Clone(good), "junk"...), "after the end of the compressed stream"},
		{"bad name", rawAPK(t, set(adb.InfoName, "evil\nPackage: x")), "control character"},
		{"name with space", rawAPK(t, set(adb.InfoName, "a b")), "package name"},
		{"bad version", rawAPK(t, set(adb.InfoVersion, "1.0-1")), "not an apk version"},
		{"no arch", rawAPK(t, set(adb.InfoArch, "")), "missing architecture"},
		{"escape in url", rawAPK(t, set(adb.InfoURL, "https://x\x1b]8;;")), "control character"},
		{"huge description", rawAPK(t, set(adb.InfoDescription, strings.Repeat("x", 9000))), "over the limit"},
		{"not UTF-8", rawAPK(t, set(adb.InfoLicense, "\xff\xfe")), "UTF-8"},
		{"dep name", rawAPK(t, dep("a b", "", 0)), "dependency name"},
		{"dep version", rawAPK(t, dep("a", "1..2", 0)), "not an apk version"},
		{"dep match", rawAPK(t, dep("a", "1", 99)), "match bits"},
		{"string as number", rawAPK(t, func(w *adb.Writer, s []adb.Val) { s[adb.InfoInstalledSize-1] = w.String("12") }), "not a number"},
		{"number as string", rawAPK(t, func(w *adb.Writer, s []adb.Val) { s[adb.InfoName-1] = w.Int(5) }), "not a string"},
		{"bad tag", rawAPK(t, func(w *adb.Writer, s []adb.Val) {
			s[adb.InfoTags-1] = w.Object(adb.TypeObject, []adb.Val{w.String("a b")})
		}), "tag"},
		{"dangling offset", rawAPK(t, func(w *adb.Writer, s []adb.Val) { s[adb.InfoOrigin-1] = adb.TypeBlob8 | 0xfffff }), "past the end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := feeds.ReadAPK(bytes.NewReader(c.data), "x.apk", 0)
			var pe *feeds.PackageError
			if !errors.As(err, &pe) || pe.File != "x.apk" {
				t.Fatalf("err = %v, want a PackageError", err)
			}
			if !strings.Contains(err.Error(), c.reason) {
				t.Fatalf("err = %v, want it to say %q", err, c.reason)
			}
		})
	}
	if _, err := feeds.ReadAPK(bytes.NewReader(good), "x.apk", int64(len(good)-1)); err == nil || !strings.Contains(err.Error(), "larger than the limit") {
		t.Errorf("over the size cap: %v", err)
	}
}

// TestAPKIndexOverridesPackageFields: a package cannot choose the size or hash routers check: the
// index writes its own, whatever pkginfo claims.
func TestAPKIndexOverridesPackageFields(t *testing.T) {
	data := rawAPK(t, func(w *adb.Writer, s []adb.Val) {
		s[adb.InfoFileSize-1] = w.Int(1)
		s[adb.InfoHashes-1] = w.Blob(bytes.Repeat([]byte{0xaa}, 32))
	})
	p, err := feeds.ReadAPK(bytes.NewReader(data), "evil-1.0-r0.apk", 0)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := feeds.BuildAPKIndex(context.Background(), []feeds.APKPackage{p}, feeds.APKIndexOptions{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	_, entries, err := feeds.ReadAPKIndex(bytes.NewReader(ix.File))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Info.FileSize != uint64(len(data)) || entries[0].Identity != p.Identity {
		t.Fatalf("entry %+v: want file-size %d and the package's identity", entries, len(data))
	}
}

// TestAPKIndexOwnPackages indexes packages made here: every entry reads back, sorted by name
// then apk version order, signed, and index.json lists names without their ABI suffix.
func TestAPKIndexOwnPackages(t *testing.T) {
	key, _ := apksign.Generate(nil)
	var pkgs []feeds.APKPackage
	for _, nv := range [][2]string{{"zeta", "1.0-r0"}, {"alpha", "1.10-r0"}, {"alpha", "1.9-r0"}, {"libfoo1", "2.0-r0"}, {"alpha", "1.10_rc1-r0"}} {
		spec := sampleSpec()
		spec.Info.Name, spec.Info.Version, spec.Info.Tags = nv[0], nv[1], nil
		if nv[0] == "libfoo1" {
			spec.Info.Tags = []string{"openwrt:abiversion=1"}
		}
		data := writeAPK(t, spec)
		p, err := feeds.ReadAPK(bytes.NewReader(data), nv[0]+"-"+nv[1]+".apk", 0)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	ix, err := feeds.BuildAPKIndex(context.Background(), pkgs, feeds.APKIndexOptions{Arch: "x86_64", Signers: []feeds.ADBSigner{key}})
	if err != nil {
		t.Fatal(err)
	}
	f, entries, err := feeds.ReadAPKIndex(bytes.NewReader(ix.File))
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Public().Verify(f); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i, e := range entries {
		got = append(got, e.Info.Name+"-"+e.Info.Version)
		if ix.Entries[i].Name != e.Info.Name || ix.Entries[i].Version != e.Info.Version {
			t.Errorf("entry %d: %+v vs %+v", i, ix.Entries[i], e.Info)
		}
	}
	want := "alpha-1.9-r0 alpha-1.10_rc1-r0 alpha-1.10-r0 libfoo1-2.0-r0 zeta-1.0-r0"
	if strings.Join(got, " ") != want {
		t.Errorf("order %v, want %s", got, want)
	}
	wantJSON := "{\n  \"version\": 2,\n  \"architecture\": \"x86_64\",\n  \"packages\": {\n    \"alpha\": \"1.10-r0\",\n    \"libfoo\": \"2.0-r0\",\n    \"zeta\": \"1.0-r0\"\n  }\n}\n"
	if string(ix.IndexJSON) != wantJSON {
		t.Errorf("index.json:\n%s\nwant\n%s", ix.IndexJSON, wantJSON)
	}
	// Input order does not change the entries' order.
	rev := []feeds.APKPackage{pkgs[4], pkgs[3], pkgs[2], pkgs[1], pkgs[0]}
	ix2, _ := feeds.BuildAPKIndex(context.Background(), rev, feeds.APKIndexOptions{Arch: "x86_64"})
	for i := range ix.Entries {
		if ix.Entries[i] != ix2.Entries[i] {
			t.Fatalf("reversed input: entry %d is %+v, not %+v", i, ix2.Entries[i], ix.Entries[i])
		}
	}
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
