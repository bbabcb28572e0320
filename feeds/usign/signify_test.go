package usign_test

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
	"github.com/openwrt-ppa/openwrt-ppa/internal/testenv"
)

func decode(s string) ([]byte, error) { return base64.StdEncoding.DecodeString(s) }
func encode(b []byte) string          { return base64.StdEncoding.EncodeToString(b) }

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// TestSignifyVerifiesOurs: Debian's signify-openbsd accepts our keys and signatures.
func TestSignifyVerifiesOurs(t *testing.T) {
	signify := testenv.NeedCommand(t, "signify-openbsd")
	dir := t.TempDir()
	k, err := usign.Generate(nil, "openwrt-ppa test key")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubText, _ := k.Public().MarshalText()
	secText, _ := k.MarshalText()
	msg := []byte("Package: a\nVersion: 1\n\n")
	sigText, _ := k.Sign(context.Background(), msg)
	pub, sec, m := write("key.pub", pubText), write("key.sec", secText), write("Packages", msg)
	sig := write("Packages.sig", sigText)
	run(t, signify, "-V", "-q", "-p", pub, "-m", m, "-x", sig)

	// Our secret key file works in signify too (no passphrase).
	sig2 := filepath.Join(dir, "by-signify.sig")
	run(t, signify, "-S", "-s", sec, "-m", m, "-x", sig2)
	run(t, signify, "-V", "-q", "-p", pub, "-m", m, "-x", sig2)
}

// TestWeVerifySignify: keys and signatures made by signify-openbsd work here.
func TestWeVerifySignify(t *testing.T) {
	signify := testenv.NeedCommand(t, "signify-openbsd")
	dir := t.TempDir()
	pub, sec, m, sig := filepath.Join(dir, "k.pub"), filepath.Join(dir, "k.sec"), filepath.Join(dir, "msg"), filepath.Join(dir, "msg.sig")
	run(t, signify, "-G", "-n", "-c", "made by signify", "-p", pub, "-s", sec)
	msg := []byte("hello feed\n")
	if err := os.WriteFile(m, msg, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, signify, "-S", "-s", sec, "-m", m, "-x", sig)

	pk, err := usign.ParsePublicKey(mustRead(t, pub))
	if err != nil {
		t.Fatal(err)
	}
	s, err := usign.ParseSignature(mustRead(t, sig))
	if err != nil {
		t.Fatal(err)
	}
	if err := pk.Verify(msg, s); err != nil {
		t.Fatalf("signify's signature: %v", err)
	}
	sk, err := usign.ParseSecretKey(mustRead(t, sec))
	if err != nil {
		t.Fatalf("signify's secret key: %v", err)
	}
	if sk.Fingerprint != pk.Fingerprint || pk.Comment != "made by signify public key" {
		t.Errorf("fingerprint %s vs %s, comment %q", sk.Fingerprint, pk.Fingerprint, pk.Comment)
	}
	if err := pk.Verify(msg, sk.SignBytes(msg)); err != nil {
		t.Fatalf("signing with signify's key: %v", err)
	}
}
