package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRepoFileRefusesSymlinks(t *testing.T) {
	dir := t.TempDir()
	if b, err := readRepoFile(dir, ".openwrt-ppa.yml"); err != nil || b != nil {
		t.Fatalf("missing file: %q %v", b, err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, ".openwrt-ppa.yml")); err != nil {
		t.Fatal(err)
	}
	if _, err := readRepoFile(dir, ".openwrt-ppa.yml"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a symlinked config must be refused, got %v", err)
	}
}
