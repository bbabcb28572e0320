package main

import (
	"context"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysExportImportRoundTrip(t *testing.T) {
	ctx := context.Background()
	src := t.TempDir()
	// A repository with keys: made through the service's own key ring, as on a first build.
	seedKeys(t, src)
	backup := filepath.Join(t.TempDir(), "keys.json")
	var out, errb testenv.SyncBuffer
	if code := runKeys(ctx, []string{"export", "--data", src, "--out", backup}, &out, &errb); code != 0 {
		t.Fatalf("export: %d %s", code, errb.String())
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file %v %v: it holds secret keys and must be 0600", fi, err)
	}
	if !strings.Contains(errb.String(), "exported 4 keys") {
		t.Fatalf("export said %q", errb.String())
	}
	dst := t.TempDir()
	errb = testenv.SyncBuffer{}
	if code := runKeys(ctx, []string{"import", "--data", dst, backup}, &out, &errb); code != 0 {
		t.Fatalf("import: %d %s", code, errb.String())
	}
	for _, kind := range []string{"main", "preview", "apk-main", "apk-preview"} {
		a := readKey(t, src, kind)
		b := readKey(t, dst, kind)
		if a != b {
			t.Errorf("%s key differs after import", kind)
		}
	}
	// Importing again is harmless; a different key of the same repository is refused.
	errb = testenv.SyncBuffer{}
	if code := runKeys(ctx, []string{"import", "--data", dst, backup}, &out, &errb); code != 0 {
		t.Fatalf("second import: %d %s", code, errb.String())
	}
	other := t.TempDir()
	seedKeys(t, other)
	backup2 := filepath.Join(t.TempDir(), "other.json")
	if code := runKeys(ctx, []string{"export", "--data", other, "--out", backup2}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	errb = testenv.SyncBuffer{}
	if code := runKeys(ctx, []string{"import", "--data", dst, backup2}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "different key") {
		t.Fatalf("a different key must be refused: %d %s", code, errb.String())
	}
	if code := runKeys(ctx, []string{"import", "--data", dst}, &out, &errb); code != 2 {
		t.Fatalf("import without a file: %d", code)
	}
}

func readKey(t *testing.T, data, kind string) string {
	t.Helper()
	matches, _ := filepath.Glob(filepath.Join(data, "keys", "*", kind+".sec"))
	if len(matches) != 1 {
		t.Fatalf("%s: %d %s keys", data, len(matches), kind)
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
