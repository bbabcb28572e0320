package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
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

// TestIndexCommandAPK indexes a folder of .apk files made here: packages.adb signed with the PEM
// key from keygen, index.json v2, and the refusals (a misnamed file, a broken one, another
// architecture), which exit 1 after writing the index of the good ones.
func TestIndexCommandAPK(t *testing.T) {
	keys := t.TempDir()
	var out, errb bytes.Buffer
	if code := runKeygen(context.Background(), []string{"--out", keys}, &out, &errb); code != 0 {
		t.Fatal(errb.String())
	}
	dir := t.TempDir()
	write := func(name, pkg, version, arch string) {
		var b bytes.Buffer
		spec := feeds.APKSpec{Info: feeds.APKInfo{Name: pkg, Version: version, Arch: arch}, Files: []feeds.APKFile{{Path: "usr/share/" + pkg, Data: []byte(pkg)}}}
		if err := feeds.WriteAPK(context.Background(), &b, spec); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good-1.0-r0.apk", "good", "1.0-r0", "x86_64")
	write("data-2-r0.apk", "data", "2-r0", "noarch")
	pemKey := filepath.Join(keys, "private-key.pem")

	out.Reset()
	errb.Reset()
	if code := runIndex(context.Background(), []string{"--sign", pemKey, dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	key, _ := apksign.ParsePublicKey(mustReadFile(t, filepath.Join(keys, "public-key.pem")))
	f, entries, err := feeds.ReadAPKIndex(bytes.NewReader(mustReadFile(t, filepath.Join(dir, "packages.adb"))))
	if err != nil {
		t.Fatal(err)
	}
	if err := key.Verify(f); err != nil {
		t.Fatalf("packages.adb signature: %v", err)
	}
	if len(entries) != 2 || entries[0].Info.Name != "data" || entries[1].Info.Name != "good" {
		t.Fatalf("entries %+v", entries)
	}
	if !strings.Contains(out.String(), "indexed 2 packages for x86_64") || !strings.Contains(out.String(), key.ID.String()) {
		t.Errorf("stdout %q", out.String())
	}
	wantJSON := "{\n  \"version\": 2,\n  \"architecture\": \"x86_64\",\n  \"packages\": {\n    \"data\": \"2-r0\",\n    \"good\": \"1.0-r0\"\n  }\n}\n"
	if js := mustReadFile(t, filepath.Join(dir, "index.json")); string(js) != wantJSON {
		t.Errorf("index.json %q", js)
	}

	write("renamed_x86_64.apk", "renamed", "1-r0", "x86_64")
	write("other-1-r0.apk", "other", "1-r0", "aarch64_generic")
	os.WriteFile(filepath.Join(dir, "broken-1-r0.apk"), []byte("ADBd"), 0o644)
	errb.Reset()
	if code := runIndex(context.Background(), []string{"--sign", pemKey, "--arch", "x86_64", dir}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1: %s", code, errb.String())
	}
	for _, want := range []string{"refused renamed_x86_64.apk: a router asks for renamed-1-r0.apk", "refused other-1-r0.apk: built for aarch64_generic", "refused broken-1-r0.apk", "3 package(s) refused"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}

	// The wrong kind of key says which one is needed.
	errb.Reset()
	if code := runIndex(context.Background(), []string{"--sign", filepath.Join(keys, "key-build"), dir}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "PEM key") {
		t.Fatalf("usign key for an apk feed: exit %d, %s", code, errb.String())
	}
	mixed := t.TempDir()
	os.WriteFile(filepath.Join(mixed, "a_1_x86_64.ipk"), feedstest.IPK(feedstest.Control("a", "1", "x86_64"), nil), 0o644)
	os.WriteFile(filepath.Join(mixed, "b-1-r0.apk"), mustReadFile(t, filepath.Join(dir, "good-1.0-r0.apk")), 0o644)
	errb.Reset()
	if code := runIndex(context.Background(), []string{mixed}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "both .ipk and .apk") {
		t.Fatalf("mixed folder: exit %d, %s", code, errb.String())
	}
}
