package feeds_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
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

// TestIndexMatchesSDKScript runs OpenWrt's own ipkg-make-index.sh, when a copy is in /tmp (see
// the benchmark), over generated packages and compares the manifests byte for byte.
func TestIndexMatchesSDKScript(t *testing.T) {
	script, mkhash := sdkScript(t)
	dir := t.TempDir()
	writeGeneratedFeed(t, dir, 40)
	cmd := exec.Command("bash", script, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MKHASH="+mkhash)
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("ipkg-make-index.sh: %v", err)
	}
	res, err := feeds.IndexDir(context.Background(), dir, feeds.DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(res.Index.Manifest, want) {
		t.Errorf("manifest differs from ipkg-make-index.sh:\n got: %q\nwant: %q", res.Index.Manifest, want)
	}
}

// sdkScript returns OpenWrt's scripts/ipkg-make-index.sh when a copy was put at
// $OPENWRT_PPA_IPKG_MAKE_INDEX (default /tmp/ipkgbench/ipkg-make-index.sh), and a MKHASH for it.
// The project does not ship OpenWrt's script; without it the comparison is skipped.
func sdkScript(t testing.TB) (script, mkhash string) {
	t.Helper()
	p := os.Getenv("OPENWRT_PPA_IPKG_MAKE_INDEX")
	if p == "" {
		p = "/tmp/ipkgbench/ipkg-make-index.sh"
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("SKIPPED — OpenWrt's ipkg-make-index.sh is not at %s (set OPENWRT_PPA_IPKG_MAKE_INDEX to a copy of scripts/ipkg-make-index.sh)", p)
	}
	for _, tool := range []string{"bash", "sha256sum", "tar", "sed", "stat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("SKIPPED — %s is not installed", tool)
		}
	}
	// OpenWrt's mkhash prints the bare digest; sha256sum gives the same hash.
	mkhash = filepath.Join(t.TempDir(), "mkhash")
	if err := os.WriteFile(mkhash, []byte("#!/bin/sh\nsha256sum \"$2\" | cut -d' ' -f1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p, mkhash
}

func writeGeneratedFeed(t testing.TB, dir string, n int) {
	t.Helper()
	if _, err := feedstest.WriteFeed(dir, n, "mips_24kc", 512); err != nil {
		t.Fatal(err)
	}
}
