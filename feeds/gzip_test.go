package feeds_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

// TestPackagesGzDecodes: Packages.gz is assembled from independently compressed chunks; GNU
// gzip and busybox (what routers run) must decode it to Packages, for empty, padded and
// many-chunk indexes.
func TestPackagesGzDecodes(t *testing.T) {
	gzip := testenv.NeedCommand(t, "gzip")
	busybox := testenv.NeedCommand(t, "busybox")
	for _, n := range []int{0, 1, 7, 800} {
		t.Run(fmt.Sprint(n, " packages"), func(t *testing.T) {
			var pkgs []feeds.Package
			for i := range n {
				c, err := feeds.ParseControl([]byte(feedstest.Control(feedstest.GeneratedName(i), "1.0-1", "x86_64")))
				if err != nil {
					t.Fatal(err)
				}
				pkgs = append(pkgs, feeds.Package{Filename: feedstest.GeneratedName(i) + ".ipk", Size: int64(i), SHA256: strings.Repeat("0", 64), Control: c})
			}
			ix, err := feeds.BuildIndex(pkgs, feeds.IndexOptions{Arch: "x86_64"})
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "Packages.gz")
			if err := os.WriteFile(p, ix.PackagesGz, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, cmd := range [][]string{{gzip, "-dc", p}, {busybox, "gzip", "-dc", p}} {
				out, err := exec.Command(cmd[0], cmd[1:]...).Output()
				if err != nil || !bytes.Equal(out, ix.Packages) {
					t.Fatalf("%v: %v, %d bytes, want %d", cmd, err, len(out), len(ix.Packages))
				}
			}
		})
	}
}

// TestUsignPadding: where (64 + size) % 128 is 110 or 111, Packages gets two more newlines (the
// SDK's workaround for old usign), and Packages.gz still decodes to it.
func TestUsignPadding(t *testing.T) {
	gzip := testenv.NeedCommand(t, "gzip")
	hits := 0
	for k := range 128 {
		ctl := fmt.Sprintf("Package: pad\nVersion: 1\nArchitecture: all\nDescription: %s\n", strings.Repeat("x", k+1))
		c, err := feeds.ParseControl([]byte(ctl))
		if err != nil {
			t.Fatal(err)
		}
		ix, err := feeds.BuildIndex([]feeds.Package{{Filename: "pad.ipk", Size: 1, SHA256: strings.Repeat("0", 64), Control: c}}, feeds.IndexOptions{Arch: "all"})
		if err != nil {
			t.Fatal(err)
		}
		unpadded := len(feeds.PackagesStanza(feeds.ManifestStanza(ix.Entries[0])))
		m := (64 + unpadded) % 128
		wantPad := m == 110 || m == 111
		if padded := len(ix.Packages) == unpadded+2 && strings.HasSuffix(string(ix.Packages), "\n\n\n"); padded != wantPad || !padded && len(ix.Packages) != unpadded {
			t.Fatalf("k=%d: size %d (mod %d), Packages %d bytes; padding expected %v", k, unpadded, m, len(ix.Packages), wantPad)
		}
		if wantPad {
			hits++
			p := filepath.Join(t.TempDir(), "Packages.gz")
			os.WriteFile(p, ix.PackagesGz, 0o644)
			out, err := exec.Command(gzip, "-dc", p).Output()
			if err != nil || !bytes.Equal(out, ix.Packages) {
				t.Fatalf("padded Packages.gz: %v", err)
			}
		}
	}
	if hits != 2 {
		t.Fatalf("%d lengths were padded, want 2 of 128", hits)
	}
}
