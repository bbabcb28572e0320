// Package apktest makes real .apk v3 packages and generated apk feeds for tests, with feeds'
// own writer (feedstest cannot: package feeds' internal tests import it).
package apktest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/feedstest"
)

// mtime is the fixed time stamp of generated files (feedstest's), so that a package's bytes
// depend only on its contents.
const mtime = 1722691080 // 2024-08-03 13:18:00 UTC

// APK returns an .apk v3 package as OpenWrt's SDK makes one: the package's files, its
// lib/apk/packages/<name>.list, a post-install script, a dependency on libc.
func APK(name, version, arch string, payload []byte) ([]byte, error) {
	spec := feeds.APKSpec{
		Info: feeds.APKInfo{Name: name, Version: version, Arch: arch, Description: "generated package " + name,
			License: "MIT", Origin: "/feed/" + name, Depends: []feeds.APKDep{{Name: "libc"}}},
		Files: []feeds.APKFile{
			{Path: "usr/share/" + name + "/data", Data: payload},
			{Path: "lib/apk/packages/" + name + ".list", Data: []byte("/usr/share/" + name + "/data\n")},
		},
		Scripts: map[string]string{"post-install": "#!/bin/sh\n[ -n \"$IPKG_INSTROOT\" ] || true\n"},
		Mtime:   mtime,
	}
	var b bytes.Buffer
	if err := feeds.WriteAPK(context.Background(), &b, spec); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// WriteAPKFeed writes n generated .apk packages for arch into dir, named as a router asks for
// them, each with a payload of payload bytes, and returns their file names.
func WriteAPKFeed(dir string, n int, arch string, payload int) ([]string, error) {
	names := make([]string, 0, n)
	data := make([]byte, payload)
	for i := range data {
		data[i] = byte(i * 7)
	}
	for i := range n {
		name, version := feedstest.GeneratedName(i), fmt.Sprintf("1.0.%d-r1", i%7)
		apk, err := APK(name, version, arch, data)
		if err != nil {
			return nil, err
		}
		file := name + "-" + version + ".apk"
		if err := os.WriteFile(filepath.Join(dir, file), apk, 0o644); err != nil {
			return nil, fmt.Errorf("writing generated package: %w", err)
		}
		names = append(names, file)
	}
	return names, nil
}
