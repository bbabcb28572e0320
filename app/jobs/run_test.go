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
	// An empty file is there (and wins over a stored configuration): never nil.
	if err := os.WriteFile(filepath.Join(dir, "empty.yml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := readRepoFile(dir, "empty.yml"); err != nil || b == nil {
		t.Fatalf("empty file: %q %v, want empty and not nil", b, err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(dir, ".openwrt-ppa.yml")); err != nil {
		t.Fatal(err)
	}
	if _, err := readRepoFile(dir, ".openwrt-ppa.yml"); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a symlinked config must be refused, got %v", err)
	}
}
