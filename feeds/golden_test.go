package feeds_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

// copyIPKs copies the .ipk files of src into a new temporary folder.
func copyIPKs(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	matches, err := filepath.Glob(filepath.Join(src, "*.ipk"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no .ipk in %s: %v", src, err)
	}
	for _, m := range matches {
		b, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, filepath.Base(m)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestIndexDirGolden indexes the real SDK feed's packages and compares every file with what the
// 23.05.4 SDK wrote.
func TestIndexDirGolden(t *testing.T) {
	real := sharedFeed(t)
	dir := copyIPKs(t, real)
	res, err := feeds.IndexDir(context.Background(), dir, feeds.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Refused) != 0 {
		t.Fatalf("refused: %v", res.Refused)
	}
	if res.Arch != "mips_24kc" {
		t.Errorf("arch = %q, want mips_24kc", res.Arch)
	}
	for _, name := range []string{"Packages.manifest", "Packages", "index.json"} {
		want, err := os.ReadFile(filepath.Join(real, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the SDK's:\n got: %q\nwant: %q", name, got, want)
		}
	}
	gz, err := os.ReadFile(filepath.Join(dir, "Packages.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	if zr.Name != "" || !zr.ModTime.IsZero() {
		t.Errorf("Packages.gz carries name %q / mtime %v; gzip -9n writes neither", zr.Name, zr.ModTime)
	}
	unz, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join(real, "Packages"))
	if !bytes.Equal(unz, want) {
		t.Errorf("Packages.gz does not decompress to the SDK's Packages")
	}
	if _, err := os.Stat(filepath.Join(dir, "Packages.sig")); !os.IsNotExist(err) {
		t.Errorf("unsigned index left a Packages.sig: %v", err)
	}
}

func writeGeneratedFeed(t testing.TB, dir string, n int) {
	t.Helper()
	if _, err := feedstest.WriteFeed(dir, n, "mips_24kc", 512); err != nil {
		t.Fatal(err)
	}
}

// TestIndexDirOwnFeed runs IndexDir on a feed made here, covering what TestIndexDirGolden checks
// against the real SDK feed: Packages is the manifest without the SDK's dropped fields,
// Packages.gz decompresses to it, the signature verifies, every entry downloads with its size
// and hash, packages named kernel and libc are left out, files come in bytewise path order
// (subfolders included), and index.json lists every package.
func TestIndexDirOwnFeed(t *testing.T) {
	dir := t.TempDir()
	writeGeneratedFeed(t, dir, 12)
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	for name, data := range map[string][]byte{
		"libc_1.2.5-1_mips_24kc.ipk": feedstest.IPK(feedstest.Control("libc", "1.2.5-1", "mips_24kc"), nil),
		"kernel_6.6-1_mips_24kc.ipk": feedstest.IPK(feedstest.Control("kernel", "6.6-1", "mips_24kc"), nil),
		"sub/Zeta_1-1_mips_24kc.ipk": feedstest.IPK(feedstest.Control("Zeta", "1-1", "mips_24kc"), nil),
		"aardvark_1-1_mips_24kc.ipk": feedstest.ArIPK(feedstest.Control("aardvark", "1-1", "mips_24kc"), []byte("ar")),
		"shared-data_1-1_all.ipk":    feedstest.IPK(feedstest.Control("shared-data", "1-1", "all"), nil),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key, err := usign.Generate(nil, "own feed")
	if err != nil {
		t.Fatal(err)
	}
	res, err := feeds.IndexDir(context.Background(), dir, feeds.DirOptions{Signer: key})
	if err != nil || len(res.Refused) != 0 {
		t.Fatalf("%v %v", err, res.Refused)
	}
	if res.Arch != "mips_24kc" {
		t.Errorf("arch %s", res.Arch)
	}
	listed := checkFeed(t, dir, key.Public())
	if len(listed) != 15 || listed[0] != "aardvark 1-1" || listed[1] != "pkg00000 1.0.0-r1" || listed[13] != "shared-data 1-1" || listed[14] != "Zeta 1-1" {
		t.Fatalf("index lists %v", listed)
	}
	manifest := mustRead(t, filepath.Join(dir, "Packages.manifest"))
	if !bytes.Equal(feeds.PadPackages(packagesOf(manifest)), mustRead(t, filepath.Join(dir, "Packages"))) {
		t.Error("Packages is not the manifest without the SDK's dropped fields")
	}
	if !bytes.Contains(manifest, []byte("Maintainer: A Maintainer")) || bytes.Contains(mustRead(t, filepath.Join(dir, "Packages")), []byte("Maintainer:")) {
		t.Error("Maintainer belongs in the manifest only")
	}
	if !bytes.Contains(manifest, []byte("Filename: sub/Zeta_1-1_mips_24kc.ipk\nSize: ")) {
		t.Error("a package in a subfolder is not listed by its path")
	}
	js := string(mustRead(t, filepath.Join(dir, "index.json")))
	if strings.Count(js, `": "`) != 16 || strings.Contains(js, "libc") || strings.Contains(js, "kernel") {
		t.Errorf("index.json: %s", js)
	}
}

// packagesOf filters a whole manifest as PackagesStanza does each stanza.
func packagesOf(manifest []byte) []byte {
	var out []byte
	for _, st := range bytes.SplitAfter(manifest, []byte("\n\n")) {
		out = append(out, feeds.PackagesStanza(st)...)
	}
	return out
}
