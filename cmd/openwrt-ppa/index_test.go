package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

func TestIndexCommand(t *testing.T) {
	keys := t.TempDir()
	var out, errb bytes.Buffer
	if code := runKeygen(context.Background(), []string{"--out", keys}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good_1.0-1_x86_64.ipk", feedstest.IPK(feedstest.Control("good", "1.0-1", "x86_64"), []byte("x")))
	write("libfoo1_2-1_x86_64.ipk", feedstest.IPK("Package: libfoo1\nVersion: 2-1\nABIVersion: 1\nArchitecture: x86_64\nDescription: lib\n", nil))
	write("stale.sig", nil)

	cases := []struct {
		name     string
		args     []string
		bad      bool // add a refused package first
		code     int
		listed   string
		json     string
		signed   bool
		stderrIs string
	}{
		{name: "unsigned v1", args: []string{dir}, code: 0, listed: "good,libfoo1", json: `{"architecture": "x86_64", "packages":{"good": "1.0-1", "libfoo1": "2-1"}}` + "\n"},
		{name: "signed v2", args: []string{"--sign", filepath.Join(keys, "key-build"), "--index-json", "2", dir}, code: 0, listed: "good,libfoo1", signed: true,
			json: "{\n  \"version\": 2,\n  \"architecture\": \"x86_64\",\n  \"packages\": {\n    \"good\": \"1.0-1\",\n    \"libfoo\": \"2-1\"\n  }\n}\n"},
		{name: "refused package", args: []string{"--sign", filepath.Join(keys, "key-build"), dir}, bad: true, code: 1, listed: "good,libfoo1", signed: true, stderrIs: "refused evil_1_x86_64.ipk: control file line 4: blank line"},
		{name: "unsigned removes stale signature", args: []string{dir}, code: 1, listed: "good,libfoo1", stderrIs: "1 package(s) refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.bad {
				write("evil_1_x86_64.ipk", feedstest.IPK("Package: evil\nVersion: 1\nArchitecture: x86_64\n\nPackage: forged\n", nil))
			}
			var out, errb bytes.Buffer
			code := runIndex(context.Background(), tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.stderrIs) {
				t.Fatalf("exit %d (want %d), stderr %q", code, tc.code, errb.String())
			}
			packages, err := os.ReadFile(filepath.Join(dir, "Packages"))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, line := range strings.Split(string(packages), "\n") {
				if n, ok := strings.CutPrefix(line, "Package: "); ok {
					names = append(names, n)
				}
			}
			if strings.Join(names, ",") != tc.listed {
				t.Errorf("Packages lists %v, want %s", names, tc.listed)
			}
			if js, _ := os.ReadFile(filepath.Join(dir, "index.json")); tc.json != "" && string(js) != tc.json {
				t.Errorf("index.json = %q, want %q", js, tc.json)
			}
			sigText, err := os.ReadFile(filepath.Join(dir, "Packages.sig"))
			if !tc.signed {
				if err == nil {
					t.Error("an unsigned index left a Packages.sig behind")
				}
				return
			}
			pubText, _ := os.ReadFile(filepath.Join(keys, "key-build.pub"))
			pub, _ := usign.ParsePublicKey(pubText)
			sig, err := usign.ParseSignature(sigText)
			if err != nil {
				t.Fatal(err)
			}
			if err := pub.Verify(packages, sig); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestIndexUsage(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--help"}, 0, "usage: openwrt-ppa index"},
		{nil, 2, "exactly one folder"},
		{[]string{"--index-json", "3", dir}, 2, "1 or 2"},
		{[]string{filepath.Join(dir, "missing")}, 2, "not a folder"},
		{[]string{"--sign", filepath.Join(dir, "nokey"), dir}, 1, "reading the signing key"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runIndex(context.Background(), tc.args, &out, &errb)
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q", code, errb.String())
			}
		})
	}
}
