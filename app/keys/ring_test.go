package keys

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
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

// TestRingAPKKeys: the apk pair of each role is made once, beside the usign pair, and survives
// a restart; main and preview differ; the public PEM verifies the secret's signatures.
func TestRingAPKKeys(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "keys")
	ring := NewRing(dir, nil)
	main1, err := ring.APKSecret(ctx, 7, store.KeyMain)
	if err != nil {
		t.Fatal(err)
	}
	preview, err := ring.APKSecret(ctx, 7, store.KeyPreview)
	if err != nil {
		t.Fatal(err)
	}
	if main1.ID == preview.ID {
		t.Fatal("apk main and preview keys must differ")
	}
	again, err := NewRing(dir, nil).APKSecret(ctx, 7, store.KeyAPKMain)
	if err != nil || again.ID != main1.ID {
		t.Fatalf("apk key changed across restarts: %v", err)
	}
	for path, want := range map[string]os.FileMode{
		filepath.Join(dir, "7", "apk-main.sec"):    0o600,
		filepath.Join(dir, "7", "apk-main.pub"):    0o644,
		filepath.Join(dir, "7", "apk-preview.sec"): 0o600,
	} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s has mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
	_, pemText, err := ring.APKPublic(ctx, 7, store.KeyMain)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := apksign.ParsePublicKey(pemText)
	if err != nil || pub.ID != main1.ID {
		t.Fatalf("public PEM does not parse back to the key: %v", err)
	}
	sig, err := main1.SignADB(ctx, 0x78646e69, []byte("index"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.VerifyADB(0x78646e69, []byte("index"), sig); err != nil {
		t.Fatalf("the public key does not verify the secret's signature: %v", err)
	}
	if _, err := ring.Secret(ctx, 7, store.KeyAPKMain); err == nil {
		t.Fatal("Secret must refuse an apk kind: it returns usign keys")
	}
	// The usign key is still its own.
	if _, err := ring.Existing(ctx, 7, store.KeyMain); err == nil {
		t.Fatal("making apk keys must not make a usign key")
	}
}
