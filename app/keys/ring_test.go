package keys

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/store"
)

func TestKeyRingFilesAreMadeOnceAndPrivate(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	ring := NewRing(dir, nil)
	main1, err := ring.Secret(ctx, 7, store.KeyMain)
	if err != nil {
		t.Fatal(err)
	}
	preview, err := ring.Secret(ctx, 7, store.KeyPreview)
	if err != nil {
		t.Fatal(err)
	}
	if main1.Fingerprint == preview.Fingerprint {
		t.Fatal("main and preview keys must differ, so routers trusting main never accept a pull request's packages")
	}
	// A new ring on the same folder (a restart) reads the same key back.
	main2, err := NewRing(dir, nil).Secret(ctx, 7, store.KeyMain)
	if err != nil || main2.Fingerprint != main1.Fingerprint {
		t.Fatalf("key changed across restarts: %v %v", main2, err)
	}
	for path, want := range map[string]os.FileMode{
		dir:                                    0o700,
		filepath.Join(dir, "7", "main.sec"):    0o600,
		filepath.Join(dir, "7", "main.pub"):    0o644,
		filepath.Join(dir, "7", "preview.sec"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	pub, text, err := ring.Public(ctx, 7, store.KeyMain)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := usign.ParsePublicKey(text)
	if err != nil || parsed.Fingerprint != pub.Fingerprint {
		t.Fatalf("public key file does not parse back: %v", err)
	}
	sig := main1.SignBytes([]byte("Packages"))
	if err := parsed.Verify([]byte("Packages"), sig); err != nil {
		t.Fatalf("public key does not verify the secret key's signature: %v", err)
	}
	if _, err := ring.Secret(ctx, 7, "other"); err == nil {
		t.Fatal("an unknown key kind must be refused")
	}
}
