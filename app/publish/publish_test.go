package publish

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/app/internal/datadir"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestQuotaRefusesAPublishThatWouldExceedIt(t *testing.T) {
	data := t.TempDir()
	p := &Publisher{Data: datadir.Dir(data), QuotaMB: 1}
	repo := store.Repository{Owner: "alice", Name: "pkgs"}
	dir := filepath.Join(data, "feeds", "alice", "pkgs", "main", "24.10", "x86_64")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "old_1.0_x86_64.ipk"), make([]byte, 700<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(t.TempDir(), "new_1.0_x86_64.ipk")
	if err := os.WriteFile(small, make([]byte, 100<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.checkQuota(repo, []string{small}); err != nil {
		t.Fatalf("800 KB of a 1 MB quota refused: %v", err)
	}
	big := filepath.Join(t.TempDir(), "big_1.0_x86_64.ipk")
	if err := os.WriteFile(big, make([]byte, 400<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	err := p.checkQuota(repo, []string{big})
	if !errors.Is(err, ErrOverQuota) || !strings.Contains(err.Error(), "delete old branches") {
		t.Fatalf("1.1 MB of a 1 MB quota: %v", err)
	}
}
