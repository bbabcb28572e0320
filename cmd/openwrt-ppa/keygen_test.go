package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	var out, errb bytes.Buffer
	if code := runKeygen(context.Background(), []string{"--out", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	sec, err := os.ReadFile(filepath.Join(dir, "key-build"))
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(filepath.Join(dir, "key-build"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret key mode %v, want 0600", fi.Mode().Perm())
	}
	key, err := usign.ParseSecretKey(sec)
	if err != nil {
		t.Fatal(err)
	}
	pubText, _ := os.ReadFile(filepath.Join(dir, "key-build.pub"))
	pub, err := usign.ParsePublicKey(pubText)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || lines[0] != key.Fingerprint.String() || pub.Fingerprint != key.Fingerprint {
		t.Fatalf("printed %q, key %s, pub %s", out.String(), key.Fingerprint, pub.Fingerprint)
	}
	if err := pub.Verify([]byte("m"), key.SignBytes([]byte("m"))); err != nil {
		t.Fatal(err)
	}
	// The apk pair: PEM, the secret one private, the id printed second.
	asec, err := apksign.ParseSecretKey(mustReadFile(t, filepath.Join(dir, "private-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	apub, err := apksign.ParsePublicKey(mustReadFile(t, filepath.Join(dir, "public-key.pem")))
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "private-key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("apk secret key mode %v, want 0600", fi.Mode().Perm())
	}
	if lines[1] != asec.ID.String() || apub.ID != asec.ID {
		t.Fatalf("printed apk id %q, key %s, public %s", lines[1], asec.ID, apub.ID)
	}

	// A second run keeps the key unless told --force.
	errb.Reset()
	if code := runKeygen(context.Background(), []string{"--out", dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "--force") {
		t.Fatalf("overwrote a key: exit %d, %s", code, errb.String())
	}
	if code := runKeygen(context.Background(), []string{"--out", dir, "--force"}, &out, &errb); code != 0 {
		t.Fatalf("--force: exit %d", code)
	}
}

func TestKeygenUsage(t *testing.T) {
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: openwrt-ppa keygen"},
		{nil, 2, "--out DIR"},
		{[]string{"--out", "x", "extra"}, 2, "--out DIR"},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runKeygen(context.Background(), tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
		})
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeygenTypes: --type makes one kind only, and --force is needed only for the files it writes.
func TestKeygenTypes(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := runKeygen(context.Background(), []string{"--out", dir, "--type", "usign"}, &out, &errb); code != 0 {
		t.Fatalf("usign: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "private-key.pem")); err == nil {
		t.Fatal("--type usign wrote an apk key")
	}
	out.Reset()
	if code := runKeygen(context.Background(), []string{"--out", dir, "--type", "apk"}, &out, &errb); code != 0 {
		t.Fatalf("apk next to usign: exit %d: %s", code, errb.String())
	}
	if id := strings.TrimSpace(out.String()); len(id) != 32 {
		t.Fatalf("printed %q, want one 32-hex key id", id)
	}
	if code := runKeygen(context.Background(), []string{"--out", dir, "--type", "rsa"}, &out, &errb); code != 2 {
		t.Fatalf("--type rsa: exit %d", code)
	}
}
