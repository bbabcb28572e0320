package usign_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func realFeed(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		p := filepath.Join(dir, "..", "shared", "testdata", "feeds", "sdk-23.05.4-mips_24kc")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if filepath.Dir(dir) == dir {
			testenv.MissingData(t, "shared test data feeds/sdk-23.05.4-mips_24kc", "the real SDK feed ../shared/testdata/feeds/sdk-23.05.4-mips_24kc beside the repository, to verify the SDK's own signature; TestVerifyOwnFeed covers the same code on a feed signed here")
		}
		dir = filepath.Dir(dir)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVerifyRealFeed verifies the signature the OpenWrt SDK made over the real feed.
func TestVerifyRealFeed(t *testing.T) {
	dir := realFeed(t)
	pub, err := usign.ParsePublicKey(mustRead(t, filepath.Join(dir, "pekmop1024-repo.pub")))
	if err != nil {
		t.Fatal(err)
	}
	if got := pub.Fingerprint.String(); got != "7080a806f8110acc" {
		t.Errorf("fingerprint = %s, want 7080a806f8110acc (SOURCE.txt)", got)
	}
	sig, err := usign.ParseSignature(mustRead(t, filepath.Join(dir, "Packages.sig")))
	if err != nil {
		t.Fatal(err)
	}
	packages := mustRead(t, filepath.Join(dir, "Packages"))
	if err := pub.Verify(packages, sig); err != nil {
		t.Fatalf("real signature does not verify: %v", err)
	}
	tampered := append(bytes.Clone(packages), '\n')
	if err := pub.Verify(tampered, sig); err == nil {
		t.Fatal("a changed Packages verified")
	}
}

// TestVerifyOwnFeed is TestVerifyRealFeed on a feed indexed and signed with the project's own
// tools: the signature file read back verifies Packages, and not a changed one.
func TestVerifyOwnFeed(t *testing.T) {
	dir := t.TempDir()
	if _, err := feedstest.WriteFeed(dir, 5, "mips_24kc", 64); err != nil {
		t.Fatal(err)
	}
	k, err := usign.Generate(nil, "own feed key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := feeds.IndexDir(context.Background(), dir, feeds.DirOptions{Signer: k}); err != nil {
		t.Fatal(err)
	}
	pubText, _ := k.Public().MarshalText()
	pub, err := usign.ParsePublicKey(pubText)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := usign.ParseSignature(mustRead(t, filepath.Join(dir, "Packages.sig")))
	if err != nil {
		t.Fatal(err)
	}
	if sig.Fingerprint != k.Fingerprint || !strings.Contains(sig.Comment, k.Fingerprint.String()) {
		t.Errorf("signature by %s (%q), want key %s", sig.Fingerprint, sig.Comment, k.Fingerprint)
	}
	packages := mustRead(t, filepath.Join(dir, "Packages"))
	if err := pub.Verify(packages, sig); err != nil {
		t.Fatalf("own signature does not verify: %v", err)
	}
	if err := pub.Verify(append(bytes.Clone(packages), '\n'), sig); err == nil {
		t.Fatal("a changed Packages verified")
	}
}

// TestRoundTrip writes and reads back every file kind, then signs and verifies.
func TestRoundTrip(t *testing.T) {
	k, err := usign.Generate(nil, "test key")
	if err != nil {
		t.Fatal(err)
	}
	skText, _ := k.MarshalText()
	k2, err := usign.ParseSecretKey(skText)
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := k2.Public().MarshalText()
	pub, err := usign.ParsePublicKey(pubText)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Fingerprint != k.Fingerprint {
		t.Fatal("fingerprint lost in the round trip")
	}
	msg := []byte("Package: x\n")
	sigText, err := k2.Sign(context.Background(), msg)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := usign.ParseSignature(sigText)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Verify(msg, sig); err != nil {
		t.Fatal(err)
	}
	other, _ := usign.Generate(nil, "")
	if err := other.Public().Verify(msg, sig); err == nil || !strings.Contains(err.Error(), "not by key") {
		t.Fatalf("another key verified, or said %v", err)
	}
}

func TestParseRefuses(t *testing.T) {
	k, _ := usign.Generate(nil, "c")
	good, _ := k.MarshalText()
	pub, _ := k.Public().MarshalText()
	cases := map[string]struct {
		data  []byte
		parse func([]byte) error
		want  string
	}{
		"no comment":         {[]byte("RWRwgKgG+BEKzNdCdqL9kdo5TpG5GFpdEfxwBYHb2i52o2UCO2ez1TqZ\n"), pubParse, "must start"},
		"not base64":         {[]byte("untrusted comment: x\n@@@\n"), pubParse, "not base64"},
		"secret as public":   {good, pubParse, "want 42"},
		"public as secret":   {pub, secParse, "want 104"},
		"damaged secret key": {damage(t, good, 50), secParse, "checksum"},
		"passphrase":         {withRounds(t, good), secParse, "passphrase"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			err := tc.parse(tc.data)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func pubParse(b []byte) error { _, err := usign.ParsePublicKey(b); return err }
func secParse(b []byte) error { _, err := usign.ParseSecretKey(b); return err }

// damage flips one byte of the decoded key blob at off.
func damage(t *testing.T, file []byte, off int) []byte {
	return editBlob(t, file, func(b []byte) { b[off] ^= 0xff })
}

func withRounds(t *testing.T, file []byte) []byte {
	return editBlob(t, file, func(b []byte) { b[7] = 42 })
}

func editBlob(t *testing.T, file []byte, edit func([]byte)) []byte {
	t.Helper()
	lines := strings.SplitN(string(file), "\n", 3)
	blob, err := decode(lines[1])
	if err != nil {
		t.Fatal(err)
	}
	edit(blob)
	return []byte(lines[0] + "\n" + encode(blob) + "\n")
}
