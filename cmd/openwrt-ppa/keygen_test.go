package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	if strings.TrimSpace(out.String()) != key.Fingerprint.String() || pub.Fingerprint != key.Fingerprint {
		t.Fatalf("printed %q, key %s, pub %s", out.String(), key.Fingerprint, pub.Fingerprint)
	}
	if err := pub.Verify([]byte("m"), key.SignBytes([]byte("m"))); err != nil {
		t.Fatal(err)
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
