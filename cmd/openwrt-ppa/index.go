package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/openwrt-ppa/openwrt-ppa/feeds"
	"github.com/openwrt-ppa/openwrt-ppa/feeds/usign"
)

// runIndex is a drop-in for the SDK's `make package/index`: it writes Packages.manifest,
// Packages, Packages.gz, index.json and (with --sign) Packages.sig for the .ipk files in a folder.
func runIndex(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fl := commandFlags("index", stderr,
		"usage: openwrt-ppa index [--sign KEYFILE] [--index-json 1|2] [--arch ARCH] DIR",
		"\nWrites the opkg index of the .ipk files in DIR (and its subfolders) byte for byte as the",
		"OpenWrt SDK's `make package/index` does. A package that cannot be read or whose control",
		"file is unsafe is refused and left out; the index of the others is still written, and the",
		"exit status is then 1. Without --sign an old Packages.sig is removed (it would not match).")
	sign := fl.String("sign", "", "usign secret key file (as made by keygen or usign -G) to sign Packages into Packages.sig")
	indexJSON := fl.Int("index-json", 1, "index.json version: 1 (23.05 SDK) or 2 (24.10 SDKs since mid-2025)")
	arch := fl.String("arch", "", "architecture written into index.json (default: the packages' own, \"all\" aside)")
	if code, ok := parseFlags(fl, args, 1, stderr, "give exactly one folder of .ipk files"); !ok {
		return code
	}
	if *indexJSON != 1 && *indexJSON != 2 {
		fmt.Fprintln(stderr, "openwrt-ppa index: --index-json must be 1 or 2")
		return 2
	}
	dir := fl.Arg(0)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		fmt.Fprintf(stderr, "openwrt-ppa index: %s is not a folder; give the folder that holds the .ipk files\n", dir)
		return 2
	}
	opt := feeds.DirOptions{Arch: *arch, IndexJSON: *indexJSON, Sync: true}
	var key *usign.SecretKey
	if *sign != "" {
		data, err := os.ReadFile(*sign)
		if err != nil {
			fmt.Fprintf(stderr, "openwrt-ppa index: reading the signing key: %v\n", err)
			return 1
		}
		if key, err = usign.ParseSecretKey(data); err != nil {
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
	for _, r := range res.Refused {
		fmt.Fprintf(stderr, "refused %s\n", r)
	}
	signed := "unsigned"
	if key != nil {
		signed = "signed by key " + key.Fingerprint.String()
	}
	fmt.Fprintf(stdout, "indexed %d packages for %s in %s (%s)\n", len(res.Index.Entries), res.Arch, dir, signed)
	if len(res.Refused) > 0 {
		fmt.Fprintf(stderr, "openwrt-ppa index: %d package(s) refused and left out of the index; fix or remove them\n", len(res.Refused))
		return 1
	}
	return 0
}
