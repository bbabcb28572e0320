package feeds_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
)

// sharedAPKFeed is the real OpenWrt 25.12 feed of the shared test data.
func sharedAPKFeed(t testing.TB) string {
	t.Helper()
	return sharedTestdata(t, "feeds/apk-25.12-x86_64")
}

// readAPKDir reads every .apk of dir, sorted by file name.
func readAPKDir(t testing.TB, dir string) []feeds.APKPackage {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.apk"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no .apk in %s: %v", dir, err)
	}
	slices.Sort(names)
	var pkgs []feeds.APKPackage
	for _, n := range names {
		p, err := feeds.ReadAPKFile(n, filepath.Base(n), 0)
		if err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func readADBFile(t testing.TB, path string) *adb.File {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	f, err := adb.ReadFile(fh, adb.Limits{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return f
}

// TestAPKIndexGolden: for the nine packages of the real 25.12 feed, the index's ADB block is the
// one apk mkndx wrote, byte for byte.
func TestAPKIndexGolden(t *testing.T) {
	dir := sharedAPKFeed(t)
	pkgs := readAPKDir(t, dir)
	key, err := apksign.Generate(nil)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := feeds.BuildAPKIndex(context.Background(), pkgs, feeds.APKIndexOptions{Arch: "x86_64", Signers: []feeds.ADBSigner{key}})
	if err != nil {
		t.Fatal(err)
	}
	real := readADBFile(t, filepath.Join(dir, "packages.adb"))
	// The written file holds that block and one signature by the key, which verifies.
	ours, err := adb.ReadFile(bytes.NewReader(ix.File), adb.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if ours.Compressed != "ADBd" || ours.Schema != adb.SchemaIndex || !bytes.Equal(ours.ADB, ix.ADB) || len(ours.Sigs) != 1 {
		t.Fatalf("packages.adb: %s, schema %x, %d signatures", ours.Compressed, ours.Schema, len(ours.Sigs))
	}
	if err := key.Public().Verify(ours); err != nil {
		t.Fatalf("our signature: %v", err)
	}
	// The real index's own signature verifies with the feed's published key.
	pubPEM, err := os.ReadFile(filepath.Join(dir, "Zerogiven_Feed.rsa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := apksign.ParsePublicKey(pubPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(real); err != nil {
		t.Fatalf("the real index's signature: %v", err)
	}
	wantJSON := "{\n  \"version\": 2,\n  \"architecture\": \"x86_64\",\n  \"packages\": {\n    \"gpio-fan-rpm\": \"2.2.0-r3\","
	if !bytes.HasPrefix(ix.IndexJSON, []byte(wantJSON)) || bytes.Count(ix.IndexJSON, []byte("\n    \"")) != 9 {
		t.Errorf("index.json:\n%s", ix.IndexJSON)
	}
	if !bytes.Equal(ix.ADB, real.ADB) {
		n := 0
		for n < min(len(ix.ADB), len(real.ADB)) && ix.ADB[n] == real.ADB[n] {
			n++
		}
		t.Fatalf("ADB block differs from mkndx's: %d bytes vs %d, first difference at offset %#x", len(ix.ADB), len(real.ADB), n)
	}
}

// TestIndexAPKDirRealFeed indexes a copy of the real feed's folder: the four packages whose file
// names routers would not ask for (the feed's defect) are refused with the name to use.
func TestIndexAPKDirRealFeed(t *testing.T) {
	src := sharedAPKFeed(t)
	dir := t.TempDir()
	names, _ := filepath.Glob(filepath.Join(src, "*.apk"))
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), mustRead(t, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := feeds.IndexAPKDir(context.Background(), dir, feeds.APKDirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Arch != "x86_64" || len(res.Index.Entries) != 5 || len(res.Refused) != 4 {
		t.Fatalf("arch %s, %d indexed, refused %v", res.Arch, len(res.Index.Entries), res.Refused)
	}
	for _, r := range res.Refused {
		if !strings.HasSuffix(r.File, "_x86_64_25.12.apk") || !strings.Contains(r.Error(), "a router asks for "+strings.TrimSuffix(r.File, "_x86_64_25.12.apk")+".apk") {
			t.Errorf("refusal %v", r)
		}
	}
	if _, entries, err := feeds.ReadAPKIndex(bytes.NewReader(mustRead(t, filepath.Join(dir, "packages.adb")))); err != nil || len(entries) != 5 {
		t.Fatalf("written index: %d entries, %v", len(entries), err)
	}
}
