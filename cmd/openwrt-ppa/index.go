package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/apksign"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

// runIndex is a drop-in for the SDK's `make package/index`: for a folder of .ipk files it writes
// Packages.manifest, Packages, Packages.gz, index.json and (with --sign) Packages.sig; for a
// folder of .apk files, packages.adb (signed with --sign) and index.json.
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := commandFlags("index", stderr,
		"usage: openwrt-ppa index [--sign KEYFILE] [--index-json 1|2] [--arch ARCH] DIR",
		"\nWrites the index of the packages in DIR byte for byte as the OpenWrt SDK's",
		"`make package/index` does: for .ipk files (and subfolders) the opkg index, for .apk files",
		"packages.adb (as apk mkndx writes it) and index.json version 2. A package that cannot be",
		"read or whose metadata is unsafe is refused and left out; the index of the others is still",
		"written, and the exit status is then 1. Without --sign an old Packages.sig is removed (it",
		"would not match) and packages.adb is written unsigned (routers refuse it).")
	sign := fl.String("sign", "", "secret key to sign with: usign (key-build, from keygen or usign -G) for .ipk, PEM (private-key.pem, from keygen or openssl ecparam -name prime256v1) for .apk")
	indexJSON := fl.Int("index-json", 1, "index.json version of an opkg feed: 1 (23.05 SDK) or 2 (24.10 SDKs since mid-2025); apk feeds always get 2")
	arch := fl.String("arch", "", "architecture of the feed, written into index.json (default: the packages' own, \"all\"/\"noarch\" aside)")
	if code, ok := parseFlags(fl, args, 1, stderr, "give exactly one folder of .ipk or .apk files"); !ok {
		return code
	}
	if *indexJSON != 1 && *indexJSON != 2 {
		fmt.Fprintln(stderr, "openwrt-ppa index: --index-json must be 1 or 2")
		return 2
	}
	dir := fl.Arg(0)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "openwrt-ppa index: %s is not a folder; give the folder that holds the .ipk or .apk files\n", dir)
		return 2
	}
	format, err := folderFormat(dir)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa index: %v\n", err)
		return 2
	}
	var keyData []byte
	if *sign != "" {
		if keyData, err = os.ReadFile(*sign); err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa index: reading the signing key: %v\n", err)
			return 1
		}
	}
	if format == feeds.FormatAPK {
		return indexAPK(ctx, dir, *arch, *sign, keyData, stdout, stderr)
	}
	opt := feeds.DirOptions{Arch: *arch, IndexJSON: *indexJSON, Sync: true}
	var key *usign.SecretKey
	if keyData != nil {
		if bytes.HasPrefix(bytes.TrimSpace(keyData), []byte("-----BEGIN")) {
			fmt.Fprintf(stderr, "openwrt-ppa index: %s is a PEM key, which signs apk feeds; an opkg feed needs a usign key (key-build)\n", *sign)
			return 1
		}
		if key, err = usign.ParseSecretKey(keyData); err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa index: %s: %v\n", *sign, err)
			return 1
		}
		opt.Signer = key
	}
	res, err := feeds.IndexDir(ctx, dir, opt)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa index: %v\n", err)
		return 1
	}
	signed := "unsigned"
	if key != nil {
		signed = "signed by key " + key.Fingerprint.String()
	}
	return reportIndex(stdout, stderr, res.Refused, len(res.Index.Entries), res.Arch, dir, signed)
}

func indexAPK(ctx context.Context, dir, arch, keyFile string, keyData []byte, stdout, stderr io.Writer) int {
	opt := feeds.APKDirOptions{Arch: arch, Sync: true}
	var key *apksign.SecretKey
	if keyData != nil {
		var err error
		if key, err = apksign.ParseSecretKey(keyData); err != nil {
			hint := ""
			if strings.HasPrefix(string(keyData), "untrusted comment:") {
				hint = " (a usign key signs opkg feeds; an apk feed needs a PEM key: private-key.pem from keygen)"
			}
			fmt.Fprintf(stderr, "openwrt-ppa index: %s: %v%s\n", keyFile, err, hint)
			return 1
		}
		opt.Signer = key
	}
	res, err := feeds.IndexAPKDir(ctx, dir, opt)
	if err != nil {
		fmt.Fprintf(stderr, "openwrt-ppa index: %v\n", err)
		return 1
	}
	signed := "unsigned: routers refuse it without --allow-untrusted"
	if key != nil {
		signed = "signed by key " + key.ID.String()
	}
	return reportIndex(stdout, stderr, res.Refused, len(res.Index.Entries), res.Arch, dir, signed)
}

func reportIndex(stdout, stderr io.Writer, refused []*feeds.PackageError, n int, arch, dir, signed string) int {
	for _, r := range refused {
		fmt.Fprintf(stderr, "refused %s\n", r)
	}
	fmt.Fprintf(stdout, "indexed %d packages for %s in %s (%s)\n", n, arch, dir, signed)
	if len(refused) > 0 {
		fmt.Fprintf(stderr, "openwrt-ppa index: %d package(s) refused and left out of the index; fix or remove them\n", len(refused))
		return 1
	}
	return 0
}

// folderFormat tells an opkg folder (.ipk files, in subfolders too) from an apk one (.apk files).
func folderFormat(dir string) (feeds.Format, error) {
	ipk, apk := 0, 0
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case strings.HasSuffix(d.Name(), ".ipk"):
			ipk++
		case strings.HasSuffix(d.Name(), ".apk"):
			apk++
		}
		return nil
	})
	switch {
	case err != nil:
		return 0, fmt.Errorf("listing %s: %w", dir, err)
	case ipk > 0 && apk > 0:
		return 0, fmt.Errorf("%s holds both .ipk and .apk files; a feed is one or the other (opkg up to 24.10, apk from 25.12): index them in separate folders", dir)
	case apk > 0:
		return feeds.FormatAPK, nil
	}
	if _, err := os.Stat(filepath.Join(dir, feeds.FileAPKIndex)); err == nil {
		return feeds.FormatAPK, nil
	}
	return feeds.FormatOPKG, nil
}
