package apktest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/adb"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apktest"
)

// TestMkpkg runs the command line OpenWrt's package-pack.mk gives apk mkpkg, over a folder with
// a program, a data file and a symlink, and reads the package back.
func TestMkpkg(t *testing.T) {
	dir := t.TempDir()
	idir := filepath.Join(dir, "ipkg-x86_64", "hello")
	os.MkdirAll(filepath.Join(idir, "usr", "bin"), 0o755)
	os.MkdirAll(filepath.Join(idir, "lib", "apk", "packages"), 0o755)
	os.WriteFile(filepath.Join(idir, "usr", "bin", "hello"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(filepath.Join(idir, "lib", "apk", "packages", "hello.list"), []byte("/usr/bin/hello\n"), 0o644)
	os.Symlink("hello", filepath.Join(idir, "usr", "bin", "hi"))
	post := filepath.Join(dir, "postinst")
	os.WriteFile(post, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	key, _ := apksign.Generate(nil)
	pem, _ := key.MarshalPEM()
	keyFile := filepath.Join(dir, "private-key.pem")
	os.WriteFile(keyFile, pem, 0o600)
	out := filepath.Join(dir, "hello1-1.0-r1.apk")
	err := apktest.Mkpkg(context.Background(), []string{
		"--info", "name:hello1", "--info", "version:1.0-r1", "--info", "description:Says hello",
		"--info", "arch:x86_64", "--info", "license:MIT", "--info", "origin:/feed/hello",
		"--info", "tags:openwrt:abiversion=1", "--info", "provider-priority:100",
		"--info", "depends:libc libubox>=2024.01 !hello-old", "--info", "provides:hello=1.0-r1",
		"--script", "post-install:" + post, "--files", idir, "--output", out, "--sign", keyFile,
	})
	if err != nil {
		t.Fatal(err)
	}
	p, err := feeds.ReadAPKFile(out, filepath.Base(out), 0)
	if err != nil {
		t.Fatal(err)
	}
	var deps []string
	for _, d := range p.Info.Depends {
		deps = append(deps, d.String())
	}
	if p.Info.Name != "hello1" || p.Info.ABIVersion() != "1" || p.Info.ProviderPriority != 100 || strings.Join(deps, " ") != "!hello-old libc libubox>=2024.01" ||
		len(p.Info.Provides) != 1 || p.Info.Provides[0].String() != "hello=1.0-r1" || p.Info.InstalledSize != 33 {
		t.Fatalf("read back %+v (depends %v)", p.Info, deps)
	}
	f, _ := adb.ReadFile(bytes.NewReader(mustRead(t, out)), adb.Limits{})
	if err := key.Public().Verify(f); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if f.DataBlocks != 2 {
		t.Errorf("%d data blocks, want 2 (the symlink has none)", f.DataBlocks)
	}
	for _, bad := range [][]string{
		{"--info", "name:x", "--info", "version:1-r0", "--info", "colour:red"},
		{"--info", "name:x", "--info", "version:1-r0", "--info", "depends:libc>="},
		{"--info", "name:x", "--info", "version:bad"},
		{"--info"},
	} {
		if err := apktest.Mkpkg(context.Background(), append(bad, "--output", filepath.Join(dir, "bad.apk"))); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.apk")); err == nil {
		t.Error("a refused package left its output file")
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

func TestParseAPKDep(t *testing.T) {
	cases := map[string]string{
		"libc": "libc", "libc=1.2": "libc=1.2", "libc>=1.2": "libc>=1.2", "libc<2": "libc<2",
		"reaction~2.5": "reaction~2.5", "!conflict": "!conflict", "!e<2": "!e<2", "so:libc.so.6": "so:libc.so.6",
	}
	for in, want := range cases {
		d, err := feeds.ParseAPKDep(in)
		if err != nil || d.String() != want {
			t.Errorf("%q: %v %v, want %s", in, d, err, want)
		}
	}
	for _, bad := range []string{"", "=1", "a=", "a b", "a>=x!"} {
		if _, err := feeds.ParseAPKDep(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
